package ext

import (
	"strings"
)

// parseValMask is xtables_parse_val_mask: "VALUE[/MASK]" in numbers
// (base 0), or a name from the map; the mask defaults to all ones.
func parseValMask(n Names, s string, lmap NameMap) (val, mask uint32, ok bool) {
	mask = 0xffffffff
	v, rest, numOK := StrtoulRange(s, 0, 0xffffffff)
	if numOK && rest == "" {
		return uint32(v), mask, true
	}
	if numOK && rest[0] == '/' {
		m, rest2, mOK := StrtoulRange(rest[1:], 0, 0xffffffff)
		if !mOK || rest2 != "" {
			return 0, 0, false
		}
		return uint32(v), uint32(m), true
	}
	if lmap == "" {
		return 0, 0, false
	}
	id, found := mapName2ID(n, lmap, s)
	if !found || uint32(id) == 0xffffffff {
		return 0, 0, false
	}
	return uint32(id), mask, true
}

// saveValMask is xtables_print_val_mask.
func saveValMask(b *strings.Builder, n Names, val, mask uint32, lmap NameMap) {
	if mask != 0xffffffff {
		b.WriteString(" 0x" + hexU(uint64(val)) + "/0x" + hexU(uint64(mask)))
		return
	}
	if lmap != "" {
		if name, ok := mapID2Name(n, lmap, uint64(val)); ok {
			b.WriteString(" " + name)
			return
		}
	}
	b.WriteString(" 0x" + hexU(uint64(val)))
}

func hexU(v uint64) string {
	const digits = "0123456789abcdef"
	if v == 0 {
		return "0"
	}
	var buf [16]byte
	i := len(buf)
	for v != 0 {
		i--
		buf[i] = digits[v&15]
		v >>= 4
	}
	return string(buf[i:])
}
