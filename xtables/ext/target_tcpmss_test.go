package ext

import "testing"

// Rows checked against iptables-legacy-restore/-save 1.8.9 and the kernel's
// payload bytes on Linux 6.18.
func TestTCPMSSTarget(t *testing.T) {
	checkExt(t, Target, "TCPMSS", 0, []extCase{
		{family: IPv4, proto: 6, in: "--clamp-mss-to-pmtu", hex: "ffff000000000000"},
		{family: IPv4, proto: 6, in: "--set-mss 1400", hex: "7805000000000000"},
		{family: IPv4, proto: 6, in: "--set-mss 65515", hex: "ebff000000000000"},
		{family: IPv4, proto: 6, in: "--set-mss 1000 --clamp-mss-to-pmtu", hex: "ffff000000000000", save: "--clamp-mss-to-pmtu"},
		{family: IPv4, proto: 6, in: "--clamp-mss-to-pmtu --set-mss 1000", hex: "e803000000000000", save: "--set-mss 1000"},
		{family: IPv6, proto: 6, in: "--set-mss 65495", hex: "d7ff000000000000"},
		{family: IPv6, proto: 6, in: "--clamp-mss-to-pmtu", hex: "ffff000000000000"},
	})
	checkProtoErrors(t, "TCPMSS", 0, IPv4, 6, []string{"", "--set-mss 65516", "--set-mss -1", "--set-mss 1 --set-mss 2", "--set-mss x"})
	checkProtoErrors(t, "TCPMSS", 0, IPv6, 6, []string{"--set-mss 65496", "--clamp-mss-to-pmtu --clamp-mss-to-pmtu"})
}
