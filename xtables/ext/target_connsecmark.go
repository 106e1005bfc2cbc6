package ext

import (
	"fmt"
	"strings"
)

// struct xt_connsecmark_target_info (linux/netfilter/xt_CONNSECMARK.h),
// 1 byte: __u8 mode; /* save 1, restore 2 */
func init() {
	Register(&Extension{
		Kind: Target, Name: "CONNSECMARK", Revision: 0, Family: FamilyAny,
		Tables:  []string{"mangle", "security"}, // connsecmark_tg_check
		Size:    1,
		Options: []Option{{Name: "save"}, {Name: "restore"}},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 8)
			seen := newOptionSet(in)
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				if err := seen.exclusive("save", "restore"); err != nil {
					return nil, err
				}
				data[0] = 1
				if o.Name == "restore" {
					data[0] = 2
				}
			}
			if data[0] == 0 {
				return nil, in.Failf("CONNSECMARK target: parameter required")
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			switch data[0] {
			case 1:
				b.WriteString(" --save")
			case 2:
				b.WriteString(" --restore")
			default:
				return fmt.Errorf("CONNSECMARK target: invalid mode %d", data[0])
			}
			return nil
		},
	})
}
