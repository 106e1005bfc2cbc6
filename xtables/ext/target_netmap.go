package ext

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// NETMAP (libipt_NETMAP.c, libip6t_NETMAP.c), revision 0. IPv4 carries
// struct nf_nat_ipv4_multi_range_compat (linux/netfilter/nf_nat.h), 20 bytes:
//
//	__u32 rangesize; { __u32 flags; __be32 min_ip, max_ip; __be16 min, max; } range[1];
//
// IPv6 carries struct nf_nat_range, 40 bytes:
//
//	__u32 flags; union nf_inet_addr min_addr, max_addr; __be16 min_proto, max_proto;
//
// --to net/mask becomes the range [net&mask, net|~mask] with MAP_IPS set;
// save turns the range back into the prefix ~(min^max).
func init() {
	for _, fam := range []Family{IPv4, IPv6} {
		size := natMRCSize
		if fam == IPv6 {
			size = natRange1Size
		}
		Register(&Extension{
			Kind: Target, Name: "NETMAP", Revision: 0, Family: fam,
			Size: size,
			// xt_NETMAP.c: every hook of the nat table.
			Tables:  []string{"nat"},
			Hooks:   HookPreRouting | HookInput | HookOutput | HookPostRouting,
			Options: []Option{{Name: "to", Args: 1}},
			Parse:   func(in *ParseInput) ([]byte, error) { return parseNETMAPTarget(in, fam) },
			Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
				return saveNETMAPTarget(b, fam, data)
			},
		})
	}
}

func parseNETMAPTarget(in *ParseInput, fam Family) ([]byte, error) {
	opts := newOptionSet(in)
	r := &NATRange{Flags: natMapIPs}
	for _, o := range in.Options {
		if err := opts.once(o); err != nil {
			return nil, err
		}
		// A mask that is not a prefix ends up as the host mask, as
		// xtopt_parse_plenmask leaves it.
		addr, mask, err := parseHostMask(o.Arg(), fam, hostMaskNonContiguous)
		if err != nil {
			return nil, in.Errorf(o, "%v", err)
		}
		for i := 0; i < familyBits(fam)/8; i++ {
			r.MinAddr[i] = addr[i] & mask[i]
			r.MaxAddr[i] = r.MinAddr[i] | ^mask[i]
		}
	}
	if !opts.has("to") {
		return nil, in.Failf("option \"--to\" must be specified")
	}
	if fam == IPv6 {
		return r.encodeRange(false), nil
	}
	return r.encodeMRC(), nil
}

func saveNETMAPTarget(b *strings.Builder, fam Family, data []byte) error {
	var r *NATRange
	if fam == IPv6 {
		r = decodeRange(data, false)
	} else {
		var err error
		if r, err = decodeMRC(data); err != nil {
			return err
		}
	}
	// NETMAP prints only the address range; anything else would be lost.
	if r.Flags != natMapIPs || r.MinPort != 0 || r.MaxPort != 0 {
		return fmt.Errorf("NETMAP range with flags %#x and ports %d-%d cannot be printed", r.Flags, r.MinPort, r.MaxPort)
	}
	n := 4
	if fam == IPv6 {
		n = 16
	}
	m := make([]byte, n)
	for i := range m {
		m[i] = ^(r.MinAddr[i] ^ r.MaxAddr[i])
	}
	mask, _ := netip.AddrFromSlice(m)
	b.WriteString(" --to " + FormatAddr(nfInetAddr(r.MinAddr[:], fam)) + "/")
	if bits := MaskBits(mask); bits >= 0 {
		b.WriteString(strconv.Itoa(bits))
	} else {
		b.WriteString(FormatAddr(mask))
	}
	return nil
}
