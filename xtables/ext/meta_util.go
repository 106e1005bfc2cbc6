package ext

// Helpers shared by the "meta" group of matches (mark, connmark, owner,
// set, physdev, statistic, tos, dscp, ttl, hl).

import (
	"fmt"
	"strings"
)

// markMaskOption reads an XTTYPE_MARKMASK32 option, "value[/mask]", for
// every mark option (mark, connmark, MARK, CONNMARK, TPROXY).
func markMaskOption(in *ParseInput, o OptionValue) (mark, mask uint32, err error) {
	mark, mask, err = ParseMarkMask(o.Arg())
	if err != nil {
		return 0, 0, in.Errorf(o, "bad value/mask %q (want value[/mask], 32 bits each)", o.Arg())
	}
	return mark, mask, nil
}

// metaSaveMarkMask prints a mark as xtables_print_mark_mask does: the mask
// is left out when it is all ones.
func metaSaveMarkMask(b *strings.Builder, mark, mask uint32) {
	if mask == 0xffffffff {
		fmt.Fprintf(b, " 0x%x", mark)
		return
	}
	fmt.Fprintf(b, " 0x%x/0x%x", mark, mask)
}

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
			var first *OptionValue
			for i, o := range in.Options {
				if first != nil {
					if strings.TrimSuffix(first.Name, "-eq") == strings.TrimSuffix(o.Name, "-eq") {
						return nil, in.Errorf(o, "option \"--%s\" can only be used once", o.Name)
					}
					return nil, in.Errorf(o, "option \"--%s\" cannot be used together with \"--%s\"", o.Name, first.Name)
				}
				first = &in.Options[i]
				v, err := ParseUint(o.Arg(), 0, 255)
				if err != nil {
					return nil, in.Errorf(o, "%v", err)
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
			if first == nil {
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
