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
//
// ICMP is its value, and that of ip6t_icmp (match_icmp6.go), which has
// the same layout.
type ICMP struct {
	Type             uint8
	CodeMin, CodeMax uint8 // inclusive
	InvFlags         uint8 // IPT_ICMP_INV, IP6T_ICMP_INV
}

// Marshal is the payload (XT_ALIGN(4) bytes).
func (c *ICMP) Marshal() []byte {
	data := make([]byte, Align(4))
	data[0], data[1], data[2], data[3] = c.Type, c.CodeMin, c.CodeMax, c.InvFlags
	return data
}

// UnmarshalICMP reads an ipt_icmp or ip6t_icmp payload.
func UnmarshalICMP(data []byte) (*ICMP, error) {
	if len(data) < 4 {
		return nil, fmt.Errorf("icmp: payload of %d bytes, want 4", len(data))
	}
	return &ICMP{Type: data[0], CodeMin: data[1], CodeMax: data[2], InvFlags: data[3]}, nil
}

// Invert reports "! --icmp-type".
func (c *ICMP) Invert() bool { return c.InvFlags&icmpInv != 0 }

// AnyType reports iptables' "--icmp-type any" (IPv4 only).
func (c *ICMP) AnyType() bool { return c.Type == icmpAnyType }

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
			return saveICMPMatch(b, "icmp-type", data, true)
		},
	})
}

// parseICMPMatch serves icmp and icmp6: one mandatory type option.
func parseICMPMatch(in *ParseInput, names []icmpName, what, option string) ([]byte, error) {
	if len(in.Options) == 0 {
		return nil, in.Failf("option --%s must be specified", option)
	}
	if len(in.Options) > 1 {
		return nil, errOnce(in, in.Options[1])
	}
	o := in.Options[0]
	typ, lo, hi, err := parseICMPType(names, what, o.Arg())
	if err != nil {
		return nil, in.Errorf(o, "%v", err)
	}
	c := ICMP{Type: typ, CodeMin: lo, CodeMax: hi}
	if o.Invert {
		c.InvFlags = icmpInv
	}
	return c.Marshal(), nil
}

// saveICMPMatch prints as icmp_save / icmp6_save: always numeric, and
// only the lowest code of a range (names only ever give one code or all
// of them). hasAny is icmp's special case of type 0xff.
func saveICMPMatch(b *strings.Builder, option string, data []byte, hasAny bool) error {
	c, err := UnmarshalICMP(data)
	if err != nil {
		return err
	}
	if c.Invert() {
		b.WriteString(" !")
	}
	if hasAny && c.AnyType() {
		fmt.Fprintf(b, " --%s any", option)
		return nil
	}
	fmt.Fprintf(b, " --%s %d", option, c.Type)
	if c.CodeMin != 0 || c.CodeMax != 0xff {
		fmt.Fprintf(b, "/%d", c.CodeMin)
	}
	return nil
}
