// Package xtables speaks the kernel's x_tables (iptables-legacy) ABI: the
// IPT_SO_* and IP6T_SO_* socket options, the blob of ipt_entry/ip6t_entry
// records they carry, the xtables lock, and the iptables-save text of a
// table. It turns a kernel blob into a Table and a Table back into the
// exact blob iptables-legacy would have written.
package xtables
