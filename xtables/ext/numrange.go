package ext

import (
	"fmt"
	"math"
	"strings"
)

// Number ranges as XTTYPE_UINT*RC options take them ("n:m") and save
// prints them.

// parseUintRange parses "n", "n:m", ":m" or "n:" as XTTYPE_UINT*RC options do
// (xtopt_parse_mint): a missing lower bound is 0, a missing upper one is
// max. single tells whether only one number was given.
func parseUintRange(s string, max uint64) (lo, hi uint64, single bool, err error) {
	var vals []uint64
	arg := s
	for {
		if len(vals) == 2 {
			return 0, 0, false, fmt.Errorf("too many components in %q (max: 2)", s)
		}
		var v uint64
		rest := arg
		if arg == "" || arg[0] == ':' {
			if len(vals) == 1 {
				v = max
			}
		} else {
			var ok bool
			v, rest, ok = StrtoulRange(arg, 0, max)
			if !ok {
				return 0, 0, false, fmt.Errorf("bad value near %q, or out of range (0-%d)", arg, max)
			}
			if rest != "" && rest[0] != ':' {
				return 0, 0, false, fmt.Errorf("unexpected characters near %q", rest)
			}
		}
		vals = append(vals, v)
		if rest == "" {
			break
		}
		arg = rest[1:]
	}
	if len(vals) == 1 {
		return vals[0], vals[0], true, nil
	}
	return vals[0], vals[1], false, nil
}

// putUint32s stores host-order 32-bit words.
func putUint32s(b []byte, vals ...uint32) {
	for i, v := range vals {
		NE.PutUint32(b[4*i:], v)
	}
}

// saveUint32Range prints " [!] --name lo[:hi]" unless [lo, hi] is the full
// 32-bit range: the save format of esp, ah, frag and rt ranges. Like
// iptables, an inverted full range prints nothing.
func saveUint32Range(b *strings.Builder, name string, lo, hi uint32, inv bool) {
	if lo == 0 && hi == math.MaxUint32 {
		return
	}
	if lo == hi {
		fmt.Fprintf(b, "%s --%s %d", Invert(inv), name, lo)
	} else {
		fmt.Fprintf(b, "%s --%s %d:%d", Invert(inv), name, lo, hi)
	}
}
