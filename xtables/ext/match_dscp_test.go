package ext

import "testing"

func TestDSCPMatch(t *testing.T) {
	// Rows from iptables-legacy 1.8.9 and the kernel.
	checkExt(t, Match, "dscp", 0, []extCase{
		{in: "--dscp 10", save: "--dscp 0x0a", hex: "0a00000000000000"},
		{in: "! --dscp-class EF", save: "! --dscp 0x2e", hex: "2e01000000000000"},
		{in: "--dscp-class af41", save: "--dscp 0x22", hex: "2200000000000000"},
		{in: "--dscp-class CS1xyz", save: "--dscp 0x08", hex: "0800000000000000"},
		{in: "--dscp-class be", save: "--dscp 0x00", hex: "0000000000000000"},
		{family: IPv6, in: "--dscp 0x2e", hex: "2e00000000000000"},
	})
	for _, fam := range []Family{IPv4, IPv6} {
		checkExtErrors(t, Match, "dscp", 0, fam, []string{
			"", "--dscp 64", "--dscp 1 --dscp-class EF", "--dscp-class AF1", "--dscp 1 --dscp 2", "--dscp-class EF --dscp-class EF",
		})
	}
}
