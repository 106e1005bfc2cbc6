package ext

import "testing"

// Rows checked against iptables-legacy-restore/-save 1.8.9 and the kernel's
// payload bytes on Linux 6.18.
func TestNetmap(t *testing.T) {
	checkExt(t, Target, "NETMAP", 0, []extCase{
		{family: IPv4, in: "--to 10.0.0.0/8", hex: "0100000001000000 0a0000000affffff 0000000000000000"},
		{family: IPv4, in: "--to 10.1.2.3/255.255.0.0", hex: "0100000001000000 0a0100000a01ffff 0000000000000000", save: "--to 10.1.0.0/16"},
		{family: IPv4, in: "--to 10.1.2.3/255.0.255.0", hex: "0100000001000000 0a0102030a010203 0000000000000000", save: "--to 10.1.2.3/32"},
		{family: IPv4, in: "--to 10.1.2.3", hex: "0100000001000000 0a0102030a010203 0000000000000000", save: "--to 10.1.2.3/32"},
		{family: IPv4, in: "--to 10.1.2.3/0", hex: "0100000001000000 00000000ffffffff 0000000000000000", save: "--to 0.0.0.0/0"},
		{family: IPv4, in: "--to 10.1.2.3/010", hex: "0100000001000000 0a0000000affffff 0000000000000000", save: "--to 10.0.0.0/8"},
		{family: IPv6, in: "--to 2001:db8:1::/64", hex: "0100000020010db8 0001000000000000 0000000020010db8 00010000ffffffff ffffffff00000000"},
		{family: IPv6, in: "--to 2001:db8:1::5/ffff:ffff:ffff::", hex: "0100000020010db8 0001000000000000 0000000020010db8 0001ffffffffffff ffffffff00000000", save: "--to 2001:db8:1::/48"},
		{family: IPv6, in: "--to 2001:db8:1::5", hex: "0100000020010db8 0001000000000000 0000000520010db8 0001000000000000 0000000500000000", save: "--to 2001:db8:1::5/128"},
	})
	// iptables takes /33 as the inet_aton mask 0.0.0.33 and so as /32;
	// hostwall refuses it.
	checkExtErrors(t, Target, "NETMAP", 0, IPv4, []string{
		"", "--to 10.0.0.0/33", "--to 10.0.0.0/abc", "--to ::1", "--to 10.0.0.0/8 --to 10.0.0.0/8", "--to 10.0.0.0/",
	})
	checkExtErrors(t, Target, "NETMAP", 0, IPv6, []string{"--to 10.0.0.0/8", "--to ::/129"})
	// A range that is not a prefix prints with a dotted mask, as iptables does.
	checkSaveOf(t, "NETMAP", 0, IPv4, "01000000 01000000 0a000000 0aff00ff 00000000 00000000", "--to 10.0.0.0/255.0.255.0")
	checkSaveOf(t, "NETMAP", 0, IPv4, "01000000 03000000 0a000000 0affffff 00500050 00000000", "")
}
