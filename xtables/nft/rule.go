package nft

import (
	"errors"
	"fmt"
)

// ErrForeign is wrapped by DecodeRule's errors for a rule that is not in
// a form iptables-nft 1.8.9 reads back exactly: native nft expressions
// (ct, reject, lookups of anonymous sets...), forms 1.8.9 would misread
// or silently drop, and anything it calls incompatible. Such rules belong
// to another tool; callers keep them untouched.
var ErrForeign = errors.New("not an iptables-nft 1.8.9 rule")

// foreign returns an error wrapping ErrForeign.
func foreign(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrForeign, fmt.Sprintf(format, args...))
}

// Values of the nf_tables UAPI the codec uses, named here because
// golang.org/x/sys/unix leaves them out or names them generically.
const (
	nfDrop   = 0 // NF_DROP, an immediate verdict
	nfAccept = 1 // NF_ACCEPT

	udataComment = 0 // UDATA_TYPE_COMMENT of iptables' rule userdata

	ifNameSize = 16 // IFNAMSIZ

	// invalidIface is the never-matching name iptables-nft 1.8.9 compares
	// with for "! -i +" (nft cannot say "no interface").
	invalidIface = "INVAL/D"

	// Offsets in the IPv4 and IPv6 headers (struct iphdr, ip6_hdr).
	ip4FragOff  = 6
	ip4TTL      = 8
	ip4Protocol = 9
	ip4Saddr    = 12
	ip4Daddr    = 16
	ip6NextHdr  = 6
	ip6HopLimit = 7
	ip6Saddr    = 8
	ip6Daddr    = 24

	// Offsets in the TCP/UDP header.
	thSport    = 0
	thDport    = 2
	thTCPFlags = 13

	// Protocol numbers.
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)
