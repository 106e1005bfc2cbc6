package ext

import "testing"

// Rows checked against iptables-legacy-restore/-save 1.8.9 and the kernel's
// payload bytes on Linux 6.18.
func TestSNAT(t *testing.T) {
	checkExt(t, Target, "SNAT", 0, []extCase{
		{family: IPv4, in: "--to-source 192.0.2.1", hex: "0100000001000000 c0000201c0000201 0000000000000000"},
		{family: IPv4, proto: 6, in: "--to-source 192.0.2.1-192.0.2.9:1024-2048 --random --random-fully --persistent", hex: "010000001f000000 c0000201c0000209 0400080000000000"},
		{family: IPv4, proto: 6, in: "--to-source 192.0.2.1:1000-2000/1500", hex: "0100000023000000 c0000201c0000201 03e807d000000000", save: "--to-source 192.0.2.1:1000-2000/0"},
		{family: IPv4, proto: 17, in: "--to-source :1000", hex: "0100000002000000 0000000000000000 03e803e800000000"},
	})
	checkExt(t, Target, "SNAT", 1, []extCase{
		{family: IPv6, in: "--to-source 2001:db8::1", hex: "0100000020010db8 0000000000000000 0000000120010db8 0000000000000000 0000000100000000"},
		{family: IPv6, proto: 6, in: "--to-source [2001:db8::1-2001:db8::2]:1000 --random-fully", hex: "1300000020010db8 0000000000000000 0000000120010db8 0000000000000000 0000000203e803e8"},
		{family: IPv6, proto: 6, in: "--to-source [2001:db8::1]:1000-2000/1500 --persistent", hex: "2b00000020010db8 0000000000000000 0000000120010db8 0000000000000000 0000000103e807d0", save: "--to-source [2001:db8::1]:1000-2000/0 --persistent"},
	})
	checkProtoErrors(t, "SNAT", 0, IPv4, 6, []string{
		"", "--random", "--to-source 1.2.3.4 --to-source 1.2.3.5", "--to-source 1.2.3.4:0-http", "--to-destination 1.2.3.4",
	})
	checkProtoErrors(t, "SNAT", 0, IPv4, 0, []string{"--to-source 1.2.3.4:1000"})
	checkProtoErrors(t, "SNAT", 1, IPv6, 6, []string{"", "--to-source 192.0.2.1", "--to-source [2001:db8::1]:"})
}
