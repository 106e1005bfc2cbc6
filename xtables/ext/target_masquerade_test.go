package ext

import "testing"

// Rows checked against iptables-legacy-restore/-save 1.8.9 and the kernel's
// payload bytes on Linux 6.18.
func TestMasquerade(t *testing.T) {
	checkExt(t, Target, "MASQUERADE", 0, []extCase{
		{family: IPv4, in: "", hex: "0100000000000000 0000000000000000 0000000000000000"},
		{family: IPv4, in: "--random-fully", hex: "0100000010000000 0000000000000000 0000000000000000"},
		{family: IPv4, proto: 6, in: "--to-ports 1024-65535 --random", hex: "0100000006000000 0000000000000000 0400ffff00000000"},
		{family: IPv4, proto: 17, in: "--to-ports 5000", hex: "0100000002000000 0000000000000000 1388138800000000"},
		{family: IPv4, proto: 6, in: "--to-ports 1000-2000/1500", hex: "0100000022000000 0000000000000000 03e807d000000000", save: "--to-ports 1000-2000/0"},
		{family: IPv4, proto: 132, in: "--to-ports domain", hex: "0100000002000000 0000000000000000 0035003500000000", save: "--to-ports 53"},
		{family: IPv6, in: "", hex: "0000000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000000000"},
		{family: IPv6, proto: 6, in: "--to-ports 1000-2000 --random --random-fully", hex: "1600000000000000 0000000000000000 0000000000000000 0000000000000000 0000000003e807d0"},
		{family: IPv6, proto: 17, in: "--to-ports 53", hex: "0200000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000350035"},
	})
	checkProtoErrors(t, "MASQUERADE", 0, IPv4, 6, []string{
		"--to-ports :1000", "--to-ports 80:90", "--to-ports 90-80", "--to-ports 70000", "--to-ports 80x",
		"--random --random", "--to-source 1.2.3.4", "--persistent",
	})
	checkProtoErrors(t, "MASQUERADE", 0, IPv4, 0, []string{"--to-ports 80"})
	checkProtoErrors(t, "MASQUERADE", 0, IPv6, 0, []string{"--to-ports 80"})
	// A second range or a flag iptables does not know cannot be printed.
	checkSaveOf(t, "MASQUERADE", 0, IPv4, "02000000 00000000 00000000 00000000 00000000 00000000", "")
	checkSaveOf(t, "MASQUERADE", 0, IPv4, "01000000 40000000 00000000 00000000 00000000 00000000", "")
}
