package ext

import "strings"

// HL (libip6t_HL.c), IPv6 revision 0, mangle only.
// struct ip6t_HL_info (linux/netfilter_ipv6/ip6t_HL.h), 2 bytes:
//
//	__u8 mode; __u8 hop_limit;  (mode: IP6T_HL_SET 0, IP6T_HL_INC 1, IP6T_HL_DEC 2)
//
// It is TTL for IPv6; both use parseHopTarget and saveHopTarget
// (target_ttl_hl.go).
func init() {
	Register(&Extension{
		Kind: Target, Name: "HL", Revision: 0, Family: IPv6,
		Tables: []string{"mangle"}, // xt_HL.c: .table
		Size:   2,
		Options: []Option{
			{Name: "hl-set", Args: 1},
			{Name: "hl-dec", Args: 1},
			{Name: "hl-inc", Args: 1},
		},
		Parse: func(in *ParseInput) ([]byte, error) { return parseHopTarget(in, "hl", "HL") },
		Save:  func(b *strings.Builder, _ RuleInfo, data []byte) error { return saveHopTarget(b, "hl", data) },
	})
}
