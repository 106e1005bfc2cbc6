package ext

import "strings"

// TTL (libipt_TTL.c), IPv4 revision 0, mangle only.
// struct ipt_TTL_info (linux/netfilter_ipv4/ipt_TTL.h), 2 bytes:
//
//	__u8 mode; __u8 ttl;  (mode: IPT_TTL_SET 0, IPT_TTL_INC 1, IPT_TTL_DEC 2)
func init() {
	Register(&Extension{
		Kind: Target, Name: "TTL", Revision: 0, Family: IPv4,
		Tables: []string{"mangle"}, // xt_HL.c: .table
		Size:   2,
		Options: []Option{
			{Name: "ttl-set", Args: 1},
			{Name: "ttl-dec", Args: 1},
			{Name: "ttl-inc", Args: 1},
		},
		Parse: func(in *ParseInput) ([]byte, error) { return parseHopTarget(in, "ttl", "TTL") },
		Save:  func(b *strings.Builder, _ RuleInfo, data []byte) error { return saveHopTarget(b, "ttl", data) },
	})
}
