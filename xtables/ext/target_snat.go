package ext

// SNAT (libxt_NAT.c). iptables 1.8.9 has IPv4 revision 0 only, with
// struct nf_nat_ipv4_multi_range_compat (linux/netfilter/nf_nat.h), 20 bytes:
//
//	__u32 rangesize; { __u32 flags; __be32 min_ip, max_ip; __be16 min, max; } range[1];
//
// and IPv6 revision 1 only, with struct nf_nat_range, 40 bytes:
//
//	__u32 flags; union nf_inet_addr min_addr, max_addr; __be16 min_proto, max_proto;
//
// SNAT_fcheck does not refuse "lo-hi/base" port maps although neither
// struct keeps the base; such rules save as "/0", as iptables prints them.
var snatOptions = []Option{
	{Name: "to-source", Args: 1},
	{Name: "random"},
	{Name: "random-fully"},
	{Name: "persistent"},
}

func init() {
	registerNAT(natTarget{name: "SNAT", rev: 0, fam: IPv4, layout: natLayoutMRC,
		options: snatOptions, rangeOpt: "to-source"})
	registerNAT(natTarget{name: "SNAT", rev: 1, fam: IPv6, layout: natLayoutRange1,
		options: snatOptions, rangeOpt: "to-source"})
}
