package ext

import (
	"fmt"
	"strings"
)

// The ttl (IPv4) and hl (IPv6) matches: struct ipt_ttl_info and
// ip6t_hl_info, __u8 mode; __u8 ttl/hop limit. match_ttl.go and
// match_hl.go register them from hopMatch.

// Modes of struct ipt_ttl_info and ip6t_hl_info.
const (
	hopEq = 0 // IPT_TTL_EQ, IP6T_HL_EQ
	hopNe = 1 // IPT_TTL_NE
	hopLt = 2 // IPT_TTL_LT
	hopGt = 3 // IPT_TTL_GT
)

// hopMatch builds ttl (IPv4) or hl (IPv6): --NAME-eq (invertible, with
// the alias --NAME), --NAME-lt and --NAME-gt, exactly one of them.
func hopMatch(name string, fam Family) *Extension {
	return &Extension{
		Kind: Match, Name: name, Revision: 0, Family: fam,
		Size: 2,
		Options: []Option{
			{Name: name + "-eq", Args: 1, Invertible: true},
			{Name: name, Args: 1},
			{Name: name + "-lt", Args: 1},
			{Name: name + "-gt", Args: 1},
		},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 8)
			seen := newOptionSet(in)
			for _, o := range in.Options {
				key := o.Name
				if key == name { // the alias of --NAME-eq
					key = name + "-eq"
				}
				if err := seen.onceAs(o, key); err != nil {
					return nil, err
				}
				if err := seen.exclusive(name+"-eq", name+"-lt", name+"-gt"); err != nil {
					return nil, err
				}
				v, err := uintOption(in, o, 0, 255)
				if err != nil {
					return nil, err
				}
				switch o.Name {
				case name + "-lt":
					data[0] = hopLt
				case name + "-gt":
					data[0] = hopGt
				default:
					data[0] = hopEq
					if o.Invert {
						data[0] = hopNe
					}
				}
				data[1] = uint8(v)
			}
			if seen.empty() {
				return nil, in.Failf("%s: one of --%s-eq, --%s-lt or --%s-gt is required", name, name, name, name)
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			op := map[uint8]string{hopEq: "-eq", hopNe: "-eq", hopLt: "-lt", hopGt: "-gt"}[data[0]]
			if op == "" {
				return fmt.Errorf("%s: unknown mode %d", name, data[0])
			}
			fmt.Fprintf(b, "%s --%s%s %d", Invert(data[0] == hopNe), name, op, data[1])
			return nil
		},
	}
}
