package ext

// struct xt_mark_mtinfo1 (linux/netfilter/xt_mark.h), 12 bytes:
//
//	__u32 mark, mask; __u8 invert;
//
// Revision 0 is the old struct xt_mark_info (unsigned long mark, mask;
// __u8 invert), 24 bytes on 64-bit kernels; Linux dropped it long ago but
// libxt_mark still carries it, so it is kept for payloads that use it.
// Both are built by markMatch in meta_util.go, shared with connmark.
func init() {
	Register(markMatch("mark", 1))
	Register(markMatch("mark", 0))
}
