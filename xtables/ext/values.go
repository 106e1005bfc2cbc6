package ext

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// NE is the byte order of the kernel's host-order fields. hostwall builds
// only for 64-bit little-endian and big-endian Linux alike, so it is the
// machine's own order, as the C structs are.
var NE = binary.NativeEndian

// SaveString appends a string argument the way xtables_save_string does:
// bare when it is made only of [-_0-9A-Za-z], otherwise in double quotes
// with ", \ and ' escaped by a backslash.
func SaveString(b *strings.Builder, s string) {
	b.WriteByte(' ')
	if s != "" && strings.Trim(s, "_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
		b.WriteString(s)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c == '\'' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// CString returns the NUL-terminated string at the start of buf.
func CString(buf []byte) string {
	for i, c := range buf {
		if c == 0 {
			return string(buf[:i])
		}
	}
	return string(buf)
}

// PutCString copies s into dst, NUL padded; it fails when s and its NUL
// do not fit, as the kernel would read past the field.
func PutCString(dst []byte, s string) error {
	if len(s) >= len(dst) {
		return fmt.Errorf("%q is longer than %d characters", s, len(dst)-1)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return errors.New("contains a NUL byte")
	}
	copy(dst, s)
	return nil
}

// ParseUint is the one reader of a whole-argument number (XTTYPE_UINT*,
// xtables_strtoul without an end pointer): C's strtoul in base 0 (white
// space and '+' first, 0x hex, leading-0 octal), no '-', nothing after
// the digits, within [min, max].
func ParseUint(s string, min, max uint64) (uint64, error) {
	v, rest, ok := StrtoulRange(s, min, 0)
	if !ok || rest != "" || v > max {
		return 0, fmt.Errorf("bad value %q, or out of range (%d-%d)", s, min, max)
	}
	return v, nil
}

// uintOption reads an option's argument with ParseUint.
func uintOption(in *ParseInput, o OptionValue, min, max uint64) (uint64, error) {
	v, err := ParseUint(o.Arg(), min, max)
	if err != nil {
		return 0, in.Errorf(o, "%v", err)
	}
	return v, nil
}

// CStrtoul reads a number at the start of s as C's strtoumax(s, &end,
// base) does: white space, an optional sign, then digits in base (0
// picks 0x hex, leading-0 octal or decimal; "0x" counts only when a hex
// digit follows). It returns the unread rest; ok is false when no digit
// was read (rest is then s). An overflow saturates and sets overflow, as
// ERANGE would; a '-' negates modulo 2^64, as C does. iptables' option
// parsers are built on it, and hostwall must accept what they accept.
func CStrtoul(s string, base int) (v uint64, rest string, ok, overflow bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if (base == 0 || base == 16) && i+2 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && HexDigit(s[i+2]) >= 0 {
		base = 16
		i += 2
	}
	if base == 0 {
		base = 10
		if i < len(s) && s[i] == '0' {
			base = 8
		}
	}
	start := i
	for ; i < len(s); i++ {
		d := digitValue(s[i])
		if d < 0 || d >= base {
			break
		}
		if !overflow {
			if v > (math.MaxUint64-uint64(d))/uint64(base) {
				overflow, v = true, math.MaxUint64
			} else {
				v = v*uint64(base) + uint64(d)
			}
		}
	}
	if i == start {
		return 0, s, false, false
	}
	if neg && !overflow {
		v = -v
	}
	return v, s[i:], true, overflow
}

// StrtoulRange is xtables_strtoul with an end pointer: a number in
// [min, max] (max 0 meaning no limit) at the start of s, base 0, a
// leading '-' refused, overflow an error. It returns the unread rest.
func StrtoulRange(s string, min, max uint64) (uint64, string, bool) {
	if strings.HasPrefix(strings.TrimLeft(s, " \t\n\v\f\r"), "-") {
		return 0, s, false
	}
	v, rest, ok, overflow := CStrtoul(s, 0)
	if !ok || overflow || v < min || (max != 0 && v > max) {
		return 0, rest, false
	}
	return v, rest, true
}

// Strtoul is StrtoulRange without bounds.
func Strtoul(s string) (uint64, string, bool) { return StrtoulRange(s, 0, 0) }

// HexDigit is the value of a hex digit, or -1.
func HexDigit(c byte) int {
	if d := digitValue(c); d < 16 {
		return d
	}
	return -1
}

// digitValue is the value of c as a digit of any base up to 36, or -1.
func digitValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return -1
}

// ParsePort parses a port number or a service name (n.Service) for the
// given protocol name ("tcp", "udp"; "" for any).
func ParsePort(n Names, s, proto string) (uint16, error) {
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		v, err := ParseUint(s, 0, 65535)
		if err != nil {
			return 0, fmt.Errorf("invalid port %q: %w", s, err)
		}
		return uint16(v), nil
	}
	if p, ok := n.Service(s, proto); ok {
		return p, nil
	}
	return 0, fmt.Errorf("invalid port/service %q", s)
}

// ParsePortRange parses "port", "lo:hi", ":hi" or "lo:"; a missing bound
// is 0 or 65535, as in xtables_parse_port_range.
func ParsePortRange(n Names, s, proto string) (lo, hi uint16, err error) {
	a, b, isRange := strings.Cut(s, ":")
	if !isRange {
		p, err := ParsePort(n, s, proto)
		return p, p, err
	}
	lo, hi = 0, 65535
	if a != "" {
		if lo, err = ParsePort(n, a, proto); err != nil {
			return 0, 0, err
		}
	}
	if b != "" {
		if hi, err = ParsePort(n, b, proto); err != nil {
			return 0, 0, err
		}
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("invalid port range %q: %d is above %d", s, lo, hi)
	}
	return lo, hi, nil
}

// ParseMarkMask parses "value[/mask]"; the mask defaults to 0xffffffff.
func ParseMarkMask(s string) (value, mask uint32, err error) {
	v, m, hasMask := strings.Cut(s, "/")
	vv, err := ParseUint(v, 0, 0xffffffff)
	if err != nil {
		return 0, 0, err
	}
	mask = 0xffffffff
	if hasMask {
		mm, err := ParseUint(m, 0, 0xffffffff)
		if err != nil {
			return 0, 0, err
		}
		mask = uint32(mm)
	}
	return uint32(vv), mask, nil
}

// PrefixMask returns the netmask of a prefix length.
func PrefixMask(prefix, bits int) netip.Addr {
	var b [16]byte
	for i := 0; i < prefix; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	if bits == 32 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(b)
}

// AndMask masks an address, as the kernel compares (addr & mask) == net.
func AndMask(addr, mask netip.Addr) netip.Addr {
	a, m := addr.AsSlice(), mask.AsSlice()
	for i := range a {
		a[i] &= m[i]
	}
	r, _ := netip.AddrFromSlice(a)
	return r
}

// MaskBits returns the prefix length of a contiguous mask, or -1.
func MaskBits(mask netip.Addr) int {
	b := mask.AsSlice()
	n := 0
	for n < len(b)*8 && b[n/8]&(0x80>>(n%8)) != 0 {
		n++
	}
	for i := n; i < len(b)*8; i++ {
		if b[i/8]&(0x80>>(i%8)) != 0 {
			return -1
		}
	}
	return n
}

// FormatNet prints addr and mask as xtables_ipaddr_to_numeric plus
// xtables_ipmask_to_numeric do: no suffix for a host mask, /N for a
// prefix, /a.b.c.d for a non-contiguous mask.
func FormatNet(addr, mask netip.Addr) string {
	n := MaskBits(mask)
	switch {
	case n == mask.BitLen():
		return FormatAddr(addr)
	case n < 0:
		return FormatAddr(addr) + "/" + FormatAddr(mask)
	}
	return FormatAddr(addr) + "/" + strconv.Itoa(n)
}

// FormatAddr prints an address as glibc's inet_ntop does, which is what
// iptables prints. It differs from netip's String only for the
// IPv4-compatible IPv6 form (six zero words, then a non-zero seventh),
// which glibc prints with a dotted tail: ::1.2.3.4.
func FormatAddr(a netip.Addr) string {
	if !a.Is6() || a.Is4In6() {
		return a.String()
	}
	b := a.As16()
	for _, c := range b[:12] {
		if c != 0 {
			return a.String()
		}
	}
	if b[12] == 0 && b[13] == 0 {
		return a.String()
	}
	return "::" + netip.AddrFrom4([4]byte(b[12:16])).String()
}

// Addr4 reads a 4-byte network-order IPv4 address.
func Addr4(b []byte) netip.Addr { return netip.AddrFrom4([4]byte(b[:4])) }

// Addr16 reads a 16-byte IPv6 address.
func Addr16(b []byte) netip.Addr { return netip.AddrFrom16([16]byte(b[:16])) }

// IfName is a kernel interface name field (char[IFNAMSIZ]) with its mask.
const IfNameSize = 16

// ParseInterface encodes an interface name as xtables_parse_interface
// does: an exact name is masked over its length plus the NUL, "name+"
// matches every interface starting with name (mask without the '+').
func ParseInterface(s string) (name, mask [IfNameSize]byte, err error) {
	if len(s) == 0 || len(s) > IfNameSize-1 {
		return name, mask, fmt.Errorf("interface name %q must be 1 to %d characters", s, IfNameSize-1)
	}
	for _, c := range []byte(s) {
		if c == '/' || c == ' ' || c == 0 {
			return name, mask, fmt.Errorf("invalid character %q in interface name %q", c, s)
		}
	}
	copy(name[:], s)
	n := len(s) + 1
	if s[len(s)-1] == '+' {
		n = len(s) - 1
	}
	for i := 0; i < n; i++ {
		mask[i] = 0xff
	}
	return name, mask, nil
}

// FormatInterface prints an interface name and mask as save_iface does.
func FormatInterface(name, mask []byte) string {
	var b strings.Builder
	for i := 0; i < IfNameSize && i < len(mask); i++ {
		if mask[i] == 0 {
			if i > 0 && name[i-1] != 0 {
				b.WriteByte('+')
			}
			break
		}
		if name[i] != 0 {
			b.WriteByte(name[i])
		}
	}
	return b.String()
}

// Invert returns " !" when inv is set: the prefix iptables-save puts
// before an inverted option.
func Invert(inv bool) string {
	if inv {
		return " !"
	}
	return ""
}
