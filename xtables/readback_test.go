package xtables

import (
	"strings"
	"testing"
)

// TestSameEncoding: a table read back is recognised as what Encode wrote
// whatever the kernel keeps for itself in each entry, and any other
// difference is noticed.
func TestSameEncoding(t *testing.T) {
	for _, g := range loadGolden(t) {
		tbl, err := Decode(g.fam, g.info, append([]byte(nil), g.blob...))
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		if !sameEnc(t, tbl, g.info, g.blob) {
			t.Errorf("%s: the kernel's own blob is not the table's encoding", g.name)
			continue
		}
		// nfcache, comefrom and counters of every entry are the
		// kernel's business.
		b := append([]byte(nil), g.blob...)
		for off := 0; off < len(b); off += int(ne.Uint16(b[off+g.fam.offNextOffset():])) {
			ne.PutUint32(b[off+g.fam.offNFCache():], 0xdeadbeef)
			ne.PutUint32(b[off+g.fam.offComeFrom():], 0x1f)
			ne.PutUint64(b[off+g.fam.offCounters():], 12345)
			ne.PutUint64(b[off+g.fam.offCounters()+8:], 67890)
		}
		if !sameEnc(t, tbl, g.info, b) {
			t.Errorf("%s: counters, comefrom or nfcache made a difference", g.name)
		}
		// Every other byte counts: flip each one in turn (sampled on
		// large blobs).
		step := max(1, len(g.blob)/1000)
		for i := 0; i < len(g.blob); i += step {
			off := entryStart(g.fam, g.blob, i)
			rel := i - off
			if rel >= g.fam.offNFCache() && rel < g.fam.offNFCache()+4 ||
				rel >= g.fam.offComeFrom() && rel < g.fam.offComeFrom()+4 ||
				rel >= g.fam.offCounters() && rel < g.fam.entrySize {
				continue
			}
			b := append([]byte(nil), g.blob...)
			b[i] ^= 0x40
			if sameEnc(t, tbl, g.info, b) {
				t.Errorf("%s: byte %d (entry at %d, +%d) changed unnoticed", g.name, i, off, rel)
				break
			}
		}
		info := g.info
		info.NumEntries++
		if sameEnc(t, tbl, info, g.blob) {
			t.Errorf("%s: entry count changed unnoticed", g.name)
		}
		info = g.info
		for h := 0; h < numHooks; h++ {
			if info.ValidHooks&(1<<h) != 0 {
				info.Underflow[h] += 8
				break
			}
		}
		if sameEnc(t, tbl, info, g.blob) {
			t.Errorf("%s: underflow changed unnoticed", g.name)
		}
		if sameEnc(t, tbl, g.info, g.blob[:len(g.blob)-8]) {
			t.Errorf("%s: truncation unnoticed", g.name)
		}
		// A table with one rule less is not the blob.
		removed := false
		for _, c := range tbl.Chains {
			if len(c.Rules) > 0 {
				c.Rules = c.Rules[1:]
				removed = true
				break
			}
		}
		if removed && sameEnc(t, tbl, g.info, g.blob) {
			t.Errorf("%s: a missing rule went unnoticed", g.name)
		}
	}
}

// sameEnc is sameEncoding of the layout Encode makes of tbl.
func sameEnc(t *testing.T, tbl *Table, info Info, blob []byte) bool {
	t.Helper()
	x, err := newEncoder(tbl)
	if err != nil {
		t.Fatal(err)
	}
	return sameEncoding(x, info, blob)
}

func entryStart(f *Family, blob []byte, i int) int {
	off := 0
	for {
		next := off + int(ne.Uint16(blob[off+f.offNextOffset():]))
		if i < next {
			return off
		}
		off = next
	}
}

// TestLayoutIsEncode: Layout lists the entries Encode writes.
func TestLayoutIsEncode(t *testing.T) {
	for _, g := range loadGolden(t) {
		tbl, err := Decode(g.fam, g.info, g.blob)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := Encode(tbl)
		if err != nil {
			t.Fatal(err)
		}
		lay, err := Layout(tbl)
		if err != nil {
			t.Fatal(err)
		}
		if len(lay.Rules) != len(enc.Rules) || len(lay.Feet) != len(enc.Feet) || int(enc.Info.NumEntries) != len(enc.Rules) {
			t.Fatalf("%s: layout %d/%d entries, encode %d/%d (%d)", g.name, len(lay.Rules), len(lay.Feet), len(enc.Rules), len(enc.Feet), enc.Info.NumEntries)
		}
		for i := range enc.Rules {
			if lay.Rules[i] != enc.Rules[i] || lay.Feet[i] != enc.Feet[i] {
				t.Errorf("%s: entry %d differs", g.name, i)
			}
		}
	}
}

// TestSaveStreams: a table larger than one chunk of Save's output prints
// the same as the rules one by one.
func TestSaveStreams(t *testing.T) {
	g := loadGolden(t)[0]
	tbl, err := Decode(g.fam, g.info, g.blob)
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	want.WriteString("*" + tbl.Name + "\n")
	for _, c := range tbl.listOrder() {
		if c.Builtin() {
			want.WriteString(":" + c.Name + " " + verdictName(c.Policy) + " [0:0]\n")
		} else {
			want.WriteString(":" + c.Name + " - [0:0]\n")
		}
	}
	// Many copies of the table's rules, to span several chunks.
	var lines []string
	for _, c := range tbl.listOrder() {
		for _, r := range c.Rules {
			lines = append(lines, tbl.RuleText(c, r, false))
		}
	}
	for _, c := range tbl.Chains {
		c.Counters = Counters{}
		rules := c.Rules
		for len(c.Rules) < 2000 && len(rules) > 0 {
			c.Rules = append(c.Rules, rules...)
		}
	}
	for _, c := range tbl.listOrder() {
		for _, r := range c.Rules {
			want.WriteString(tbl.RuleText(c, r, false) + "\n")
		}
	}
	want.WriteString("COMMIT\n")
	var w chunkRecorder
	if err := Save(&w, tbl, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if w.b.String() != want.String() {
		t.Errorf("streamed save differs from the rules printed one by one")
	}
	if w.b.Len() > saveChunk && w.writes < 2 {
		t.Errorf("%d bytes in %d writes: not streamed", w.b.Len(), w.writes)
	}
	if len(lines) == 0 {
		t.Fatal("golden table has no rules")
	}
}

type chunkRecorder struct {
	b      strings.Builder
	writes int
}

func (c *chunkRecorder) Write(p []byte) (int, error) {
	c.writes++
	return c.b.Write(p)
}
