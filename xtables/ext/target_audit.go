package ext

import (
	"fmt"
	"strings"
)

// struct xt_audit_info (linux/netfilter/xt_AUDIT.h), 1 byte:
//
//	__u8 type; /* accept 0, drop 1, reject 2 */
var auditTypes = []string{"accept", "drop", "reject"}

func init() {
	Register(&Extension{
		Kind: Target, Name: "AUDIT", Revision: 0, Family: FamilyAny,
		Size:    1,
		Options: []Option{{Name: "type", Args: 1}},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 8)
			seen := newOptionSet(in)
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				found := false
				for i, t := range auditTypes {
					if strings.EqualFold(t, o.Arg()) {
						data[0], found = uint8(i), true
					}
				}
				if !found {
					return nil, in.Errorf(o, "Bad action type value %q", o.Arg())
				}
			}
			if !seen.has("type") {
				return nil, in.Failf("AUDIT: option \"--type\" must be specified")
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			if int(data[0]) >= len(auditTypes) {
				return fmt.Errorf("AUDIT: unknown type %d", data[0])
			}
			b.WriteString(" --type " + auditTypes[data[0]])
			return nil
		},
	})
}
