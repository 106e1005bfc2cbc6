package ext

import (
	"fmt"
	"strings"
)

// struct idletimer_tg_info (linux/netfilter/xt_IDLETIMER.h), revision 0,
// 40 bytes, and idletimer_tg_info_v1, revision 1, 48 bytes:
//
//	__u32 timeout; char label[28];
//	v1: __u8 send_nl_msg; __u8 timer_type; /* XT_IDLETIMER_ALARM 1 */
//	struct idletimer_tg *timer (aligned 8, the kernel's);
func init() {
	for _, v := range []struct {
		rev  uint8
		size int
	}{{0, 40}, {1, 48}} {
		v := v
		opts := []Option{{Name: "timeout", Args: 1}, {Name: "label", Args: 1}}
		if v.rev == 1 {
			opts = append(opts, Option{Name: "alarm"})
		}
		Register(&Extension{
			Kind: Target, Name: "IDLETIMER", Revision: v.rev, Family: FamilyAny,
			Size: v.size, Options: opts,
			Parse: func(in *ParseInput) ([]byte, error) {
				data := make([]byte, v.size)
				seen := newOptionSet(in)
				for _, o := range in.Options {
					if err := seen.once(o); err != nil {
						return nil, err
					}
					switch o.Name {
					case "timeout":
						t, err := uintOption(in, o, 0, 0xffffffff)
						if err != nil {
							return nil, err
						}
						NE.PutUint32(data, uint32(t))
					case "label":
						if err := putTruncString(data[4:32], o.Arg()); err != nil {
							return nil, in.Errorf(o, "%v", err)
						}
					case "alarm":
						data[33] = 1
					}
				}
				for _, n := range []string{"timeout", "label"} {
					if !seen.has(n) {
						return nil, in.Failf("IDLETIMER: option \"--%s\" must be specified", n)
					}
				}
				return data, nil
			},
			Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
				label, err := cStringField(data[4:32], "IDLETIMER label")
				if err != nil {
					return err
				}
				fmt.Fprintf(b, " --timeout %d --label %s", NE.Uint32(data), label)
				if v.rev == 1 && data[33] == 1 {
					b.WriteString(" --alarm")
				}
				return nil
			},
		})
	}
}
