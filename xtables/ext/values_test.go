package ext

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
)

// basicMustHex decodes a payload written as in extCase (spaces ignored).
func basicMustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func TestBasicStrtoul(t *testing.T) {
	for _, c := range []struct {
		in   string
		v    uint64
		rest string
		ok   bool
	}{
		{"12", 12, "", true}, {"0x1f/3", 31, "/3", true}, {"010", 8, "", true}, {"08", 0, "8", true},
		{"0x", 0, "x", true}, {"0xg", 0, "xg", true}, {"+7:", 7, ":", true}, {"0", 0, "", true},
		{"", 0, "", false}, {"-1", 0, "", false}, {"x", 0, "", false}, {"256", 0, "", false},
		{"99999999999999999999999", 0, "", false},
	} {
		v, rest, ok := StrtoulRange(c.in, 0, 255)
		if ok != c.ok || (ok && (v != c.v || rest != c.rest)) {
			t.Errorf("basicStrtoul(%q) = %d, %q, %v; want %d, %q, %v", c.in, v, rest, ok, c.v, c.rest, c.ok)
		}
	}
}

func TestBasicNtop(t *testing.T) {
	// What glibc's inet_ntop prints, and so ip6tables-legacy-save.
	for in, want := range map[string]string{
		"::1.2.3.4":            "::1.2.3.4",
		"::ffff:1.2.3.4":       "::ffff:1.2.3.4",
		"::1":                  "::1",
		"::":                   "::",
		"::5":                  "::5",
		"::1:0:0":              "::1:0:0",
		"1:0:0:1:0:0:0:1":      "1:0:0:1::1",
		"2001:db8::1:0:0":      "2001:db8::1:0:0",
		"2001:db8:0:1:1:1:1:1": "2001:db8:0:1:1:1:1:1",
	} {
		if got := FormatAddr(netip.MustParseAddr(in)); got != want {
			t.Errorf("FormatAddr(%s) = %s, want %s", in, got, want)
		}
	}
}
