package xtables

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// golden is a table the kernel returned for a fixture (written by the
// integration test TestGolden): struct ipt_getinfo, then the entries.
type golden struct {
	name string
	fam  *Family
	info Info
	blob []byte
	save string
}

func loadGolden(t testing.TB) []golden {
	t.Helper()
	paths, err := filepath.Glob("testdata/golden/*.bin")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden blobs: %v", err)
	}
	var out []golden
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		text, err := os.ReadFile(strings.TrimSuffix(p, ".bin") + ".save")
		if err != nil {
			t.Fatal(err)
		}
		info, err := UnmarshalInfo(data[:sizeofGetinfo])
		if err != nil {
			t.Fatal(err)
		}
		fam := IPv4
		if strings.Contains(filepath.Base(p), ".v6.") {
			fam = IPv6
		}
		out = append(out, golden{name: filepath.Base(p), fam: fam, info: info, blob: data[sizeofGetinfo:], save: string(text)})
	}
	return out
}

// TestGoldenRoundTrip: kernel bytes decode, print as iptables-save
// printed them, and encode back to the same bytes.
func TestGoldenRoundTrip(t *testing.T) {
	for _, g := range loadGolden(t) {
		tbl, err := Decode(g.fam, g.info, g.blob)
		if err != nil {
			t.Errorf("%s: decode: %v", g.name, err)
			continue
		}
		var b strings.Builder
		if err := Save(&b, tbl, SaveOptions{Counters: true}); err != nil {
			t.Fatal(err)
		}
		if b.String() != g.save {
			t.Errorf("%s: save differs from iptables-legacy-save:\n%s\nwant:\n%s", g.name, b.String(), g.save)
		}
		enc, err := Encode(tbl)
		if err != nil {
			t.Errorf("%s: encode: %v", g.name, err)
			continue
		}
		if !bytes.Equal(enc.Blob, g.blob) {
			t.Errorf("%s: re-encoded blob differs", g.name)
		}
		if enc.Info.HookEntry != g.info.HookEntry || enc.Info.Underflow != g.info.Underflow || enc.Info.NumEntries != g.info.NumEntries {
			t.Errorf("%s: info %+v, want %+v", g.name, enc.Info, g.info)
		}
	}
}

// TestDecodeRejects: each corruption of a real blob is refused with a
// DecodeError, never a panic or a silently different table.
func TestDecodeRejects(t *testing.T) {
	g := loadGolden(t)[0]
	mutate := func(name string, f func(info *Info, b []byte) []byte) {
		info := g.info
		b := f(&info, append([]byte(nil), g.blob...))
		if _, err := Decode(g.fam, info, b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	mutate("truncated", func(i *Info, b []byte) []byte { i.Size -= 8; return b[:len(b)-8] })
	mutate("size mismatch", func(i *Info, b []byte) []byte { i.Size++; return b })
	mutate("entry count", func(i *Info, b []byte) []byte { i.NumEntries++; return b })
	mutate("next_offset zero", func(i *Info, b []byte) []byte {
		ne.PutUint16(b[g.fam.offNextOffset():], 0)
		return b
	})
	mutate("target_offset past entry", func(i *Info, b []byte) []byte {
		ne.PutUint16(b[g.fam.offTargetOffset():], 0xfff0)
		return b
	})
	mutate("hook off boundary", func(i *Info, b []byte) []byte { i.HookEntry[HookInput] += 8; return b })
	mutate("unknown hook", func(i *Info, b []byte) []byte { i.ValidHooks |= 1 << 7; return b })
	mutate("last entry not ERROR", func(i *Info, b []byte) []byte {
		copy(b[len(b)-sizeofErrorTgt+2:], "XRROR")
		return b
	})
}

// TestEncodeDecodeBuilt builds a table from rule text, and checks that
// the blob decodes to the same table and encodes to the same bytes.
func TestEncodeDecodeBuilt(t *testing.T) {
	for _, fam := range []*Family{IPv4, IPv6} {
		tbl := &Table{Family: fam, Name: "filter"}
		for _, h := range TableHooks("filter") {
			tbl.Chains = append(tbl.Chains, &Chain{Name: HookName(h), Hook: h, Policy: VerdictAccept})
		}
		tbl.Chains = append(tbl.Chains, &Chain{Name: "FILTERS", Hook: -1, Policy: VerdictReturn},
			&Chain{Name: "EMPTY", Hook: -1, Policy: VerdictReturn})
		tbl.SortChains()
		p := &RuleParser{Family: fam, IsChain: func(n string) bool { return n == "FILTERS" || n == "EMPTY" }}
		add := func(chain, rule string) {
			rules, err := p.Parse(strings.Fields(rule))
			if err != nil {
				t.Fatalf("%s %q: %v", fam, rule, err)
			}
			c := tbl.Chain(chain)
			c.Rules = append(c.Rules, rules...)
		}
		add("INPUT", "-j FILTERS")
		add("INPUT", "-g EMPTY")
		add("FILTERS", "-i lo -j ACCEPT")
		add("FILTERS", "! -i eth+ -p tcp --dport 22")
		add("FILTERS", "-p udp -j DROP")
		add("FILTERS", "-j RETURN")
		enc, err := Encode(tbl)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(fam, enc.Info, enc.Blob)
		if err != nil {
			t.Fatalf("%s: decode own blob: %v", fam, err)
		}
		enc2, err := Encode(back)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc.Blob, enc2.Blob) {
			t.Errorf("%s: encode(decode(encode(t))) differs", fam)
		}
		var b strings.Builder
		Save(&b, back, SaveOptions{})
		for _, want := range []string{"-A INPUT -g EMPTY", "-A FILTERS ! -i eth+ -p tcp -m tcp --dport 22\n", ":EMPTY - [0:0]"} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s: save lacks %q:\n%s", fam, want, b.String())
			}
		}
	}
}

// FuzzDecode: arbitrary bytes never panic the decoder, and whatever it
// accepts encodes back to exactly the same bytes. Mutations start from
// real kernel blobs and keep their table info, with the size adjusted,
// so most inputs get past the first checks.
func FuzzDecode(f *testing.F) {
	goldens := loadGolden(f)
	for i, g := range goldens {
		f.Add(uint8(i), uint32(g.info.NumEntries), g.blob)
	}
	f.Fuzz(func(t *testing.T, which uint8, entries uint32, blob []byte) {
		g := goldens[int(which)%len(goldens)]
		info := g.info
		info.Size = uint32(len(blob))
		info.NumEntries = entries
		tbl, err := Decode(g.fam, info, blob)
		if err != nil {
			return
		}
		enc, err := Encode(tbl)
		if err != nil {
			t.Fatalf("decoded but cannot encode: %v", err)
		}
		if !bytes.Equal(enc.Blob, blob) {
			t.Fatalf("decoded blob re-encodes differently at byte %d", firstDiff(enc.Blob, blob))
		}
		var b strings.Builder
		_ = Save(&b, tbl, SaveOptions{Counters: true}) // must not panic
	})
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// FuzzParseRule: the rule parser never panics, and what it accepts
// encodes and decodes.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{
		"-p tcp --dport 22 -j ACCEPT", "! -s 10.0.0.0/8 -i eth+ -j DROP", "-m conntrack --ctstate NEW -j LOG --log-prefix x",
		"-p udp -m multiport --dports 53,123 -j ACCEPT", "-s 1.2.3.4,5.6.7.8 -g X", "-m comment --comment \"a b\"",
	} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, rule string, v4 bool) {
		fam := IPv4
		if !v4 {
			fam = IPv6
		}
		p := &RuleParser{Family: fam, IsChain: func(n string) bool { return n == "X" }}
		rules, err := p.Parse(strings.Fields(rule))
		if err != nil {
			return
		}
		tbl := &Table{Family: fam, Name: "filter"}
		for _, h := range TableHooks("filter") {
			tbl.Chains = append(tbl.Chains, &Chain{Name: HookName(h), Hook: h, Policy: VerdictAccept})
		}
		tbl.Chains = append(tbl.Chains, &Chain{Name: "X", Hook: -1, Policy: VerdictReturn})
		tbl.Chains[0].Rules = rules
		enc, err := Encode(tbl)
		if err != nil {
			t.Fatalf("parsed %q but cannot encode: %v", rule, err)
		}
		if _, err := Decode(fam, enc.Info, enc.Blob); err != nil {
			t.Fatalf("parsed %q but own blob does not decode: %v", rule, err)
		}
	})
}

// TestUnknownExtensionKept: a match and a target hostwall does not know
// survive decode and encode byte for byte, and save marks them so the
// line can never be restored as something else.
func TestUnknownExtensionKept(t *testing.T) {
	var g *golden
	for _, x := range loadGolden(t) {
		if strings.HasPrefix(x.name, "basic.v4.") {
			g = &x
			break
		}
	}
	if g == nil {
		t.Fatal("golden basic.v4 missing")
	}
	tbl, err := Decode(g.fam, g.info, g.blob)
	if err != nil {
		t.Fatal(err)
	}
	r := tbl.Chain("INPUT").Rules[1] // -p tcp -m tcp --dport 22 -m comment ... -j ACCEPT
	r.Matches = append(r.Matches, Match{Name: "futurematch", Revision: 7, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}})
	r.Target = Target{Name: "FUTURE", Revision: 2, Data: make([]byte, 16)}
	r.Matches[0].Revision = 9 // tcp exists, revision 9 does not
	enc, err := Encode(tbl)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(g.fam, enc.Info, enc.Blob)
	if err != nil {
		t.Fatal(err)
	}
	enc2, _ := Encode(back)
	if !bytes.Equal(enc.Blob, enc2.Blob) {
		t.Error("unknown extensions did not survive a round trip")
	}
	var b strings.Builder
	Save(&b, back, SaveOptions{})
	for _, want := range []string{
		"-m tcp [unsupported revision]",
		"-m futurematch [hostwall: unknown match futurematch revision 7, payload 0102030405060708]",
		"-j FUTURE [hostwall: unknown target FUTURE revision 2, payload 00000000000000000000000000000000]",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("save lacks %q:\n%s", want, b.String())
		}
	}
}
