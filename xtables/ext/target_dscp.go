package ext

import (
	"fmt"
	"strings"
)

// DSCP (libxt_DSCP.c), revision 0, the same for both families.
// struct xt_DSCP_info (linux/netfilter/xt_DSCP.h), 1 byte:
//
//	__u8 dscp;  (0-63)
const dscpMax = 0x3f // XT_DSCP_MAX

func init() {
	Register(&Extension{
		Kind: Target, Name: "DSCP", Revision: 0, Family: FamilyAny,
		Tables: []string{"mangle"}, // xt_DSCP.c: .table
		Size:   1,
		Options: []Option{
			{Name: "set-dscp", Args: 1},
			{Name: "set-dscp-class", Args: 1},
		},
		Parse: parseDSCPTarget,
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			if data[0] > dscpMax {
				return fmt.Errorf("DSCP value %#x above %#x", data[0], dscpMax)
			}
			fmt.Fprintf(b, " --set-dscp 0x%02x", data[0])
			return nil
		},
	})
}

func parseDSCPTarget(in *ParseInput) ([]byte, error) {
	data := make([]byte, Align(1))
	opts := newOptionSet(in)
	for _, o := range in.Options {
		if err := opts.onceExcluding(o, "set-dscp", "set-dscp-class"); err != nil {
			return nil, err
		}
		if o.Name == "set-dscp" {
			v, err := uintOption(in, o, 0, dscpMax)
			if err != nil {
				return nil, err
			}
			data[0] = uint8(v)
			continue
		}
		v, ok := dscpClass(o.Arg())
		if !ok {
			return nil, in.Errorf(o, "invalid DSCP value %q", o.Arg())
		}
		data[0] = v
	}
	if len(in.Options) == 0 {
		return nil, in.Failf("DSCP target: parameter --set-dscp is required")
	}
	return data, nil
}

// dscpClass is class_to_dscp: the first class whose name, compared
// without case, starts the argument ("cs10" is CS1, as in iptables).
func dscpClass(s string) (uint8, bool) {
	for _, c := range dscpClasses {
		if len(s) >= len(c.name) && strings.EqualFold(s[:len(c.name)], c.name) {
			return c.dscp, true
		}
	}
	return 0, false
}
