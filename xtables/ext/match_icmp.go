package ext

import (
	"fmt"
	"strings"
)

// struct ipt_icmp (linux/netfilter_ipv4/ip_tables.h), 4 bytes:
//
//	__u8 type; __u8 code[2]; __u8 invflags;
//
// Type 0xff is iptables' "any" (every ICMP packet); the code range is
// inclusive, 0-255 when no code was given.
const (
	icmpInv     = 0x01 // IPT_ICMP_INV
	icmpAnyType = 0xff
)

// icmpNames is libxt_icmp.h's icmp_codes, in its order: prefix matching
// and ambiguity depend on it.
var icmpNames = []icmpName{
	{"any", 0xff, 0, 0xff},
	{"echo-reply", 0, 0, 0xff},
	{"pong", 0, 0, 0xff},
	{"destination-unreachable", 3, 0, 0xff},
	{"network-unreachable", 3, 0, 0},
	{"host-unreachable", 3, 1, 1},
	{"protocol-unreachable", 3, 2, 2},
	{"port-unreachable", 3, 3, 3},
	{"fragmentation-needed", 3, 4, 4},
	{"source-route-failed", 3, 5, 5},
	{"network-unknown", 3, 6, 6},
	{"host-unknown", 3, 7, 7},
	{"network-prohibited", 3, 9, 9},
	{"host-prohibited", 3, 10, 10},
	{"TOS-network-unreachable", 3, 11, 11},
	{"TOS-host-unreachable", 3, 12, 12},
	{"communication-prohibited", 3, 13, 13},
	{"host-precedence-violation", 3, 14, 14},
	{"precedence-cutoff", 3, 15, 15},
	{"source-quench", 4, 0, 0xff},
	{"redirect", 5, 0, 0xff},
	{"network-redirect", 5, 0, 0},
	{"host-redirect", 5, 1, 1},
	{"TOS-network-redirect", 5, 2, 2},
	{"TOS-host-redirect", 5, 3, 3},
	{"echo-request", 8, 0, 0xff},
	{"ping", 8, 0, 0xff},
	{"router-advertisement", 9, 0, 0xff},
	{"router-solicitation", 10, 0, 0xff},
	{"time-exceeded", 11, 0, 0xff},
	{"ttl-exceeded", 11, 0, 0xff},
	{"ttl-zero-during-transit", 11, 0, 0},
	{"ttl-zero-during-reassembly", 11, 1, 1},
	{"parameter-problem", 12, 0, 0xff},
	{"ip-header-bad", 12, 0, 0},
	{"required-option-missing", 12, 1, 1},
	{"timestamp-request", 13, 0, 0xff},
	{"timestamp-reply", 14, 0, 0xff},
	{"address-mask-request", 17, 0, 0xff},
	{"address-mask-reply", 18, 0, 0xff},
}

func init() {
	Register(&Extension{
		Kind: Match, Name: "icmp", Revision: 0, Family: IPv4,
		Size: 4, Proto: 1,
		Options: []Option{{Name: "icmp-type", Args: 1, Invertible: true}},
		Parse: func(in *ParseInput) ([]byte, error) {
			return parseICMPMatch(in, icmpNames, "ICMP", "icmp-type")
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			saveICMPMatch(b, "icmp-type", data, true)
			return nil
		},
	})
}

// parseICMPMatch serves icmp and icmp6: one mandatory type option.
func parseICMPMatch(in *ParseInput, names []icmpName, what, option string) ([]byte, error) {
	data := make([]byte, 8)
	if len(in.Options) == 0 {
		return nil, in.Failf("option --%s must be specified", option)
	}
	if len(in.Options) > 1 {
		return nil, in.Errorf(in.Options[1], "option --%s can only be used once", option)
	}
	o := in.Options[0]
	typ, lo, hi, err := basicParseICMP(names, what, o.Arg())
	if err != nil {
		return nil, in.Errorf(o, "%v", err)
	}
	data[0], data[1], data[2] = typ, lo, hi
	if o.Invert {
		data[3] = icmpInv
	}
	return data, nil
}

// saveICMPMatch prints as icmp_save / icmp6_save: always numeric, and
// only the lowest code of a range (names only ever give one code or all
// of them). hasAny is icmp's special case of type 0xff.
func saveICMPMatch(b *strings.Builder, option string, data []byte, hasAny bool) {
	if data[3]&icmpInv != 0 {
		b.WriteString(" !")
	}
	if hasAny && data[0] == icmpAnyType {
		fmt.Fprintf(b, " --%s any", option)
		return
	}
	fmt.Fprintf(b, " --%s %d", option, data[0])
	if data[1] != 0 || data[2] != 0xff {
		fmt.Fprintf(b, "/%d", data[1])
	}
}
