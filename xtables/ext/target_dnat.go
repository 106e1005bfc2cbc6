package ext

// DNAT (libxt_NAT.c). iptables 1.8.9 registers IPv4 revisions 0 and 2 and
// IPv6 revisions 1 and 2, and uses revision 2 on kernels that have it:
//
//   - IPv4 rev 0: struct nf_nat_ipv4_multi_range_compat (linux/netfilter/nf_nat.h),
//     20 bytes: __u32 rangesize; { __u32 flags; __be32 min_ip, max_ip; __be16 min, max; } range[1];
//   - IPv6 rev 1: struct nf_nat_range, 40 bytes:
//     __u32 flags; union nf_inet_addr min_addr, max_addr; __be16 min_proto, max_proto;
//   - rev 2 (both): struct nf_nat_range2, 44 bytes: nf_nat_range plus
//     __be16 base_proto (and 2 bytes of padding), the base of a shifted
//     port map "lo-hi/base". The older structs cannot hold it, so their
//     parsers refuse it.
var dnatOptions = []Option{
	{Name: "to-destination", Args: 1},
	{Name: "random"},
	{Name: "persistent"},
}

func init() {
	registerNAT(natTarget{name: "DNAT", rev: 0, fam: IPv4, layout: natLayoutMRC,
		options: dnatOptions, rangeOpt: "to-destination", noOffset: true})
	registerNAT(natTarget{name: "DNAT", rev: 2, fam: IPv4, layout: natLayoutRange2,
		options: dnatOptions, rangeOpt: "to-destination"})
	registerNAT(natTarget{name: "DNAT", rev: 1, fam: IPv6, layout: natLayoutRange1,
		options: dnatOptions, rangeOpt: "to-destination", noOffset: true})
	registerNAT(natTarget{name: "DNAT", rev: 2, fam: IPv6, layout: natLayoutRange2,
		options: dnatOptions, rangeOpt: "to-destination"})
}
