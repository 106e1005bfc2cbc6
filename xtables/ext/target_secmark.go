package ext

import (
	"fmt"
	"strings"
)

// struct xt_secmark_target_info (linux/netfilter/xt_SECMARK.h), revision
// 0, and xt_secmark_target_info_v1, revision 1, 264 bytes each:
//
//	v0: __u8 mode; __u32 secid; char secctx[256];
//	v1: __u8 mode; char secctx[256]; __u32 secid;
//
// The kernel fills secid from the context; it needs an LSM that knows
// security contexts (SELinux), or it refuses the rule.
func init() {
	for _, v := range []struct {
		rev    uint8
		ctxOff int
	}{{0, 8}, {1, 1}} {
		v := v
		Register(&Extension{
			Kind: Target, Name: "SECMARK", Revision: v.rev, Family: FamilyAny,
			Tables:  []string{"mangle", "security"}, // secmark_tg_check
			Size:    264,
			Options: []Option{{Name: "selctx", Args: 1}},
			Parse: func(in *ParseInput) ([]byte, error) {
				data := make([]byte, 264)
				seen := newOptionSet(in)
				for _, o := range in.Options {
					if err := seen.once(o); err != nil {
						return nil, err
					}
					if err := putTruncString(data[v.ctxOff:v.ctxOff+256], o.Arg()); err != nil {
						return nil, in.Errorf(o, "%v", err)
					}
					data[0] = 1 // SECMARK_MODE_SEL
				}
				if !seen.has("selctx") {
					return nil, in.Failf("SECMARK: option \"--selctx\" must be specified")
				}
				return data, nil
			},
			Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
				if data[0] != 1 {
					return fmt.Errorf("SECMARK target: invalid mode %d", data[0])
				}
				ctx, err := cStringField(data[v.ctxOff:v.ctxOff+256], "SECMARK context")
				if err != nil {
					return err
				}
				b.WriteString(" --selctx " + ctx)
				return nil
			},
		})
	}
}
