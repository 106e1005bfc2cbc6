package ext

import "testing"

// Rows checked against iptables-legacy-restore/-save 1.8.9 and the kernel's
// payload bytes on Linux 6.18.
func TestDNAT(t *testing.T) {
	checkExt(t, Target, "DNAT", 2, []extCase{
		{family: IPv4, proto: 6, in: "--to-destination 172.17.0.2:80", hex: "03000000ac110002 0000000000000000 00000000ac110002 0000000000000000 0000000000500050 0000000000000000"},
		{family: IPv4, in: "--to-destination 10.0.0.1", hex: "010000000a000001 0000000000000000 000000000a000001 0000000000000000 0000000000000000 0000000000000000"},
		{family: IPv4, proto: 17, in: "--to-destination 10.0.0.1-10.0.0.9:1000-2000/1500 --random --persistent", hex: "2f0000000a000001 0000000000000000 000000000a000009 0000000000000000 0000000003e807d0 05dc000000000000"},
		{family: IPv4, proto: 6, in: "--to-destination :8080", hex: "0200000000000000 0000000000000000 0000000000000000 0000000000000000 000000001f901f90 0000000000000000"},
		{family: IPv4, proto: 6, in: "--to-destination 10.0.0.1:http", hex: "030000000a000001 0000000000000000 000000000a000001 0000000000000000 0000000000500050 0000000000000000", save: "--to-destination 10.0.0.1:80"},
		{family: IPv4, proto: 33, in: "--to-destination 10.0.0.1:0x50-0120", hex: "030000000a000001 0000000000000000 000000000a000001 0000000000000000 0000000000500050 0000000000000000", save: "--to-destination 10.0.0.1:80"},
		{family: IPv4, proto: 1, in: "--to-destination 10.0.0.1:7", hex: "030000000a000001 0000000000000000 000000000a000001 0000000000000000 0000000000070007 0000000000000000"},
		{family: IPv4, proto: 6, in: "--to-destination 10:80", hex: "0200000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000500050 0000000000000000", save: "--to-destination :80"},
		{family: IPv6, proto: 6, in: "--to-destination [2001:db8::1]:80", hex: "0300000020010db8 0000000000000000 0000000120010db8 0000000000000000 0000000100500050 0000000000000000"},
		{family: IPv6, in: "--to-destination 2001:db8::1", hex: "0100000020010db8 0000000000000000 0000000120010db8 0000000000000000 0000000100000000 0000000000000000"},
		{family: IPv6, in: "--to-destination 2001:db8::1-2001:db8::ff --persistent", hex: "0900000020010db8 0000000000000000 0000000120010db8 0000000000000000 000000ff00000000 0000000000000000"},
		{family: IPv6, proto: 6, in: "--to-destination [2001:db8::1-2001:db8::9]:80-90/85 --random", hex: "2700000020010db8 0000000000000000 0000000120010db8 0000000000000000 000000090050005a 0055000000000000"},
		{family: IPv6, proto: 6, in: "--to-destination [::1.2.3.4]:80", hex: "0300000000000000 0000000000000000 0102030400000000 0000000000000000 0102030400500050 0000000000000000"},
		{family: IPv6, proto: 6, in: "--to-destination [::ffff:1.2.3.4]:80", hex: "0300000000000000 000000000000ffff 0102030400000000 000000000000ffff 0102030400500050 0000000000000000"},
		{family: IPv6, proto: 6, in: "--to-destination []:80", hex: "0200000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000500050 0000000000000000", save: "--to-destination :80"},
		{family: IPv6, proto: 17, in: "--to-destination :53", hex: "0200000000000000 0000000000000000 0000000000000000 0000000000000000 0000000000350035 0000000000000000"},
	})
	// Revisions 1.8.9 has but does not pick on this kernel.
	checkExt(t, Target, "DNAT", 0, []extCase{
		{family: IPv4, proto: 6, in: "--to-destination 172.17.0.2:80", hex: "0100000003000000 ac110002ac110002 0050005000000000"},
		{family: IPv4, in: "--to-destination 10.0.0.1-10.0.0.9 --random --persistent", hex: "010000000d000000 0a0000010a000009 0000000000000000"},
	})
	checkExt(t, Target, "DNAT", 1, []extCase{
		{family: IPv6, proto: 6, in: "--to-destination [2001:db8::1]:80", hex: "0300000020010db8 0000000000000000 0000000120010db8 0000000000000000 0000000100500050"},
	})
	checkProtoErrors(t, "DNAT", 0, IPv4, 6, []string{"--to-destination 1.2.3.4:80-90/85"})
	checkProtoErrors(t, "DNAT", 1, IPv6, 6, []string{"--to-destination [::1]:80-90/85"})
	// Accepted as iptables does: garbage after the base port is ignored,
	// brackets without a port are fine.
	checkExt(t, Target, "DNAT", 2, []extCase{
		{family: IPv4, proto: 6, in: "--to-destination 1.2.3.4:80-90/85xyz", hex: "2300000001020304 0000000000000000 0000000001020304 0000000000000000 000000000050005a 0055000000000000", save: "--to-destination 1.2.3.4:80-90/85"},
		{family: IPv6, in: "--to-destination [2001:db8::1]", hex: "0100000020010db8 0000000000000000 0000000120010db8 0000000000000000 0000000100000000 0000000000000000", save: "--to-destination 2001:db8::1"},
	})
	checkProtoErrors(t, "DNAT", 2, IPv4, 6, []string{
		"", "--random", "--to-destination 1.2.3.4:80:90", "--to-destination 1.2.3.4:90-80",
		"--to-destination [1.2.3.4]:80", "--to-destination 1.2.3.4:80-90/0", "--to-destination 1.2.3.4:99999",
		"--to-destination 1.2.3.4:80x", "--to-destination 1.2.3.4:80-90x", "--to-destination 1.2.3.4:80-http",
		"--to-destination 1.2.3.4:", "--to-destination 1.2.3.4 --to-destination 1.2.3.5",
		"--to-destination 1.2.3.4 --random-fully", "--to-destination 2001:db8::1", "--to-destination 01.2.3.4",
		"--to-destination 1.2.3.4-", "--to-ports 80",
	})
	checkProtoErrors(t, "DNAT", 2, IPv4, 0, []string{"--to-destination 1.2.3.4:80"})
	checkProtoErrors(t, "DNAT", 2, IPv6, 6, []string{
		"--to-destination [2001:db8::1:80", "--to-destination 1.2.3.4", "--to-destination fe80::1%eth0",
		"--to-destination [2001:db8::1]:http-https",
	})
	checkSaveOf(t, "DNAT", 2, IPv4, "0100000001020304 0000000000000000 0000000001020304 0000000000000000 0000000000000000 0055000000000000", "")
}
