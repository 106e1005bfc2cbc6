package ext

import (
	"fmt"
	"strings"
)

// struct xt_tos_match_info (linux/netfilter/xt_dscp.h), 3 bytes:
//
//	__u8 tos_mask; __u8 tos_value; __u8 invert;
//
// (mask first). Revision 0 is the IPv4-only struct ipt_tos_info (__u8
// tos; __u8 invert), which Linux has dropped; libxt_tos keeps it.

func init() {
	opts := []Option{{Name: "tos", Args: 1, Invertible: true}}
	Register(&Extension{
		Kind: Match, Name: "tos", Revision: 1, Family: FamilyAny,
		Size: 3, Options: opts,
		Parse: func(in *ParseInput) ([]byte, error) {
			value, mask, inv, err := tosMatchOption(in, 0x3f)
			if err != nil {
				return nil, err
			}
			return []byte{mask, value, inv, 0, 0, 0, 0, 0}, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			fmt.Fprintf(b, "%s --tos 0x%02x/0x%02x", Invert(data[2] != 0), data[1], data[0])
			return nil
		},
	})
	Register(&Extension{
		Kind: Match, Name: "tos", Revision: 0, Family: IPv4,
		Size: 2, Options: opts,
		Parse: func(in *ParseInput) ([]byte, error) {
			value, mask, inv, err := tosMatchOption(in, 0xff)
			if err != nil {
				return nil, err
			}
			if mask != 0xff {
				return nil, in.Failf("tos revision 0 supports no mask but /0xff")
			}
			return []byte{value, inv, 0, 0, 0, 0, 0, 0}, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			fmt.Fprintf(b, "%s --tos 0x%02x", Invert(data[1] != 0), data[0])
			return nil
		},
	})
}

// tosMatchOption reads the one mandatory --tos option: "value[/mask]"
// (numbers up to 255, mask 0xff by default) or a symbolic name, which
// takes symMask.
func tosMatchOption(in *ParseInput, symMask uint8) (value, mask, inv uint8, err error) {
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.onceAs(o, "tos"); err != nil {
			return 0, 0, 0, err
		}
		if value, mask, err = tosValueMask(o.Arg(), symMask); err != nil {
			return 0, 0, 0, in.Errorf(o, "%v", err)
		}
		if o.Invert {
			inv = 1
		}
	}
	if seen.empty() {
		return 0, 0, 0, in.Failf("tos: option \"--tos\" must be specified")
	}
	return value, mask, inv, nil
}
