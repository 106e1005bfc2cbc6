package ext

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// pgCase is a table row of the proto group's tests. Unlike extCase it
// takes the option tokens as the rule parser hands them over (already
// unquoted), since patterns and u32 expressions hold spaces. save is the
// exact Save output, leading space included.
type pgCase struct {
	fam   Family
	proto uint16
	args  []string
	hex   string // payload; "zN" stands for N zero bytes, spaces ignored
	save  string
}

type pgBad struct {
	fam  Family
	args []string
}

// pgHex decodes the compressed hex of pgCase.
func pgHex(s string) ([]byte, error) {
	var out []byte
	for _, f := range strings.Fields(s) {
		if strings.HasPrefix(f, "z") {
			n, err := strconv.Atoi(f[1:])
			if err != nil {
				return nil, err
			}
			out = append(out, make([]byte, n)...)
			continue
		}
		b, err := hex.DecodeString(f)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

func pgCheck(t *testing.T, kind Kind, name string, rev uint8, cases []pgCase) {
	t.Helper()
	for _, c := range cases {
		e := Lookup(kind, name, rev, c.fam)
		if e == nil {
			t.Fatalf("%s %s rev %d (%s) not registered", kind, name, rev, c.fam)
		}
		r := RuleInfo{Family: c.fam, Proto: c.proto}
		want, err := pgHex(c.hex)
		if err != nil {
			t.Fatalf("bad hex in test %q: %v", c.args, err)
		}
		data, err := ParseOptions(e, r, c.args)
		if err != nil {
			t.Errorf("%s %s %q: parse: %v", name, c.fam, c.args, err)
		} else if string(data) != string(want) {
			t.Errorf("%s %s %q: payload\n got %x\nwant %x", name, c.fam, c.args, data, want)
		}
		_, opts, err := SaveText(e, r, want)
		if err != nil {
			t.Errorf("%s %s %q: save: %v", name, c.fam, c.args, err)
		} else if opts != c.save {
			t.Errorf("%s %s %q: save\n got %q\nwant %q", name, c.fam, c.args, opts, c.save)
		}
	}
}

func pgCheckErrors(t *testing.T, kind Kind, name string, rev uint8, bad []pgBad) {
	t.Helper()
	for _, c := range bad {
		e := Lookup(kind, name, rev, c.fam)
		if e == nil {
			t.Fatalf("%s %s rev %d (%s) not registered", kind, name, rev, c.fam)
		}
		if data, err := ParseOptions(e, RuleInfo{Family: c.fam}, c.args); err == nil {
			t.Errorf("%s %s %q: parsed as %x, want an error", name, c.fam, c.args, data)
		}
	}
}

// pgCheckSaveErrors requires Save to refuse each payload.
func pgCheckSaveErrors(t *testing.T, kind Kind, name string, rev uint8, fam Family, payloads []string) {
	t.Helper()
	e := Lookup(kind, name, rev, fam)
	if e == nil {
		t.Fatalf("%s %s rev %d (%s) not registered", kind, name, rev, fam)
	}
	for _, p := range payloads {
		data, err := pgHex(p)
		if err != nil {
			t.Fatalf("bad hex %q: %v", p, err)
		}
		if len(data) > e.PayloadSize() {
			t.Fatalf("%s: test payload %s is %d bytes, more than %d", name, p, len(data), e.PayloadSize())
		}
		if len(data) < e.PayloadSize() {
			data = append(data, make([]byte, e.PayloadSize()-len(data))...)
		}
		if _, opts, err := SaveText(e, RuleInfo{Family: fam}, data); err == nil {
			t.Errorf("%s %s: payload %s saved as %q, want an error", name, fam, p, opts)
		}
	}
}

func TestPgStrtoul(t *testing.T) {
	for _, c := range []struct {
		in   string
		base int
		v    uint64
		rest string
		ok   bool
		over bool
	}{
		{"123", 0, 123, "", true, false},
		{"0x1fg", 0, 31, "g", true, false},
		{"0x", 0, 0, "x", true, false},
		{"0xg", 16, 0, "xg", true, false},
		{"017", 0, 15, "", true, false},
		{"08", 0, 0, "8", true, false},
		{"08", 10, 8, "", true, false},
		{" \t+5:", 0, 5, ":", true, false},
		{"-1", 0, 1<<64 - 1, "", true, false},
		{"", 0, 0, "", false, false},
		{"x", 0, 0, "x", false, false},
		{"99999999999999999999999", 10, 1<<64 - 1, "", true, true},
	} {
		v, rest, ok, over := CStrtoul(c.in, c.base)
		if v != c.v || rest != c.rest || ok != c.ok || over != c.over {
			t.Errorf("CStrtoul(%q, %d) = %d, %q, %v, %v; want %d, %q, %v, %v", c.in, c.base, v, rest, ok, over, c.v, c.rest, c.ok, c.over)
		}
	}
}

func TestPgRange(t *testing.T) {
	for in, want := range map[string]string{
		"5": "5 5 true", "5:": "5 65535 false", ":7": "0 7 false", "1:2": "1 2 false",
		":": "0 65535 false", "0x10:020": "16 16 false",
		"":      "0 0 true", // xtopt_parse_mint reads an empty argument as 0
		"1:2:3": "error", "a": "error", "1x": "error", "65536": "error", "-1": "error",
	} {
		lo, hi, single, err := pgRange(in, 0xffff)
		got := fmt.Sprint(lo, hi, single)
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("pgRange(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestFormatAddrIPv6(t *testing.T) {
	for in, want := range map[string]string{
		"::1": "::1", "::": "::", "::1.2.3.4": "::1.2.3.4", "::ffff:1.2.3.4": "::ffff:1.2.3.4",
		"::0.0.1.2": "::102", "2001:db8::1": "2001:db8::1", "1:0:0:2:0:0:3:4": "1::2:0:0:3:4",
		"::ffff:0:1.2.3.4": "::ffff:0:102:304", "0:0:0:0:0:1:0:0": "::1:0:0", "::1:0:0:1": "::1:0:0:1",
	} {
		a, err := parseHostBytes(in, IPv6)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := FormatAddr(netip.AddrFrom16(a)); got != want {
			t.Errorf("FormatAddr(netip.AddrFrom16(%s)) = %s, want %s", in, got, want)
		}
	}
}

// TestMatchStringRev0 covers revision 0, which the kernel no longer
// offers: only its invert byte differs, and it has no --icase.
func TestMatchStringRev0(t *testing.T) {
	pgCheck(t, Match, "string", 0, []pgCase{
		{IPv4, 0, []string{"!", "--string", "abc", "--algo", "bm", "--to", "9"}, "0000 0900 626d z14 616263 z125 0301 z10", ` ! --string "abc" --algo bm --to 9`},
	})
	pgCheckErrors(t, Match, "string", 0, []pgBad{{IPv4, []string{"--string", "a", "--algo", "bm", "--icase"}}})
	// Revision 0 prints no --icase even when the byte has the bit.
	e := Lookup(Match, "string", 0, IPv4)
	data, _ := pgHex("0000 ffff 626d z14 61 z127 0102 z10")
	if _, opts, err := SaveText(e, RuleInfo{}, data); err != nil || opts != ` ! --string "a" --algo bm` {
		t.Errorf("rev 0 save = %q, %v", opts, err)
	}
}

func TestProtoSaveErrors(t *testing.T) {
	pgCheckSaveErrors(t, Match, "string", 1, IPv4, []string{
		"0000ffff 626d z14 z128 81",                   // patlen beyond the pattern
		"0000ffff 6161616161616161616161616161616161", // algo without NUL
	})
	pgCheckSaveErrors(t, Match, "u32", 0, IPv4, []string{
		"z1980 0c",                          // 12 tests
		"z176 0c01 z1802 01",                // 12 numbers
		"z8 01000000 07 z163 0201 z1802 01", // operator 7
	})
	pgCheckSaveErrors(t, Match, "rpfilter", 0, IPv4, []string{"10"})
	pgCheckSaveErrors(t, Match, "helper", 0, IPv4, []string{"00000000 616161616161616161616161616161616161616161616161616161616161"})
	pgCheckSaveErrors(t, Match, "policy", 0, IPv4, []string{
		"z304 0100 0500",           // 5 elements
		"z73 02 08 z229 0100 0100", // mode 2
	})
	pgCheckSaveErrors(t, Match, "esp", 0, IPv4, []string{"00000000ffffffff02"})
	pgCheckSaveErrors(t, Match, "ah", 0, IPv4, []string{"00000000ffffffff02"})
	pgCheckSaveErrors(t, Match, "ah", 0, IPv6, []string{"00000000ffffffff 00000000 0004"})
	pgCheckSaveErrors(t, Match, "frag", 0, IPv6, []string{"00000000ffffffff 00000000 0004"})
	pgCheckSaveErrors(t, Match, "rt", 0, IPv6, []string{"z17 08", "z276 11"})
	pgCheckSaveErrors(t, Match, "hbh", 0, IPv6, []string{"z5 02", "z38 11"})
	pgCheckSaveErrors(t, Match, "dst", 0, IPv6, []string{"z5 02"})
	pgCheckSaveErrors(t, Match, "mh", 0, IPv6, []string{"00ff02"})
}
