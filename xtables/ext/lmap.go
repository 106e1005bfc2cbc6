package ext

import (
	"bufio"
	"os"
	"strings"
)

// Name files iptables reads through xtables_lmap_init: "ID NAME" lines,
// '#' comments. Variables so tests can point them elsewhere.
var (
	lmapDevGroups = "/etc/iproute2/group"
	lmapRealms    = "/etc/iproute2/rt_realms"
	lmapConnLabel = "/etc/xtables/connlabel.conf"
)

type lmapEntry struct {
	id   uint64
	name string
}

// lmapRead reads a name map as xtables_lmap_init does; a missing file is
// an empty map, as it is to iptables.
func lmapRead(path string) []lmapEntry {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []lmapEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || line[0] == '#' {
			continue
		}
		id, rest, ok := Strtoul(line)
		if !ok {
			continue
		}
		name := strings.Fields(rest)
		if len(name) == 0 || (rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		out = append(out, lmapEntry{id, name[0]})
	}
	return out
}

func lmapName2ID(path, name string) (uint64, bool) {
	for _, e := range lmapRead(path) {
		if e.name == name {
			return e.id, true
		}
	}
	return 0, false
}

func lmapID2Name(path string, id uint64) (string, bool) {
	for _, e := range lmapRead(path) {
		if e.id == id {
			return e.name, true
		}
	}
	return "", false
}

// parseValMask is xtables_parse_val_mask: "VALUE[/MASK]" in numbers
// (base 0), or a name from the map; the mask defaults to all ones.
func parseValMask(s, lmap string) (val, mask uint32, ok bool) {
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
	id, found := lmapName2ID(lmap, s)
	if !found || uint32(id) == 0xffffffff {
		return 0, 0, false
	}
	return uint32(id), mask, true
}

// saveValMask is xtables_print_val_mask.
func saveValMask(b *strings.Builder, val, mask uint32, lmap string) {
	if mask != 0xffffffff {
		b.WriteString(" 0x" + hexU(uint64(val)) + "/0x" + hexU(uint64(mask)))
		return
	}
	if lmap != "" {
		if name, ok := lmapID2Name(lmap, uint64(val)); ok {
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
