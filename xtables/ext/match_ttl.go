package ext

// struct ipt_ttl_info (linux/netfilter_ipv4/ipt_ttl.h), 2 bytes:
//
//	__u8 mode; __u8 ttl;
//
// IPv4 only; IPv6 has the same layout as the "hl" match (match_hl.go).
// Both are built by hopMatch in match_ttl_hl.go.

func init() {
	Register(hopMatch("ttl", IPv4))
}
