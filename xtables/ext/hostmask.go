package ext

import (
	"fmt"
	"net/netip"
	"strings"
)

// Addresses and address/mask pairs as options take them (XTTYPE_HOST,
// XTTYPE_HOSTMASK) and save prints them.

// sfPrefixFold reports whether arg is a non-empty case-insensitive prefix of
// name: libxt_conntrack and libxt_limit compare with strncasecmp(arg,
// name, strlen(arg)), so "est" means ESTABLISHED and "s" means second.
func sfPrefixFold(arg, name string) bool {
	return arg != "" && len(arg) <= len(name) && strings.EqualFold(arg, name[:len(arg)])
}

// sfFamilyBits is the address length of a family, the limit of its prefix
// lengths.
func sfFamilyBits(fam Family) int {
	if fam == IPv6 {
		return 128
	}
	return 32
}

// sfParseHost parses one numeric address of the family (XTTYPE_HOST) into
// the 16-byte union nf_inet_addr layout: an IPv4 address fills the first
// four bytes and leaves the rest zero.
func sfParseHost(s string, fam Family) ([16]byte, error) {
	var out [16]byte
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return out, fmt.Errorf("invalid address %q (only numeric addresses are accepted)", s)
	}
	if fam == IPv6 {
		if a.Is4() {
			return out, fmt.Errorf("%q is not an IPv6 address", s)
		}
		out = a.As16()
		return out, nil
	}
	if !a.Is4() {
		return out, fmt.Errorf("%q is not an IPv4 address", s)
	}
	v4 := a.As4()
	copy(out[:], v4[:])
	return out, nil
}

// sfParsePrefixLen is XTTYPE_PLEN: a prefix length 0..bits (base 0 like
// strtoul), or a netmask written as an address. iptables turns a
// non-contiguous netmask into a nonsense length; it is refused here.
func sfParsePrefixLen(s string, fam Family) (int, error) {
	bits := sfFamilyBits(fam)
	if v, err := ParseUint(s, 0, uint64(bits)); err == nil {
		return int(v), nil
	}
	m, err := sfParseHost(s, fam)
	if err != nil {
		return 0, fmt.Errorf("%q is neither a valid network mask nor a valid CIDR (0-%d)", s, bits)
	}
	n := MaskBits(netip.AddrFrom16(m))
	if fam != IPv6 {
		n = MaskBits(Addr4(m[:4]))
	}
	if n < 0 {
		return 0, fmt.Errorf("network mask %q is not contiguous", s)
	}
	return n, nil
}

// sfPrefixMask16 is xtopt_parse_plenmask's result: the mask of a prefix
// length in the 16-byte union, computed the same way for both families
// (so an IPv4 /24 is ff ff ff 00 followed by twelve zero bytes).
func sfPrefixMask16(n int) [16]byte {
	var m [16]byte
	for i := 0; i < n && i < 128; i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return m
}

// sfParseHostMask is XTTYPE_HOSTMASK: "addr" gives an all-ones 16-byte mask
// (even for IPv4: xtopt_parse_host memsets the whole union), "addr/len"
// or "addr/netmask" a prefix mask. The address is stored as written, not
// masked.
func sfParseHostMask(s string, fam Family) (addr, mask [16]byte, err error) {
	a, m, hasMask := strings.Cut(s, "/")
	if addr, err = sfParseHost(a, fam); err != nil {
		return addr, mask, err
	}
	if !hasMask {
		for i := range mask {
			mask[i] = 0xff
		}
		return addr, mask, nil
	}
	n, err := sfParsePrefixLen(m, fam)
	if err != nil {
		return addr, mask, err
	}
	return addr, sfPrefixMask16(n), nil
}

// sfFormatHostMask prints an nf_inet_addr and its mask as
// xtables_ip[6]addr_to_numeric plus xtables_ip[6]mask_to_numeric do.
func sfFormatHostMask(fam Family, addr, mask []byte) string {
	if fam == IPv6 {
		return FormatNet(Addr16(addr), Addr16(mask))
	}
	return FormatNet(Addr4(addr), Addr4(mask))
}

// sfFormatHost prints an nf_inet_addr without a mask.
func sfFormatHost(fam Family, addr []byte) string {
	if fam == IPv6 {
		return Addr16(addr).String()
	}
	return Addr4(addr).String()
}

// t2ParseHost parses a numeric address of the family, as getaddrinfo
// with the family's hints accepts it for XTTYPE_HOST (names are not
// resolved: hostwall never does DNS).
func t2ParseHost(s string, fam Family) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("invalid address %q (only numeric addresses are accepted)", s)
	}
	if fam == IPv6 {
		if a.Is4() {
			return netip.Addr{}, fmt.Errorf("%q is not an IPv6 address", s)
		}
	} else if !a.Is4() {
		return netip.Addr{}, fmt.Errorf("%q is not an IPv4 address", s)
	}
	return a, nil
}

// basicNumericAddr parses one numeric address of the rule's family, as
// xtables_numeric_to_ipaddr / xtables_numeric_to_ip6addr do (without the
// "10.1" shorthand for 10.1.0.0, which iptables-save never prints).
func basicNumericAddr(s string, fam Family) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return a, fmt.Errorf("invalid address %q", s)
	}
	if fam == IPv6 {
		if !a.Is6() {
			return a, fmt.Errorf("%q is not an IPv6 address", s)
		}
	} else if !a.Is4() {
		return a, fmt.Errorf("%q is not an IPv4 address", s)
	}
	return a, nil
}

// pgParseIP6 is inet_pton(AF_INET6): an IPv6 address, no zone, no IPv4.
func pgParseIP6(s string) ([16]byte, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || a.Zone() != "" {
		return [16]byte{}, fmt.Errorf("bad address: %s", s)
	}
	return a.As16(), nil
}
