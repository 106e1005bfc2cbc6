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
		addr, mask, err := netmapHostMask(o.Arg(), fam)
		if err != nil {
			return nil, in.Errorf(o, "%v", err)
		}
		lo, m := addr.AsSlice(), mask.AsSlice()
		hi := make([]byte, len(lo))
		for i := range lo {
			lo[i] &= m[i]
			hi[i] = lo[i] | ^m[i]
		}
		copy(r.MinAddr[:], lo)
		copy(r.MaxAddr[:], hi)
	}
	if !opts.has("to") {
		return nil, in.Failf("option \"--to\" must be specified")
	}
	if fam == IPv6 {
		return r.encodeRange(false), nil
	}
	return r.encodeMRC(), nil
}

// netmapHostMask parses XTTYPE_HOSTMASK: "addr", "addr/len" or
// "addr/mask". Like xtopt_parse_plenmask, a mask that is not a prefix
// (its CIDR length is -1, stored as 255) ends up as the host mask.
func netmapHostMask(s string, fam Family) (addr, mask netip.Addr, err error) {
	bits := 32
	if fam == IPv6 {
		bits = 128
	}
	host, m, hasMask := strings.Cut(s, "/")
	if addr, err = t2ParseHost(host, fam); err != nil {
		return addr, mask, err
	}
	prefix := bits
	if hasMask {
		if n, err := ParseUint(m, 0, uint64(bits)); err == nil {
			prefix = int(n)
		} else if mk, merr := t2ParseHost(m, fam); merr == nil {
			if n := MaskBits(mk); n >= 0 {
				prefix = n
			}
		} else {
			return addr, mask, fmt.Errorf("bad mask %q, neither a valid network mask nor valid CIDR (0-%d)", m, bits)
		}
	}
	return addr, PrefixMask(prefix, bits), nil
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
