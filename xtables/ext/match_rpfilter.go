package ext

import (
	"fmt"
	"strings"
)

// struct xt_rpfilter_info (linux/netfilter/xt_rpfilter.h), 1 byte:
//
//	__u8 flags;  // XT_RPFILTER_LOOSE 1, _VALID_MARK 2, _ACCEPT_LOCAL 4, _INVERT 8
//
// The kernel allows it only in the raw and mangle PREROUTING chains.
const rpfilterSize = 1

// rpfilterFlags are the options in the order rpfilter_save prints them.
var rpfilterFlags = []struct {
	name string
	flag uint8
}{{"loose", 0x01}, {"validmark", 0x02}, {"accept-local", 0x04}, {"invert", 0x08}}

func init() {
	opts := make([]Option, len(rpfilterFlags))
	for i, f := range rpfilterFlags {
		opts[i] = Option{Name: f.name}
	}
	Register(&Extension{
		Kind: Match, Name: "rpfilter", Revision: 0, Family: FamilyAny,
		Size:    rpfilterSize,
		Options: opts,
		// ipt_rpfilter.c, ip6t_rpfilter.c: .hooks PREROUTING, and the
		// checkentry allows only raw and mangle.
		Tables: []string{"raw", "mangle"},
		Hooks:  HookPreRouting,
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, Align(rpfilterSize))
			seen := newOptionSet(in)
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				for _, f := range rpfilterFlags {
					if f.name == o.Name {
						data[0] |= f.flag
					}
				}
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			if data[0]&^0x0f != 0 {
				return fmt.Errorf("rpfilter: unknown flags 0x%02x", data[0])
			}
			for _, f := range rpfilterFlags {
				if data[0]&f.flag != 0 {
					b.WriteString(" --" + f.name)
				}
			}
			return nil
		},
	})
}
