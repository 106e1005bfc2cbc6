package ext

import (
	"fmt"
	"net/netip"
	"strings"
)

// The one reader of addresses and address/mask pairs, for the rule
// header's -s/-d and every option that takes an address, so that each
// mistake reads the same wherever it is made. Names are never resolved:
// a rules file must mean the same thing on every boot, without DNS.
//
// iptables has two families of parsers, and a caller picks the one its
// iptables code uses (hostForm):
//
//   - the header's xtables_ipparse_multiple / xtables_ip6parse_multiple,
//     built on xtables_numeric_to_ipaddr: an IPv4 address may be short
//     ("10.1" is 10.1.0.0), its parts read in base 0; a dotted mask has
//     all four parts; a zero mask ignores the address ("any/0"); a
//     non-contiguous mask is kept as written;
//   - the option types of xtopt (XTTYPE_HOST, XTTYPE_HOSTMASK,
//     XTTYPE_PLEN) and the extensions calling inet_pton: the full form of
//     the family only.
//
// Both read the text after "/" as a prefix length (base 0, like strtoul)
// or as a mask written as an address.

// hostForm names the parser of iptables a caller follows.
type hostForm uint8

const (
	// formOption is xtopt's XTTYPE_HOST and XTTYPE_HOSTMASK, which ask
	// getaddrinfo: an IPv4 address in any inet_aton form ("10.1" is
	// 10.0.0.1, "0x0a.1" too); IPv6 in inet_pton's form.
	formOption hostForm = iota
	// formPton is inet_pton's strict form (DNAT's and SNAT's ranges).
	formPton
	// formHeader is xtables_ipparse_multiple's, for -s and -d, and
	// xtables_numeric_to_ipaddr's (iprange).
	formHeader
)

// familyBits is the address length of a family, the limit of its prefix
// lengths.
func familyBits(fam Family) int {
	if fam == IPv6 {
		return 128
	}
	return 32
}

// errBadAddr is the one wording of an address that is not a numeric
// address of the family.
func errBadAddr(s string, fam Family) error {
	name := "IPv4"
	if fam == IPv6 {
		name = "IPv6"
	}
	return fmt.Errorf("%q is not a numeric %s address", s, name)
}

// parseHost reads one address of the family.
func parseHost(s string, fam Family, form hostForm) (netip.Addr, error) {
	if fam != IPv6 && form == formHeader {
		if a, ok := numericIPv4(s, false); ok {
			return netip.AddrFrom4(a), nil
		}
		return netip.Addr{}, errBadAddr(s, fam)
	}
	if fam != IPv6 && form == formOption {
		if a, ok := inetAton(s); ok {
			return netip.AddrFrom4(a), nil
		}
		return netip.Addr{}, errBadAddr(s, fam)
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.Is4() != (fam != IPv6) {
		return netip.Addr{}, errBadAddr(s, fam)
	}
	return a, nil
}

// inetAton is glibc's inet_aton, which getaddrinfo uses for a numeric
// IPv4 host: one to four parts, each read with base 0, the last filling
// the bytes left ("10.1" is 10.0.0.1, "167772161" is 10.0.0.1).
func inetAton(s string) ([4]byte, bool) {
	var out [4]byte
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return out, false
	}
	var v uint32
	for i, p := range parts {
		last := i == len(parts)-1
		max := uint64(255)
		if last {
			max = 1<<(8*(4-i)) - 1
		}
		if p == "" || p[0] < '0' || p[0] > '9' { // no sign, no space
			return out, false
		}
		n, rest, ok := StrtoulRange(p, 0, max)
		if !ok || rest != "" {
			return out, false
		}
		if last {
			v |= uint32(n)
		} else {
			v |= uint32(n) << (8 * (3 - i))
		}
	}
	out[0], out[1], out[2], out[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return out, true
}

// numericIPv4 is libxtables' __numeric_to_ipaddr: dotted parts 0-255,
// each read with base 0; an address (not a mask) may stop early, its
// missing parts zero.
func numericIPv4(s string, isMask bool) ([4]byte, bool) {
	var out [4]byte
	if len(s) > 19 { // it copies the string into char buf[20]
		s = s[:19]
	}
	parts := strings.SplitN(s, ".", 4)
	if len(parts) < 4 && isMask {
		return out, false
	}
	for i, p := range parts {
		v, rest, ok := StrtoulRange(p, 0, 255)
		if !ok || rest != "" {
			return out, false
		}
		out[i] = byte(v)
	}
	return out, true
}

// parseMask reads the text after "/": a prefix length 0..bits, or a mask
// written as an address of the family. plen is the mask's prefix
// length, -1 when the mask is not contiguous.
func parseMask(s string, fam Family, form hostForm) (mask netip.Addr, plen int, err error) {
	bits := familyBits(fam)
	if v, rest, ok := StrtoulRange(s, 0, uint64(bits)); ok && rest == "" {
		return PrefixMask(int(v), bits), int(v), nil
	}
	if fam != IPv6 && form == formHeader {
		if m, ok := numericIPv4(s, true); ok {
			mask = netip.AddrFrom4(m)
		}
	} else if m, err := netip.ParseAddr(s); err == nil && m.Zone() == "" && m.Is4() == (fam != IPv6) {
		mask = m
	}
	if !mask.IsValid() {
		return mask, 0, fmt.Errorf("invalid prefix length or mask %q (0-%d)", s, bits)
	}
	return mask, MaskBits(mask), nil
}

// parseNetwork reads "addr[/mask]"; without a mask it is a host mask.
// formOption reads the address first and splits at the first "/", as
// xtopt_parse_hostmask does; formHeader splits at the last "/" and reads
// the mask first: a zero mask leaves the address unread and zero, as
// iptables takes "any/0" and "name/0" without resolving the name.
func parseNetwork(s string, fam Family, form hostForm) (addr, mask netip.Addr, plen int, err error) {
	bits := familyBits(fam)
	a, m, hasMask := strings.Cut(s, "/")
	if form == formHeader {
		if i := strings.LastIndexByte(s, '/'); i >= 0 {
			a, m = s[:i], s[i+1:]
		}
	} else if addr, err = parseHost(a, fam, form); err != nil {
		return addr, mask, 0, err
	}
	mask, plen = PrefixMask(bits, bits), bits
	if hasMask {
		if mask, plen, err = parseMask(m, fam, form); err != nil {
			return addr, mask, plen, err
		}
	}
	if form == formHeader {
		if plen == 0 {
			return PrefixMask(0, bits), mask, 0, nil
		}
		addr, err = parseHost(a, fam, form)
	}
	return addr, mask, plen, err
}

// ParseNet is the rule header's -s/-d for one item of the list:
// "addr[/prefix-or-mask]", the address masked as the kernel compares it.
func ParseNet(s string, fam Family) (addr, mask netip.Addr, err error) {
	addr, mask, _, err = parseNetwork(s, fam, formHeader)
	if err != nil {
		return addr, mask, err
	}
	return AndMask(addr, mask), mask, nil
}

// nonContiguous says what an XTTYPE_HOSTMASK option makes of a mask that
// is not a prefix.
type nonContiguous bool

const (
	// refuseNonContiguous: hostwall's own refusal, where iptables would
	// silently match the whole address instead (conntrack, srh).
	refuseNonContiguous nonContiguous = false
	// hostMaskNonContiguous: xtopt_parse_plenmask's result for its
	// length of -1 (255 in a uint8), the all-ones mask (policy, NETMAP).
	hostMaskNonContiguous nonContiguous = true
)

// parseHostMask is XTTYPE_HOSTMASK in the 16-byte union nf_inet_addr
// layout: "addr" gives an all-ones 16-byte mask (even for IPv4:
// xtopt_parse_host memsets the whole union), "addr/len" or "addr/mask"
// the prefix mask computed over the union by xtopt_parse_plenmask (so an
// IPv4 /24 is ff ff ff 00 and twelve zero bytes). The address is stored
// as written, not masked.
func parseHostMask(s string, fam Family, nc nonContiguous) (addr, mask [16]byte, err error) {
	a, _, plen, err := parseNetwork(s, fam, formOption)
	if err != nil {
		return addr, mask, err
	}
	copy(addr[:], a.AsSlice())
	if !strings.Contains(s, "/") || (plen < 0 && nc == hostMaskNonContiguous) {
		for i := range mask {
			mask[i] = 0xff
		}
		return addr, mask, nil
	}
	if plen < 0 {
		_, m, _ := strings.Cut(s, "/")
		return addr, mask, errNonContiguous(m)
	}
	return addr, prefixMask16(plen), nil
}

// errNonContiguous is the one wording of a refused non-contiguous mask.
func errNonContiguous(mask string) error {
	return fmt.Errorf("network mask %q is not contiguous", mask)
}

// parsePrefixLen is XTTYPE_PLEN: a prefix length, or a netmask written
// as an address. iptables turns a non-contiguous netmask into a nonsense
// length (255); it is refused here.
func parsePrefixLen(s string, fam Family) (int, error) {
	_, plen, err := parseMask(s, fam, formOption)
	if err == nil && plen < 0 {
		err = errNonContiguous(s)
	}
	return plen, err
}

// parseHostBytes is parseHost into the union nf_inet_addr layout: an
// IPv4 address fills the first four bytes, the rest zero.
func parseHostBytes(s string, fam Family, form hostForm) ([16]byte, error) {
	var out [16]byte
	a, err := parseHost(s, fam, form)
	copy(out[:], a.AsSlice())
	return out, err
}

// prefixMask16 is xtopt_parse_plenmask's result: the mask of a prefix
// length in the 16-byte union, computed the same way for both families.
func prefixMask16(n int) [16]byte {
	var m [16]byte
	for i := 0; i < n && i < 128; i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return m
}

// formatHostMask prints an nf_inet_addr and its mask as
// xtables_ip[6]addr_to_numeric plus xtables_ip[6]mask_to_numeric do.
func formatHostMask(fam Family, addr, mask []byte) string {
	if fam == IPv6 {
		return FormatNet(Addr16(addr), Addr16(mask))
	}
	return FormatNet(Addr4(addr), Addr4(mask))
}

// formatHost prints an nf_inet_addr without a mask.
func formatHost(fam Family, addr []byte) string {
	if fam == IPv6 {
		return FormatAddr(Addr16(addr))
	}
	return Addr4(addr).String()
}
