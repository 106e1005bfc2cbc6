package ext

import "testing"

func TestTOSMatch(t *testing.T) {
	// Revision 1 rows from iptables-legacy 1.8.9 and the kernel.
	checkExt(t, Match, "tos", 1, []extCase{
		{in: "--tos 0x10", save: "--tos 0x10/0xff", hex: "ff10000000000000"},
		{in: "! --tos Minimize-Delay", save: "! --tos 0x10/0x3f", hex: "3f10010000000000"},
		{in: "--tos 0x08/0x0c", hex: "0c08000000000000"},
		{in: "--tos normal-service", save: "--tos 0x00/0x3f", hex: "3f00000000000000"},
		{in: "--tos 0xff/0xff", hex: "ffff000000000000"},
		{in: "--tos maximize-throughput", save: "--tos 0x08/0x3f", hex: "3f08000000000000"},
		{family: IPv6, in: "--tos 0x10", save: "--tos 0x10/0xff", hex: "ff10000000000000"},
	})
	checkExtErrors(t, Match, "tos", 1, IPv4, []string{
		"", "--tos 256", "--tos 0x10/0x100", "--tos 16abc", "--tos bogus", "--tos 1 --tos 2", "--tos 0x10/",
	})
	// Revision 0 (IPv4 only, gone from Linux): no mask but 0xff.
	checkExt(t, Match, "tos", 0, []extCase{
		{in: "! --tos 0x10", hex: "1001000000000000"},
		{in: "--tos Minimize-Cost", save: "--tos 0x02", hex: "0200000000000000"},
	})
	checkExtErrors(t, Match, "tos", 0, IPv4, []string{"", "--tos 0x10/0x3f"})
}
