package ext

import (
	"fmt"
	"strings"
)

// struct xt_ipcomp (linux/netfilter/xt_ipcomp.h), 10 bytes, -p 108 only:
//
//	__u32 spis[2]; __u8 invflags; __u8 hdrres;
//
// Without --ipcompspi the range stays 0:0, which save prints as
// "--ipcompspi 0", as libxt_ipcomp does.
func init() {
	Register(&Extension{
		Kind: Match, Name: "ipcomp", Revision: 0, Family: FamilyAny,
		Size: 10, Proto: 108,
		Options: []Option{
			{Name: "ipcompspi", Args: 1, Invertible: true},
			{Name: "compres"},
		},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 16)
			seen := newOptionSet(in)
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				switch o.Name {
				case "ipcompspi":
					lo, hi, _, err := parseUintRange(o.Arg(), 0xffffffff)
					if err != nil {
						return nil, in.Errorf(o, "%v", err)
					}
					NE.PutUint32(data, uint32(lo))
					NE.PutUint32(data[4:], uint32(hi))
					if o.Invert {
						data[8] |= 1
					}
				case "compres":
					data[9] = 1
				}
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			lo, hi := NE.Uint32(data), NE.Uint32(data[4:])
			if !(lo == 0 && hi == 0xffffffff) {
				fmt.Fprintf(b, "%s --ipcompspi %d", Invert(data[8]&1 != 0), lo)
				if lo != hi {
					fmt.Fprintf(b, ":%d", hi)
				}
			}
			if data[9] != 0 {
				b.WriteString(" --compres")
			}
			return nil
		},
	})
}
