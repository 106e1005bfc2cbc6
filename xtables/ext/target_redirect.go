package ext

// REDIRECT (libxt_NAT.c). IPv4 revision 0 carries struct
// nf_nat_ipv4_multi_range_compat (linux/netfilter/nf_nat.h), 20 bytes:
//
//	__u32 rangesize; { __u32 flags; __be32 min_ip, max_ip; __be16 min, max; } range[1];
//
// IPv6 revision 0 carries struct nf_nat_range, 40 bytes:
//
//	__u32 flags; union nf_inet_addr min_addr, max_addr; __be16 min_proto, max_proto;
//
// Neither keeps a base port, so a shifted port map is refused
// (DNAT_fcheck / DNAT_fcheck6).
var redirectOptions = []Option{
	{Name: "to-ports", Args: 1},
	{Name: "random"},
}

func init() {
	registerNAT(natTarget{name: "REDIRECT", rev: 0, fam: IPv4, layout: natLayoutMRC,
		options: redirectOptions, rangeOpt: "to-ports", skipColon: true, noOffset: true})
	registerNAT(natTarget{name: "REDIRECT", rev: 0, fam: IPv6, layout: natLayoutRange1,
		options: redirectOptions, rangeOpt: "to-ports", skipColon: true, noOffset: true})
}
