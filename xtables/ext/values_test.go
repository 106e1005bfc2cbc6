package ext

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// mustHex decodes a payload written as in extCase (spaces ignored).
func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// TestStrtoul is the number readers every option parser is built on:
// CStrtoul as C's strtoumax reads (the sign, base, overflow and the
// unread rest), and StrtoulRange (Strtoul when max is 0) as
// xtables_strtoul with an end pointer: no '-', no overflow, in range.
func TestStrtoul(t *testing.T) {
	for _, c := range []struct {
		in   string
		base int    // CStrtoul's base
		want string // value, rest, ok, overflow
	}{
		{"123", 0, `123 "" true false`},
		{"0x1fg", 0, `31 "g" true false`},
		{"0x", 0, `0 "x" true false`},
		{"0xg", 16, `0 "xg" true false`},
		{"017", 0, `15 "" true false`},
		{"08", 0, `0 "8" true false`},
		{"08", 10, `8 "" true false`},
		{" \t+5:", 0, `5 ":" true false`},
		{"-1", 0, `18446744073709551615 "" true false`},
		{"", 0, `0 "" false false`},
		{"x", 0, `0 "x" false false`},
		{"99999999999999999999999", 10, `18446744073709551615 "" true true`},
	} {
		v, rest, ok, over := CStrtoul(c.in, c.base)
		if got := fmt.Sprintf("%d %q %v %v", v, rest, ok, over); got != c.want {
			t.Errorf("CStrtoul(%q, %d) = %s, want %s", c.in, c.base, got, c.want)
		}
	}
	for _, c := range []struct {
		in   string
		max  uint64 // 0: Strtoul
		want string // value and rest, or "refused"
	}{
		{"12", 255, `12 ""`}, {"0x1f/3", 255, `31 "/3"`}, {"010", 255, `8 ""`}, {"0120", 0, `80 ""`},
		{"08", 255, `0 "8"`}, {"0x", 255, `0 "x"`}, {"0xg", 255, `0 "xg"`}, {"0x50-", 0, `80 "-"`},
		{"+7:", 255, `7 ":"`}, {" +7x", 0, `7 "x"`}, {"0", 255, `0 ""`},
		{"", 255, "refused"}, {"-1", 255, "refused"}, {"-1", 0, "refused"}, {"x", 255, "refused"},
		{"http", 0, "refused"}, {"256", 255, "refused"},
		{"99999999999999999999999", 255, "refused"}, {"99999999999999999999", 0, "refused"},
	} {
		v, rest, ok := StrtoulRange(c.in, 0, c.max)
		got := fmt.Sprintf("%d %q", v, rest)
		if !ok {
			got = "refused"
		}
		if got != c.want {
			t.Errorf("StrtoulRange(%q, 0, %d) = %s, want %s", c.in, c.max, got, c.want)
		}
	}
}

// TestFormatAddr: what glibc's inet_ntop prints, and so iptables-save.
func TestFormatAddr(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.3.4":              "1.2.3.4",
		"::1.2.3.4":            "::1.2.3.4", // glibc's IPv4-compatible form
		"::ffff:1.2.3.4":       "::ffff:1.2.3.4",
		"::ffff:0:1.2.3.4":     "::ffff:0:102:304",
		"::0.0.1.2":            "::102",
		"::1":                  "::1",
		"::":                   "::",
		"::5":                  "::5",
		"::1:0:0":              "::1:0:0",
		"::1:0:0:1":            "::1:0:0:1",
		"0:0:0:0:0:1:0:0":      "::1:0:0",
		"1:0:0:2:0:0:3:4":      "1::2:0:0:3:4",
		"1:0:0:1:0:0:0:1":      "1:0:0:1::1",
		"2001:db8::1":          "2001:db8::1",
		"2001:db8::1:0:0":      "2001:db8::1:0:0",
		"2001:db8:0:1::":       "2001:db8:0:1::",
		"2001:db8:0:1:1:1:1:1": "2001:db8:0:1:1:1:1:1",
	} {
		if got := FormatAddr(netip.MustParseAddr(in)); got != want {
			t.Errorf("FormatAddr(%s) = %s, want %s", in, got, want)
		}
	}
}
