// Package nft is hostwall's nf_tables codec and transport: the rules of
// the shared xtables model encoded as the nf_tables expressions
// iptables-nft 1.8.9 writes (and decoded back), and a netlink connection
// that reads chains and rules scoped to what a plan needs and writes one
// generation-checked batch per transaction.
//
// It sits beside the legacy x_tables transport in package xtables; both
// carry the same xtables.Rule values, whose match and target payloads are
// the same bytes in x_tables entries and in nft_compat expressions.
package nft
