package ext

// struct ip6t_opts (linux/netfilter_ipv6/ip6t_opts.h), 40 bytes:
//
//	__u32 hdrlen; __u8 flags; __u8 invflags; __u16 opts[16]; __u8 optsnr;
//
// The Hop-by-Hop Options header match; it shares struct, parser and
// printer with dst (registerIP6Opts in match_ip6opts.go).
func init() { registerIP6Opts("hbh") }
