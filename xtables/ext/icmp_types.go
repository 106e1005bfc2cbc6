package ext

import (
	"fmt"
	"strings"
)

// icmpName is one entry of libxt_icmp.h's icmp_codes / icmpv6_codes:
// a type with the code range the name stands for.
type icmpName struct {
	name             string
	typ              uint8
	codeMin, codeMax uint8
}

// parseICMPType parses an --icmp-type / --icmpv6-type argument as
// __ipt_parse_icmp does: a case-insensitive prefix of exactly one name
// (a prefix of several is ambiguous), or "type[/code[:code]]" with the
// numbers in C notation. A type range "a:b" is refused unless a == b.
func parseICMPType(names []icmpName, what, s string) (typ, codeMin, codeMax uint8, err error) {
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
