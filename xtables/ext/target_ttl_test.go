package ext

import "testing"

// Rows checked against iptables-legacy-restore/-save 1.8.9 and the kernel's
// payload bytes on Linux 6.18.
func TestTTLTarget(t *testing.T) {
	checkExt(t, Target, "TTL", 0, []extCase{
		{family: IPv4, in: "--ttl-set 64", hex: "0040000000000000"},
		{family: IPv4, in: "--ttl-set 0", hex: "0000000000000000"},
		{family: IPv4, in: "--ttl-dec 1", hex: "0201000000000000"},
		{family: IPv4, in: "--ttl-inc 255", hex: "01ff000000000000"},
	})
	checkExtErrors(t, Target, "TTL", 0, IPv4, []string{
		"", "--ttl-dec 0", "--ttl-inc 0", "--ttl-set 256", "--ttl-set 1 --ttl-dec 1", "--ttl-set 1 --ttl-set 2", "--hl-set 1",
	})
	checkSaveOf(t, "TTL", 0, IPv4, "0340000000000000", "")
}
