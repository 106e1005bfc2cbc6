package ext

import "testing"

// Rows checked against iptables-legacy-restore/-save 1.8.9 and the kernel's
// payload bytes on Linux 6.18.
func TestDSCPTarget(t *testing.T) {
	checkExt(t, Target, "DSCP", 0, []extCase{
		{family: IPv4, in: "--set-dscp 10", hex: "0a00000000000000", save: "--set-dscp 0x0a"},
		{family: IPv4, in: "--set-dscp 0x3f", hex: "3f00000000000000"},
		{family: IPv4, in: "--set-dscp-class af11", hex: "0a00000000000000", save: "--set-dscp 0x0a"},
		{family: IPv4, in: "--set-dscp-class CS10", hex: "0800000000000000", save: "--set-dscp 0x08"},
		{family: IPv4, in: "--set-dscp-class BE", hex: "0000000000000000", save: "--set-dscp 0x00"},
		{family: IPv6, in: "--set-dscp-class EF", hex: "2e00000000000000", save: "--set-dscp 0x2e"},
	})
	checkExtErrors(t, Target, "DSCP", 0, IPv4, []string{
		"", "--set-dscp 64", "--set-dscp 1 --set-dscp-class EF", "--set-dscp-class XX", "--set-dscp-class AF1", "--set-dscp -1",
	})
	checkSaveOf(t, "DSCP", 0, IPv4, "40000000 00000000", "")
}
