package ext

import (
	"encoding/hex"
	"strings"
	"testing"
)

// checkProtoErrors is checkExtErrors for targets whose options depend on
// the rule's -p (NAT ports, TPROXY): each option list must be refused.
func checkProtoErrors(t *testing.T, name string, rev uint8, fam Family, proto uint16, bad []string) {
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

// checkSaveOf saves a payload that Parse never builds (as another tool
// might have left it in the kernel); want "" means Save must refuse it.
func checkSaveOf(t *testing.T, name string, rev uint8, fam Family, hexData, want string) {
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
