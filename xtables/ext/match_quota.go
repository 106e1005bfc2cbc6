package ext

import (
	"fmt"
	"strings"
)

// struct xt_quota_info (linux/netfilter/xt_quota.h), 24 bytes:
//
//	__u32 flags; __u32 pad; __aligned_u64 quota; struct xt_quota_priv *master;
//
// master is the kernel's; it reads back as zero.
func init() {
	Register(&Extension{
		Kind: Match, Name: "quota", Revision: 0, Family: FamilyAny,
		Size:    24,
		Options: []Option{{Name: "quota", Args: 1, Invertible: true}},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 24)
			seen := newOptionSet(in)
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				v, err := uintOption(in, o, 0, 1<<64-1)
				if err != nil {
					return nil, err
				}
				NE.PutUint64(data[8:], v)
				if o.Invert {
					NE.PutUint32(data, 1) // XT_QUOTA_INVERT
				}
			}
			if !seen.has("quota") {
				return nil, in.Failf("quota: option \"--quota\" must be specified")
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			fmt.Fprintf(b, "%s --quota %d", Invert(NE.Uint32(data)&1 != 0), NE.Uint64(data[8:]))
			return nil
		},
	})
}
