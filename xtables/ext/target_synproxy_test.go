package ext

import "testing"

// Rows checked against iptables-legacy-restore/-save 1.8.9 and the kernel's
// payload bytes on Linux 6.18.
func TestSYNPROXY(t *testing.T) {
	checkExt(t, Target, "SYNPROXY", 0, []extCase{
		{family: IPv4, proto: 6, in: "--sack-perm --timestamp --wscale 7 --mss 1460", hex: "0f07b40500000000"},
		{family: IPv4, proto: 6, in: "--ecn --mss 0x5b4", hex: "1100b40500000000", save: "--mss 1460 --ecn"},
		{family: IPv4, proto: 6, in: "", hex: "0000000000000000"},
		{family: IPv6, proto: 6, in: "--timestamp --sack-perm --wscale 14 --mss 1440 --ecn", hex: "1f0ea00500000000", save: "--sack-perm --timestamp --wscale 14 --mss 1440 --ecn"},
	})
	// iptables stores --wscale 300 as 44 and --mss 65537 as 1; hostwall
	// refuses values the fields cannot hold.
	checkProtoErrors(t, "SYNPROXY", 0, IPv4, 6, []string{"--wscale 256", "--mss 65536", "--ecn --ecn", "--wscale x", "--mss"})
	checkSaveOf(t, "SYNPROXY", 0, IPv4, "20000000 00000000", "")
}
