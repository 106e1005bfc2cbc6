package ext

import (
	"fmt"
	"strconv"
	"strings"
)

// Ports and port ranges as XTTYPE_PORT and XTTYPE_PORTRC options take
// them (udp, conntrack, sctp, ...).

// parseServicePort reads one port of an XTTYPE_PORT(RC) option: iptables
// resolves it with getaddrinfo(NULL, name), which takes decimal digits (no
// hex or octal, unlike xtables_parse_port) or a service name of any
// protocol. getaddrinfo silently wraps numbers above 65535; hostwall
// refuses them instead.
func parseServicePort(n Names, s string) (uint16, error) {
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

// parsePortRC parses an XTTYPE_PORTRC argument ("port", "lo:hi", "lo:",
// ":hi"); a missing bound is 0 or 65535. Unlike ParsePortRange it lets lo
// exceed hi, as iptables does for udp (such a rule never matches).
func parsePortRC(n Names, s string) (lo, hi uint16, err error) {
	parts := strings.Split(s, ":")
	if len(parts) > 2 {
		return 0, 0, fmt.Errorf("too many components in %q (at most lo:hi)", s)
	}
	lo, hi = 0, 65535
	for i, p := range parts {
		if p == "" {
			continue
		}
		v, err := parseServicePort(n, p)
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

// parseUint16RC parses an XTTYPE_UINT16RC argument as xtopt_parse_mint
// does: "n", "lo:hi", with a missing first bound 0 and a missing second
// bound 65535; numbers in C notation (0x hex, leading-0 octal).
func parseUint16RC(s string) (lo, hi uint16, n int, err error) {
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
