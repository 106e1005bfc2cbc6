package ext

import (
	"encoding/hex"
	"strings"
	"testing"
)

// padHex right-pads a hex payload with zero bytes to n bytes, for the long
// mostly-empty payloads of LOG, NFLOG and CT.
func padHex(hex string, n int) string {
	hex = strings.ReplaceAll(hex, " ", "")
	return hex + strings.Repeat("00", n-len(hex)/2)
}

// checkSaveRefused requires Save to refuse each payload (hex, as in extCase).
func checkSaveRefused(t *testing.T, kind Kind, name string, rev uint8, fam Family, payloads ...string) {
	t.Helper()
	e := Lookup(kind, name, rev, fam)
	if e == nil {
		t.Fatalf("%s %s rev %d (%s) not registered", kind, name, rev, fam)
	}
	for _, p := range payloads {
		data, err := hex.DecodeString(strings.ReplaceAll(p, " ", ""))
		if err != nil {
			t.Fatalf("bad hex %q: %v", p, err)
		}
		if _, opts, err := SaveText(e, RuleInfo{Family: fam}, data); err == nil {
			t.Errorf("%s rev %d: payload %s saved as %q, want an error", name, rev, p, opts)
		}
	}
}

func hexString(b []byte) string { return hex.EncodeToString(b) }
