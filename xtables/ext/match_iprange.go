package ext

import (
	"fmt"
	"strings"
)

// struct xt_iprange_mtinfo (linux/netfilter/xt_iprange.h), revision 1,
// 68 bytes:
//
//	union nf_inet_addr src_min, src_max, dst_min, dst_max; __u8 flags;
//
// Each address is a 16-byte union; an IPv4 address fills its first 4
// bytes. Revision 0 (struct ipt_iprange_info) is gone from the kernel, so
// only revision 1 is registered, once per family as iptables does: the
// family decides how the addresses are read and printed.
const (
	iprangeSrc    = 0x01 // IPRANGE_SRC
	iprangeDst    = 0x02 // IPRANGE_DST
	iprangeSrcInv = 0x10 // IPRANGE_SRC_INV
	iprangeDstInv = 0x20 // IPRANGE_DST_INV
)

func init() {
	for _, fam := range []Family{IPv4, IPv6} {
		fam := fam
		Register(&Extension{
			Kind: Match, Name: "iprange", Revision: 1, Family: fam,
			Size: 68,
			Options: []Option{
				{Name: "src-range", Args: 1, Invertible: true},
				{Name: "dst-range", Args: 1, Invertible: true},
			},
			Parse: func(in *ParseInput) ([]byte, error) { return parseIPRange(in, fam) },
			Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
				return saveIPRange(b, fam, data)
			},
		})
	}
}

func parseIPRange(in *ParseInput, fam Family) ([]byte, error) {
	data := make([]byte, 72)
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		off, flag, inv := 0, uint8(iprangeSrc), uint8(iprangeSrcInv)
		if o.Name == "dst-range" {
			off, flag, inv = 32, iprangeDst, iprangeDstInv
		}
		// "a-b", or a single address standing for "a-a". A reversed
		// range only draws a warning from iptables; it never matches.
		from, to, isRange := strings.Cut(o.Arg(), "-")
		if !isRange {
			to = from
		}
		for i, s := range []string{from, to} {
			// iptables reads these with xtables_numeric_to_ipaddr,
			// which takes the header's short forms ("10.1" is
			// 10.1.0.0).
			a, err := parseHost(s, fam, formHeader)
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			copy(data[off+16*i:], a.AsSlice())
		}
		data[64] |= flag
		if o.Invert {
			data[64] |= inv
		}
	}
	if seen.empty() {
		return nil, in.Failf("iprange match: you must specify --src-range or --dst-range")
	}
	return data, nil
}

func saveIPRange(b *strings.Builder, fam Family, data []byte) error {
	flags := data[64]
	if flags&^(iprangeSrc|iprangeDst|iprangeSrcInv|iprangeDstInv) != 0 {
		return fmt.Errorf("iprange: unknown flags %#x", flags)
	}
	addr := func(off int) string {
		if fam == IPv6 {
			return FormatAddr(Addr16(data[off:]))
		}
		return Addr4(data[off:]).String()
	}
	save := func(option string, off int, flag, inv uint8) {
		if flags&flag == 0 {
			return
		}
		fmt.Fprintf(b, "%s --%s %s-%s", Invert(flags&inv != 0), option, addr(off), addr(off+16))
	}
	save("src-range", 0, iprangeSrc, iprangeSrcInv)
	save("dst-range", 32, iprangeDst, iprangeDstInv)
	return nil
}
