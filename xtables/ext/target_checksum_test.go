package ext

import "testing"

// Rows checked against iptables-legacy-restore/-save 1.8.9 and the kernel's
// payload bytes on Linux 6.18.
func TestChecksum(t *testing.T) {
	checkExt(t, Target, "CHECKSUM", 0, []extCase{
		{family: IPv4, proto: 17, in: "--checksum-fill", hex: "0100000000000000"},
		{family: IPv6, proto: 17, in: "--checksum-fill", hex: "0100000000000000"},
	})
	checkExtErrors(t, Target, "CHECKSUM", 0, IPv4, []string{"", "--checksum-fill --checksum-fill"})
	checkSaveOf(t, "CHECKSUM", 0, IPv4, "00000000 00000000", "")
}
