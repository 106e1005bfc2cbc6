package ext

import "testing"

// Rows checked against iptables-legacy-restore/-save 1.8.9 and the kernel's
// payload bytes on Linux 6.18.
func TestTPROXY(t *testing.T) {
	checkExt(t, Target, "TPROXY", 1, []extCase{
		{family: IPv4, proto: 6, in: "--on-port 8080 --on-ip 127.0.0.1 --tproxy-mark 0x1/0x1", hex: "0100000001000000 7f00000100000000 0000000000000000 1f90000000000000"},
		{family: IPv4, proto: 17, in: "--on-port domain", hex: "0000000000000000 0000000000000000 0000000000000000 0035000000000000", save: "--on-port 53 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0"},
		{family: IPv4, proto: 6, in: "--on-port 0 --tproxy-mark 5", hex: "ffffffff05000000 0000000000000000 0000000000000000 0000000000000000", save: "--on-port 0 --on-ip 0.0.0.0 --tproxy-mark 0x5/0xffffffff"},
		{family: IPv6, proto: 6, in: "--on-port 8080 --on-ip ::1 --tproxy-mark 0x1/0x1", hex: "0100000001000000 0000000000000000 0000000000000001 1f90000000000000"},
		{family: IPv6, proto: 17, in: "--on-port 53 --on-ip 2001:db8::1", hex: "0000000000000000 20010db800000000 0000000000000001 0035000000000000", save: "--on-port 53 --on-ip 2001:db8::1 --tproxy-mark 0x0/0x0"},
	})
	// Revision 0 (IPv4 only), which 1.8.9 does not pick on this kernel.
	checkExt(t, Target, "TPROXY", 0, []extCase{
		{family: IPv4, proto: 6, in: "--on-port 8080 --on-ip 127.0.0.1 --tproxy-mark 0x1/0x1", hex: "0100000001000000 7f0000011f900000"},
		{family: IPv4, proto: 17, in: "--on-port 53", hex: "0000000000000000 0000000000350000", save: "--on-port 53 --on-ip 0.0.0.0 --tproxy-mark 0x0/0x0"},
	})
	// iptables truncates --on-port 70000 to 4464; hostwall refuses it.
	checkProtoErrors(t, "TPROXY", 1, IPv4, 6, []string{
		"", "--on-ip 1.2.3.4", "--on-port 70000", "--on-port 0x50", "--on-port -1", "--on-port 80x",
		"--on-port 1 --tproxy-mark 0x10/", "--on-port 1 --on-ip ::1", "--on-port 1 --on-port 2",
	})
	checkProtoErrors(t, "TPROXY", 1, IPv4, 0, []string{"--on-port 80"})
	checkProtoErrors(t, "TPROXY", 1, IPv6, 1, []string{"--on-port 80"})
	checkProtoErrors(t, "TPROXY", 1, IPv6, 6, []string{"--on-port 1 --on-ip 1.2.3.4"})
}
