package ext

import "testing"

// Rows checked against iptables-legacy-restore/-save 1.8.9 and the kernel's
// payload bytes on Linux 6.18.
func TestRedirect(t *testing.T) {
	checkExt(t, Target, "REDIRECT", 0, []extCase{
		{family: IPv4, proto: 6, in: "--to-ports 8080", hex: "0100000002000000 0000000000000000 1f901f9000000000"},
		{family: IPv4, proto: 17, in: "--to-ports 5300-5310 --random", hex: "0100000006000000 0000000000000000 14b414be00000000"},
		{family: IPv4, in: "", hex: "0100000000000000 0000000000000000 0000000000000000"},
		{family: IPv6, proto: 6, in: "--to-ports 8080", hex: "0200000000000000 0000000000000000 0000000000000000 0000000000000000 000000001f901f90"},
		{family: IPv6, in: "--random", hex: "0400000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000000000"},
	})
	checkProtoErrors(t, "REDIRECT", 0, IPv4, 6, []string{"--to-ports 80-90/85", "--random-fully", "--to-destination 1.2.3.4"})
	checkProtoErrors(t, "REDIRECT", 0, IPv6, 6, []string{"--to-ports 80-90/85"})
	checkProtoErrors(t, "REDIRECT", 0, IPv4, 0, []string{"--to-ports 80"})
}
