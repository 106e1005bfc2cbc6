package ext

import "testing"

// Rows checked against iptables-legacy-restore/-save 1.8.9 and the kernel's
// payload bytes on Linux 6.18.
func TestHLTarget(t *testing.T) {
	checkExt(t, Target, "HL", 0, []extCase{
		{family: IPv6, in: "--hl-set 64", hex: "0040000000000000"},
		{family: IPv6, in: "--hl-dec 1", hex: "0201000000000000"},
		{family: IPv6, in: "--hl-inc 2", hex: "0102000000000000"},
	})
	checkExtErrors(t, Target, "HL", 0, IPv6, []string{"", "--hl-dec 0", "--hl-set 1 --hl-inc 1", "--hl-set 256", "--ttl-set 1"})
	checkSaveOf(t, "HL", 0, IPv6, "0340000000000000", "")
}
