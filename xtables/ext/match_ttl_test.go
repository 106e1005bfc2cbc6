package ext

import "testing"

func TestTTLMatch(t *testing.T) {
	// Rows from iptables-legacy 1.8.9 and the kernel.
	checkExt(t, Match, "ttl", 0, []extCase{
		{in: "--ttl-eq 64", hex: "0040000000000000"},
		{in: "! --ttl-eq 1", hex: "0101000000000000"},
		{in: "--ttl-lt 5", hex: "0205000000000000"},
		{in: "--ttl-gt 250", hex: "03fa000000000000"},
		{in: "--ttl 3", save: "--ttl-eq 3", hex: "0003000000000000"},
	})
	checkExtErrors(t, Match, "ttl", 0, IPv4, []string{
		"", "--ttl-eq 1 --ttl-lt 5", "! --ttl-lt 5", "--ttl 3 --ttl-eq 4", "--ttl-eq 256", "! --ttl 3", "--ttl-gt 1 --ttl-gt 2",
	})
	if Lookup(Match, "ttl", 0, IPv6) != nil {
		t.Error("ttl must be IPv4 only")
	}
}
