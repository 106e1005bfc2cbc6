package ext

// struct ip6t_hl_info (linux/netfilter_ipv6/ip6t_hl.h), 2 bytes:
//
//	__u8 mode; __u8 hop_limit;
//
// IPv6 only; the IPv4 twin is the ttl match, and hopMatch
// in match_ttl_hl.go builds both.
func init() {
	Register(hopMatch("hl", IPv6))
}
