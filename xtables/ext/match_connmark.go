package ext

// struct xt_connmark_mtinfo1 (linux/netfilter/xt_connmark.h), 12 bytes:
//
//	__u32 mark, mask; __u8 invert;
//
// Revision 0 is the old struct xt_connmark_info (unsigned long mark, mask;
// __u8 invert), 24 bytes on 64-bit kernels, gone from Linux but still in
// libxt_connmark. The options and layouts are those of the mark match, so
// both come from markMatch in match_mark.go.
func init() {
	Register(markMatch("connmark", 1))
	Register(markMatch("connmark", 0))
}
