package ext

import (
	"fmt"
	"strings"
)

// struct xt_length_info (linux/netfilter/xt_length.h), 6 bytes:
//
//	__u16 min, max; __u8 invert;
func init() {
	Register(&Extension{
		Kind: Match, Name: "length", Revision: 0, Family: FamilyAny,
		Size:    6,
		Options: []Option{{Name: "length", Args: 1, Invertible: true}},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 8)
			if len(in.Options) == 0 {
				return nil, in.Failf("option --length must be specified")
			}
			if len(in.Options) > 1 {
				return nil, errOnce(in, in.Options[1])
			}
			o := in.Options[0]
			// "n", "min:max", ":max" or "min:"; iptables does not
			// check min <= max (such a rule never matches).
			lo, hi, n, err := parseUint16RC(o.Arg())
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			if n == 1 {
				hi = lo
			}
			NE.PutUint16(data[0:], lo)
			NE.PutUint16(data[2:], hi)
			if o.Invert {
				data[4] = 1
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			lo, hi := NE.Uint16(data[0:]), NE.Uint16(data[2:])
			fmt.Fprintf(b, "%s --length %d", Invert(data[4] != 0), lo)
			if lo != hi {
				fmt.Fprintf(b, ":%d", hi)
			}
			return nil
		},
	})
}
