package ext

import "testing"

func TestTargetTCPOPTSTRIP(t *testing.T) {
	checkExt(t, Target, "TCPOPTSTRIP", 0, []extCase{
		{proto: 6, in: "--strip-options mss,wscale,200", hex: "0c000000 00000000 00000000 00000000 00000000 00000000 00010000 00000000", save: "--strip-options 2,3,200"},
		{proto: 6, in: "", hex: "0000000000000000000000000000000000000000000000000000000000000000"},
	})
	checkExtErrors(t, Target, "TCPOPTSTRIP", 0, IPv4, []string{
		"--strip-options 1", "--strip-options mss,2", "--strip-options 256", "--strip-options mss,", "--strip-options bogus",
		"--strip-options 2 --strip-options 3",
	})
}
