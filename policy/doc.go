// Package policy reads rules files in iptables-restore format (the format
// of /etc/iptables/rules.v4 and rules.v6) and turns them into tables and,
// for hostwall's own job, into the chains it owns and the hooks that
// reach them.
package policy
