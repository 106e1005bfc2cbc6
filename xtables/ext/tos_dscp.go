package ext

// What the tos and dscp matches share with the TOS and DSCP targets, as
// iptables' tos_values.c and dscp_helper.c are shared: the names of TOS
// values and DiffServ classes, and the "value[/mask]" parser.

import (
	"fmt"
	"strings"
)

// tosSymbols are the TOS value names (IPTOS_*) iptables accepts.
var tosSymbols = []struct {
	name  string
	value uint8
}{
	{"Minimize-Delay", 0x10},       // IPTOS_LOWDELAY
	{"Maximize-Throughput", 0x08},  // IPTOS_THROUGHPUT
	{"Maximize-Reliability", 0x04}, // IPTOS_RELIABILITY
	{"Minimize-Cost", 0x02},        // IPTOS_MINCOST
	{"Normal-Service", 0x00},       // IPTOS_NORMALSVC
}

// tosValueMask parses XTTYPE_TOSMASK: "value[/mask]" in numbers (the mask
// then defaults to 0xff) or one of the symbolic names (case ignored),
// which get symbolMask.
func tosValueMask(s string, symbolMask uint8) (value, mask uint8, err error) {
	if v, rest, ok := Strtoul(s); ok && v <= 255 {
		value, mask = uint8(v), 0xff
		if rest != "" && rest[0] == '/' {
			m, mrest, ok := Strtoul(rest[1:])
			if !ok || m > 255 {
				return 0, 0, fmt.Errorf("illegal value %q", s)
			}
			mask, rest = uint8(m), mrest
		}
		if rest != "" {
			return 0, 0, fmt.Errorf("illegal value %q", s)
		}
		return value, mask, nil
	}
	for _, sym := range tosSymbols {
		if strings.EqualFold(s, sym.name) {
			return sym.value, symbolMask, nil
		}
	}
	return 0, 0, fmt.Errorf("symbolic name %q is unknown", s)
}

// dscpClasses are the DiffServ class names --dscp-class and
// --set-dscp-class know, in the order dscp_helper.c tries them.
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
