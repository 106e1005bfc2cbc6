package ext

// MASQUERADE (libxt_NAT.c). IPv4 revision 0 carries struct
// nf_nat_ipv4_multi_range_compat (linux/netfilter/nf_nat.h), 20 bytes:
//
//	__u32 rangesize; { __u32 flags; __be32 min_ip, max_ip; __be16 min, max; } range[1];
//
// IPv6 revision 0 carries struct nf_nat_range, 40 bytes:
//
//	__u32 flags; union nf_inet_addr min_addr, max_addr; __be16 min_proto, max_proto;
//
// Only --to-ports fills the range; iptables accepts "lo-hi/base" there
// but neither struct keeps the base, so it saves as "/0" (faithfully).
var masqueradeOptions = []Option{
	{Name: "to-ports", Args: 1},
	{Name: "random"},
	{Name: "random-fully"},
}

func init() {
	registerNAT(natTarget{name: "MASQUERADE", rev: 0, fam: IPv4, layout: natLayoutMRC,
		options: masqueradeOptions, rangeOpt: "to-ports", skipColon: true})
	registerNAT(natTarget{name: "MASQUERADE", rev: 0, fam: IPv6, layout: natLayoutRange1,
		options: masqueradeOptions, rangeOpt: "to-ports", skipColon: true})
}
