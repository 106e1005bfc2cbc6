package ext

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
)

// t2CheckErrors is checkExtErrors for targets whose options depend on
// the rule's -p (NAT ports, TPROXY): each option list must be refused.
func t2CheckErrors(t *testing.T, name string, rev uint8, fam Family, proto uint16, bad []string) {
	t.Helper()
	e := Lookup(Target, name, rev, fam)
	if e == nil {
		t.Fatalf("target %s rev %d (%s) not registered", name, rev, fam)
	}
	for _, in := range bad {
		if data, err := ParseOptions(e, RuleInfo{Family: fam, Proto: proto}, strings.Fields(in)); err == nil {
			t.Errorf("%s %q (proto %d): parsed to %x, want an error", name, in, proto, data)
		}
	}
}

// t2CheckSave saves a payload that Parse never builds (as another tool
// might have left it in the kernel); want "" means Save must refuse it.
func t2CheckSave(t *testing.T, name string, rev uint8, fam Family, hexData, want string) {
	t.Helper()
	e := Lookup(Target, name, rev, fam)
	if e == nil {
		t.Fatalf("target %s rev %d (%s) not registered", name, rev, fam)
	}
	data, err := hex.DecodeString(strings.ReplaceAll(hexData, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q", hexData)
	}
	_, opts, err := SaveText(e, RuleInfo{Family: fam}, data)
	switch {
	case want == "" && err == nil:
		t.Errorf("%s %s: saved as %q, want an error", name, hexData, opts)
	case want != "" && err != nil:
		t.Errorf("%s %s: %v", name, hexData, err)
	case want != "" && strings.TrimPrefix(opts, " ") != want:
		t.Errorf("%s %s: save\n got %q\nwant %q", name, hexData, opts, want)
	}
}

func TestT2Strtoul(t *testing.T) {
	for _, c := range []struct {
		in   string
		v    uint64
		rest string
		ok   bool
	}{
		{"80", 80, "", true},
		{"0x50-", 80, "-", true},
		{"0120", 80, "", true},
		{"08", 0, "8", true}, // octal stops at 8, as strtoul does
		{" +7x", 7, "x", true},
		{"0x", 0, "x", true},
		{"-1", 0, "-1", false},
		{"http", 0, "http", false},
		{"", 0, "", false},
		{"99999999999999999999", 0, "", false},
	} {
		v, rest, ok := Strtoul(c.in)
		if ok != c.ok || (ok && (v != c.v || rest != c.rest)) {
			t.Errorf("Strtoul(%q) = %d, %q, %v; want %d, %q, %v", c.in, v, rest, ok, c.v, c.rest, c.ok)
		}
	}
}

func TestT2FormatAddr(t *testing.T) {
	for in, want := range map[string]string{
		"1.2.3.4":        "1.2.3.4",
		"::":             "::",
		"::1":            "::1",
		"::1.2.3.4":      "::1.2.3.4", // glibc's IPv4-compatible form
		"::0.0.1.2":      "::102",
		"::ffff:1.2.3.4": "::ffff:1.2.3.4",
		"2001:db8::1":    "2001:db8::1",
		"2001:db8:0:1::": "2001:db8:0:1::",
	} {
		if got := FormatAddr(netip.MustParseAddr(in)); got != want {
			t.Errorf("FormatAddr(%s) = %s, want %s", in, got, want)
		}
	}
}
