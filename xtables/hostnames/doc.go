// Package hostnames is the host side of xtables/ext's Names: it reads
// the files iptables reads through libc and libxtables (/etc/services,
// /etc/passwd, /etc/group, the iproute2 and xtables name maps) and asks
// the kernel for ipset indexes. The rule parser and printer get it
// passed in, so one value resolves a rule for `check` and `apply` alike.
package hostnames
