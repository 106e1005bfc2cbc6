package ext

import "testing"

func TestHLMatch(t *testing.T) {
	// Rows from ip6tables-legacy 1.8.9 and the kernel.
	checkExt(t, Match, "hl", 0, []extCase{
		{family: IPv6, in: "--hl-eq 64", hex: "0040000000000000"},
		{family: IPv6, in: "! --hl-eq 1", hex: "0101000000000000"},
		{family: IPv6, in: "--hl-lt 2", hex: "0202000000000000"},
		{family: IPv6, in: "--hl-gt 254", hex: "03fe000000000000"},
		{family: IPv6, in: "--hl 5", save: "--hl-eq 5", hex: "0005000000000000"},
	})
	checkExtErrors(t, Match, "hl", 0, IPv6, []string{"", "--hl-eq 1 --hl-gt 2", "! --hl-gt 3", "--hl 1 --hl-eq 1", "--hl-lt 300"})
	if Lookup(Match, "hl", 0, IPv4) != nil {
		t.Error("hl must be IPv6 only")
	}
	e := Lookup(Match, "hl", 0, IPv6)
	if _, _, err := SaveText(e, RuleInfo{Family: IPv6}, []byte{4, 1, 0, 0, 0, 0, 0, 0}); err == nil {
		t.Error("unknown hl mode saved without error")
	}
}
