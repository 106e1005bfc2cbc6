package ext

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// tokenCase is a table row of the proto group's tests. Unlike extCase it
// takes the option tokens as the rule parser hands them over (already
// unquoted), since patterns and u32 expressions hold spaces. save is the
// exact Save output, leading space included.
type tokenCase struct {
	fam   Family
	proto uint16
	args  []string
	hex   string // payload; "zN" stands for N zero bytes, spaces ignored
	save  string
}

type badTokens struct {
	fam  Family
	args []string
}

// zHex decodes the compressed hex of tokenCase.
func zHex(s string) ([]byte, error) {
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

func checkTokens(t *testing.T, kind Kind, name string, rev uint8, cases []tokenCase) {
	t.Helper()
	for _, c := range cases {
		e := Lookup(kind, name, rev, c.fam)
		if e == nil {
			t.Fatalf("%s %s rev %d (%s) not registered", kind, name, rev, c.fam)
		}
		r := RuleInfo{Family: c.fam, Proto: c.proto}
		want, err := zHex(c.hex)
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

func checkTokenErrors(t *testing.T, kind Kind, name string, rev uint8, bad []badTokens) {
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

// checkPaddedSaveErrors requires Save to refuse each payload.
func checkPaddedSaveErrors(t *testing.T, kind Kind, name string, rev uint8, fam Family, payloads []string) {
	t.Helper()
	e := Lookup(kind, name, rev, fam)
	if e == nil {
		t.Fatalf("%s %s rev %d (%s) not registered", kind, name, rev, fam)
	}
	for _, p := range payloads {
		data, err := zHex(p)
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

func TestParseUintRange(t *testing.T) {
	for in, want := range map[string]string{
		"5": "5 5 true", "5:": "5 65535 false", ":7": "0 7 false", "1:2": "1 2 false",
		":": "0 65535 false", "0x10:020": "16 16 false",
		"":      "0 0 true", // xtopt_parse_mint reads an empty argument as 0
		"1:2:3": "error", "a": "error", "1x": "error", "65536": "error", "-1": "error",
	} {
		lo, hi, single, err := parseUintRange(in, 0xffff)
		got := fmt.Sprint(lo, hi, single)
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("parseUintRange(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestMatchStringRev0 covers revision 0, which the kernel no longer
// offers: only its invert byte differs, and it has no --icase.
func TestMatchStringRev0(t *testing.T) {
	checkTokens(t, Match, "string", 0, []tokenCase{
		{IPv4, 0, []string{"!", "--string", "abc", "--algo", "bm", "--to", "9"}, "0000 0900 626d z14 616263 z125 0301 z10", ` ! --string "abc" --algo bm --to 9`},
	})
	checkTokenErrors(t, Match, "string", 0, []badTokens{{IPv4, []string{"--string", "a", "--algo", "bm", "--icase"}}})
	// Revision 0 prints no --icase even when the byte has the bit.
	e := Lookup(Match, "string", 0, IPv4)
	data, _ := zHex("0000 ffff 626d z14 61 z127 0102 z10")
	if _, opts, err := SaveText(e, RuleInfo{}, data); err != nil || opts != ` ! --string "a" --algo bm` {
		t.Errorf("rev 0 save = %q, %v", opts, err)
	}
}

func TestProtoSaveErrors(t *testing.T) {
	checkPaddedSaveErrors(t, Match, "string", 1, IPv4, []string{
		"0000ffff 626d z14 z128 81",                   // patlen beyond the pattern
		"0000ffff 6161616161616161616161616161616161", // algo without NUL
	})
	checkPaddedSaveErrors(t, Match, "u32", 0, IPv4, []string{
		"z1980 0c",                          // 12 tests
		"z176 0c01 z1802 01",                // 12 numbers
		"z8 01000000 07 z163 0201 z1802 01", // operator 7
	})
	checkPaddedSaveErrors(t, Match, "rpfilter", 0, IPv4, []string{"10"})
	checkPaddedSaveErrors(t, Match, "helper", 0, IPv4, []string{"00000000 616161616161616161616161616161616161616161616161616161616161"})
	checkPaddedSaveErrors(t, Match, "policy", 0, IPv4, []string{
		"z304 0100 0500",           // 5 elements
		"z73 02 08 z229 0100 0100", // mode 2
	})
	checkPaddedSaveErrors(t, Match, "esp", 0, IPv4, []string{"00000000ffffffff02"})
	checkPaddedSaveErrors(t, Match, "ah", 0, IPv4, []string{"00000000ffffffff02"})
	checkPaddedSaveErrors(t, Match, "ah", 0, IPv6, []string{"00000000ffffffff 00000000 0004"})
	checkPaddedSaveErrors(t, Match, "frag", 0, IPv6, []string{"00000000ffffffff 00000000 0004"})
	checkPaddedSaveErrors(t, Match, "rt", 0, IPv6, []string{"z17 08", "z276 11"})
	checkPaddedSaveErrors(t, Match, "hbh", 0, IPv6, []string{"z5 02", "z38 11"})
	checkPaddedSaveErrors(t, Match, "dst", 0, IPv6, []string{"z5 02"})
	checkPaddedSaveErrors(t, Match, "mh", 0, IPv6, []string{"00ff02"})
}
