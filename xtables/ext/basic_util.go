package ext

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Helpers shared by the "basic" group of matches (udp, multiport, icmp,
// icmp6, addrtype, sctp, iprange, mac, pkttype, length).

// basicServicePort reads one port of an XTTYPE_PORT(RC) option: iptables
// resolves it with getaddrinfo(NULL, name), which takes decimal digits (no
// hex or octal, unlike xtables_parse_port) or a service name of any
// protocol. getaddrinfo silently wraps numbers above 65535; hostwall
// refuses them instead.
func basicServicePort(n Names, s string) (uint16, error) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		v, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			return 0, fmt.Errorf("port %q is out of range (0-65535)", s)
		}
		return uint16(v), nil
	}
	if p, ok := n.Service(s, ""); ok {
		return p, nil
	}
	return 0, fmt.Errorf("port %q does not resolve to anything", s)
}

// basicPortRC parses an XTTYPE_PORTRC argument ("port", "lo:hi", "lo:",
// ":hi"); a missing bound is 0 or 65535. Unlike ParsePortRange it lets lo
// exceed hi, as iptables does for udp (such a rule never matches).
func basicPortRC(n Names, s string) (lo, hi uint16, err error) {
	parts := strings.Split(s, ":")
	if len(parts) > 2 {
		return 0, 0, fmt.Errorf("too many components in %q (at most lo:hi)", s)
	}
	lo, hi = 0, 65535
	for i, p := range parts {
		if p == "" {
			continue
		}
		v, err := basicServicePort(n, p)
		if err != nil {
			return 0, 0, err
		}
		if i == 0 {
			lo = v
		} else {
			hi = v
		}
	}
	if len(parts) == 1 {
		hi = lo
	}
	return lo, hi, nil
}

// basicUint16RC parses an XTTYPE_UINT16RC argument as xtopt_parse_mint
// does: "n", "lo:hi", with a missing first bound 0 and a missing second
// bound 65535; numbers in C notation (0x hex, leading-0 octal).
func basicUint16RC(s string) (lo, hi uint16, n int, err error) {
	vals := [2]uint16{0, 0}
	rest := s
	for {
		if n == 2 {
			return 0, 0, 0, fmt.Errorf("too many components in %q (at most min:max)", s)
		}
		var v uint64
		if rest == "" || rest[0] == ':' {
			if n == 1 {
				v = 65535
			}
		} else {
			var ok bool
			v, rest, ok = StrtoulRange(rest, 0, 65535)
			if !ok {
				return 0, 0, 0, fmt.Errorf("bad value near %q, or out of range (0-65535)", rest)
			}
			if rest != "" && rest[0] != ':' {
				return 0, 0, 0, fmt.Errorf("unexpected characters near %q", rest)
			}
		}
		vals[n] = uint16(v)
		n++
		if rest == "" {
			break
		}
		rest = rest[1:]
	}
	return vals[0], vals[1], n, nil
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

// icmpName is one entry of libxt_icmp.h's icmp_codes / icmpv6_codes:
// a type with the code range the name stands for.
type icmpName struct {
	name             string
	typ              uint8
	codeMin, codeMax uint8
}

// basicParseICMP parses an --icmp-type / --icmpv6-type argument as
// __ipt_parse_icmp does: a case-insensitive prefix of exactly one name
// (a prefix of several is ambiguous), or "type[/code[:code]]" with the
// numbers in C notation. A type range "a:b" is refused unless a == b.
func basicParseICMP(names []icmpName, what, s string) (typ, codeMin, codeMax uint8, err error) {
	match := -1
	for i, n := range names {
		if len(s) > len(n.name) || !strings.EqualFold(n.name[:len(s)], s) {
			continue
		}
		if match >= 0 {
			return 0, 0, 0, fmt.Errorf("ambiguous %s type %q: %q or %q?", what, s, names[match].name, n.name)
		}
		match = i
	}
	if match >= 0 {
		n := names[match]
		return n.typ, n.codeMin, n.codeMax, nil
	}
	// parse_range: "n" or "n:m", each 0-255.
	parseRange := func(s string) (lo, hi uint64, rest string, ok bool) {
		lo, rest, ok = StrtoulRange(s, 0, 255)
		if !ok {
			return 0, 0, s, false
		}
		hi = lo
		if rest != "" && rest[0] == ':' {
			hi, rest, ok = StrtoulRange(rest[1:], 0, 255)
		}
		return lo, hi, rest, ok
	}
	tlo, thi, rest, ok := parseRange(s)
	if !ok {
		return 0, 0, 0, fmt.Errorf("unknown %s type %q", what, s)
	}
	clo, chi := uint64(0), uint64(255)
	if rest != "" && rest[0] == '/' {
		clo, chi, rest, ok = parseRange(rest[1:])
		if !ok {
			return 0, 0, 0, fmt.Errorf("unknown %s code %q", what, s)
		}
	}
	if rest != "" {
		return 0, 0, 0, fmt.Errorf("unknown character %q in %s type %q", rest[0], what, s)
	}
	if tlo != thi {
		return 0, 0, 0, fmt.Errorf("%s type range not supported", what)
	}
	return uint8(tlo), uint8(clo), uint8(chi), nil
}
