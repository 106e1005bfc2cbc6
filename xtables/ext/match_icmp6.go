package ext

import "strings"

// struct ip6t_icmp (linux/netfilter_ipv6/ip6_tables.h), 4 bytes:
//
//	__u8 type; __u8 code[2]; __u8 invflags;
//
// Same layout and flag (IP6T_ICMP_INV) as ipt_icmp, but no "any" type:
// ip6tables matches every ICMPv6 packet with -p ipv6-icmp alone. Its
// value is ICMP (match_icmp.go).

// icmp6Names is libxt_icmp.h's icmpv6_codes, in its order.
var icmp6Names = []icmpName{
	{"destination-unreachable", 1, 0, 0xff},
	{"no-route", 1, 0, 0},
	{"communication-prohibited", 1, 1, 1},
	{"beyond-scope", 1, 2, 2},
	{"address-unreachable", 1, 3, 3},
	{"port-unreachable", 1, 4, 4},
	{"failed-policy", 1, 5, 5},
	{"reject-route", 1, 6, 6},
	{"packet-too-big", 2, 0, 0xff},
	{"time-exceeded", 3, 0, 0xff},
	{"ttl-exceeded", 3, 0, 0xff},
	{"ttl-zero-during-transit", 3, 0, 0},
	{"ttl-zero-during-reassembly", 3, 1, 1},
	{"parameter-problem", 4, 0, 0xff},
	{"bad-header", 4, 0, 0},
	{"unknown-header-type", 4, 1, 1},
	{"unknown-option", 4, 2, 2},
	{"echo-request", 128, 0, 0xff},
	{"ping", 128, 0, 0xff},
	{"echo-reply", 129, 0, 0xff},
	{"pong", 129, 0, 0xff},
	{"router-solicitation", 133, 0, 0xff},
	{"router-advertisement", 134, 0, 0xff},
	{"neighbour-solicitation", 135, 0, 0xff},
	{"neighbor-solicitation", 135, 0, 0xff},
	{"neighbour-advertisement", 136, 0, 0xff},
	{"neighbor-advertisement", 136, 0, 0xff},
	{"redirect", 137, 0, 0xff},
}

func init() {
	Register(&Extension{
		Kind: Match, Name: "icmp6", Revision: 0, Family: IPv6,
		Size: 4, Proto: 58,
		Options: []Option{{Name: "icmpv6-type", Args: 1, Invertible: true}},
		Parse: func(in *ParseInput) ([]byte, error) {
			return parseICMPMatch(in, icmp6Names, "ICMPv6", "icmpv6-type")
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			return saveICMPMatch(b, "icmpv6-type", data, false)
		},
	})
}
