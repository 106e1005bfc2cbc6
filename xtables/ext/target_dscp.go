package ext

import (
	"fmt"
	"strings"
)

// DSCP (libxt_DSCP.c), revision 0, the same for both families.
// struct xt_DSCP_info (linux/netfilter/xt_DSCP.h), 1 byte:
//
//	__u8 dscp;  (0-63)
var dscpClasses = []struct {
	name string
	dscp uint8
}{
	{"CS0", 0x00}, {"CS1", 0x08}, {"CS2", 0x10}, {"CS3", 0x18},
	{"CS4", 0x20}, {"CS5", 0x28}, {"CS6", 0x30}, {"CS7", 0x38},
	{"BE", 0x00},
	{"AF11", 0x0a}, {"AF12", 0x0c}, {"AF13", 0x0e},
	{"AF21", 0x12}, {"AF22", 0x14}, {"AF23", 0x16},
	{"AF31", 0x1a}, {"AF32", 0x1c}, {"AF33", 0x1e},
	{"AF41", 0x22}, {"AF42", 0x24}, {"AF43", 0x26},
	{"EF", 0x2e},
}

const dscpMax = 0x3f // XT_DSCP_MAX

func init() {
	Register(&Extension{
		Kind: Target, Name: "DSCP", Revision: 0, Family: FamilyAny,
		Size: 1,
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
	opts := newT2Options(in)
	for _, o := range in.Options {
		if err := opts.take(o, "set-dscp", "set-dscp-class"); err != nil {
			return nil, err
		}
		if o.Name == "set-dscp" {
			v, err := t2IntOption(in, o, 0, dscpMax)
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
