package ext

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// recentHex builds an xt_recent_mtinfo(_v1) payload: name is the raw
// content of the 200-byte name field (zero padded), mask "" for rev 0.
func recentHex(seconds, hits uint32, checkSet, invert uint8, name string, side uint8, mask string) string {
	var b strings.Builder
	le := func(v uint32) string { x := make([]byte, 4); NE.PutUint32(x, v); return hex.EncodeToString(x) }
	b.WriteString(le(seconds) + le(hits))
	fmt.Fprintf(&b, "%02x%02x", checkSet, invert)
	n := []byte(name)
	b.WriteString(hex.EncodeToString(n) + zeroHex(200-len(n)))
	fmt.Fprintf(&b, "%02x", side)
	b.WriteString("00") // padding to 212
	if mask == "" {
		return b.String() + zeroHex(4)
	}
	return b.String() + mask + zeroHex(4)
}

func TestRecent(t *testing.T) {
	ones := strings.Repeat("ff", 16)
	// Verified against iptables-legacy 1.8.9 (kernel payload and save).
	checkExt(t, Match, "recent", 1, []extCase{
		{in: "--set", hex: recentHex(0, 0, 2, 0, "DEFAULT", 0, ones),
			save: "--set --name DEFAULT --mask 255.255.255.255 --rsource"},
		{in: "! --rcheck --seconds 60 --hitcount 4 --rttl --name ssh_list --rdest",
			hex:  recentHex(60, 4, 0x11, 1, "ssh_list", 1, ones),
			save: "! --rcheck --seconds 60 --hitcount 4 --rttl --name ssh_list --mask 255.255.255.255 --rdest"},
		{in: "--update --seconds 30 --reap --name x --mask 255.255.255.0 --rsource",
			hex: recentHex(30, 0, 0x24, 0, "x\x00FAULT", 0, "ffffff00"+zeroHex(12))},
		{in: "--remove --rdest --rsource", hex: recentHex(0, 0, 8, 0, "DEFAULT", 0, ones),
			save: "--remove --name DEFAULT --mask 255.255.255.255 --rsource"},
		{family: IPv6, in: "--set", hex: recentHex(0, 0, 2, 0, "DEFAULT", 0, ones),
			save: "--set --name DEFAULT --mask ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff --rsource"},
		{family: IPv6, in: "--rcheck --mask ffff:ffff:ffff:ffff:: --name v6",
			hex:  recentHex(0, 0, 1, 0, "v6\x00AULT", 0, strings.Repeat("ff", 8)+zeroHex(8)),
			save: "--rcheck --name v6 --mask ffff:ffff:ffff:ffff:: --rsource"},
		// Counters print as signed numbers (%d).
		{in: "--rcheck --hitcount 4294967295", hex: recentHex(0, 0xffffffff, 1, 0, "DEFAULT", 0, ones),
			save: "--rcheck --hitcount -1 --name DEFAULT --mask 255.255.255.255 --rsource"},
	})
	checkExt(t, Match, "recent", 0, []extCase{
		{in: "--update --name " + strings.Repeat("n", 250), hex: recentHex(0, 0, 4, 0, strings.Repeat("n", 199), 0, ""),
			save: "--update --name " + strings.Repeat("n", 199) + " --rsource"},
		{in: "! --set --rdest", hex: recentHex(0, 0, 2, 1, "DEFAULT", 1, ""), save: "! --set --name DEFAULT --rdest"},
	})
	checkExtErrors(t, Match, "recent", 1, IPv4, []string{
		"", "--name x", "--set --update", "--set --set", "--set --rttl", "--remove --rttl",
		"--rcheck --reap", "--rcheck --seconds 0", "--rcheck --seconds x", "--rcheck --hitcount -1",
		"--rcheck --mask 255.255.255.0/24", "--rcheck --mask ::", "! --rcheck --name",
		"--rcheck ! --rdest",
	})
	checkExtErrors(t, Match, "recent", 0, IPv4, []string{"--set --mask 255.0.0.0"})
}

func TestRecentSaveRejects(t *testing.T) {
	e := Lookup(Match, "recent", 1, IPv4)
	for _, mut := range []func(d []byte){
		func(d []byte) { d[8] = 0x40 }, // unknown check_set bit
		func(d []byte) { d[210] = 2 },  // unknown side
	} {
		d := make([]byte, e.PayloadSize())
		d[8] = recentSet
		mut(d)
		if _, opts, err := SaveText(e, RuleInfo{Family: IPv4}, d); err == nil {
			t.Errorf("saved %q, want an error", opts)
		}
	}
}
