package ext

import (
	"fmt"
	"strings"
)

// struct xt_dscp_info (linux/netfilter/xt_dscp.h), 2 bytes:
//
//	__u8 dscp; __u8 invert;
//
// libxt_dscp registers one copy per family (the xlate differs); the
// payload is the same, so it is registered for IPv4 and IPv6 alike.

func init() {
	for _, fam := range []Family{IPv4, IPv6} {
		Register(&Extension{
			Kind: Match, Name: "dscp", Revision: 0, Family: fam,
			Size: 2,
			Options: []Option{
				{Name: "dscp", Args: 1, Invertible: true},
				{Name: "dscp-class", Args: 1, Invertible: true},
			},
			Parse: parseDSCPMatch,
			Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
				fmt.Fprintf(b, "%s --dscp 0x%02x", Invert(data[1] != 0), data[0])
				return nil
			},
		})
	}
}

// dscpMatchClass looks a class up as class_to_dscp does: case-insensitively,
// and by prefix, so "cs1x" is CS1 (iptables accepts that, so must we).
func dscpMatchClass(s string) (uint8, bool) {
	for _, c := range dscpClasses {
		if len(s) >= len(c.name) && strings.EqualFold(s[:len(c.name)], c.name) {
			return c.dscp, true
		}
	}
	return 0, false
}

func parseDSCPMatch(in *ParseInput) ([]byte, error) {
	data := make([]byte, 8)
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		if o.Name == "dscp" {
			v, err := uintOption(in, o, 0, dscpMax)
			if err != nil {
				return nil, err
			}
			data[0] = uint8(v)
		} else {
			v, ok := dscpMatchClass(o.Arg())
			if !ok {
				return nil, in.Errorf(o, "invalid DSCP class %q (BE, EF, AFxy or CSx)", o.Arg())
			}
			data[0] = v
		}
		if o.Invert {
			data[1] = 1
		}
	}
	if err := seen.exclusive("dscp", "dscp-class"); err != nil {
		return nil, err
	}
	if seen.empty() {
		return nil, in.Failf("dscp: --dscp or --dscp-class is required")
	}
	return data, nil
}
