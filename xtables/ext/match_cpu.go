package ext

import (
	"fmt"
	"strings"
)

// struct xt_cpu_info (linux/netfilter/xt_cpu.h), 8 bytes:
//
//	__u32 cpu; __u32 invert;
func init() {
	Register(&Extension{
		Kind: Match, Name: "cpu", Revision: 0, Family: FamilyAny,
		Size:    8,
		Options: []Option{{Name: "cpu", Args: 1, Invertible: true}},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 8)
			seen := newOptionSet(in)
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				v, err := uintOption(in, o, 0, 0xffffffff)
				if err != nil {
					return nil, err
				}
				NE.PutUint32(data, uint32(v))
				if o.Invert {
					NE.PutUint32(data[4:], 1)
				}
			}
			if !seen.has("cpu") {
				return nil, in.Failf("cpu: option \"--cpu\" must be specified")
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			fmt.Fprintf(b, "%s --cpu %d", Invert(NE.Uint32(data[4:]) != 0), NE.Uint32(data))
			return nil
		},
	})
}
