package ext

import (
	"fmt"
	"strings"
)

// TOS (libxt_TOS.c). Revision 1 (both families; 1.8.9 uses it) carries
// struct xt_tos_target_info (linux/netfilter/xt_DSCP.h), 2 bytes:
//
//	__u8 tos_value; __u8 tos_mask;  (new TOS = (old & ~mask) ^ value)
//
// IPv4 revision 0 carries struct ipt_tos_target_info, 1 byte: __u8 tos.
//
// --and-tos, --or-tos and --xor-tos are spellings of a value/mask pair,
// so save always prints --set-tos value/mask.
var tosActions = []string{"set-tos", "and-tos", "or-tos", "xor-tos"}

func init() {
	Register(&Extension{
		Kind: Target, Name: "TOS", Revision: 0, Family: IPv4,
		Tables:  []string{"mangle"}, // xt_DSCP.c: .table
		Size:    1,
		Options: []Option{{Name: "set-tos", Args: 1}},
		Parse:   parseTOSTarget,
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			fmt.Fprintf(b, " --set-tos 0x%02x", data[0])
			return nil
		},
	})
	Register(&Extension{
		Kind: Target, Name: "TOS", Revision: 1, Family: FamilyAny,
		Tables: []string{"mangle"}, // xt_DSCP.c: .table
		Size:   2,
		Options: []Option{
			{Name: "set-tos", Args: 1},
			{Name: "and-tos", Args: 1},
			{Name: "or-tos", Args: 1},
			{Name: "xor-tos", Args: 1},
		},
		Parse: parseTOSTarget,
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			fmt.Fprintf(b, " --set-tos 0x%02x/0x%02x", data[0], data[1])
			return nil
		},
	})
}

func parseTOSTarget(in *ParseInput) ([]byte, error) {
	data := make([]byte, 8)
	opts := newOptionSet(in)
	// A symbolic name keeps the precedence bits out of the mask in
	// revision 1 (0x3f); revision 0 has no mask, so it is 0xff there.
	symbolMask := uint8(0x3f)
	if in.Revision == 0 {
		symbolMask = 0xff
	}
	for _, o := range in.Options {
		if err := opts.onceExcluding(o, tosActions...); err != nil {
			return nil, err
		}
		var value, mask uint8
		switch o.Name {
		case "set-tos":
			var err error
			if value, mask, err = tosValueMask(o.Arg(), symbolMask); err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			if in.Revision == 0 && mask != 0xff {
				return nil, in.Errorf(o, "TOS revision 0 supports only /0xFF as a mask")
			}
		default:
			v, err := uintOption(in, o, 0, 255)
			if err != nil {
				return nil, err
			}
			switch o.Name {
			case "and-tos":
				value, mask = 0, ^uint8(v)
			case "or-tos":
				value, mask = uint8(v), uint8(v)
			case "xor-tos":
				value, mask = uint8(v), 0
			}
		}
		data[0] = value
		if in.Revision != 0 {
			data[1] = mask
		}
	}
	if len(in.Options) == 0 {
		return nil, in.Failf("TOS: an action is required")
	}
	return data, nil
}
