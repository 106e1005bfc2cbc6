package ext

import "testing"

// Rows checked against iptables-legacy-restore/-save 1.8.9 and the kernel's
// payload bytes on Linux 6.18.
func TestTOSTarget(t *testing.T) {
	checkExt(t, Target, "TOS", 1, []extCase{
		{family: IPv4, in: "--set-tos Minimize-Delay", hex: "103f000000000000", save: "--set-tos 0x10/0x3f"},
		{family: IPv4, in: "--set-tos normal-service", hex: "003f000000000000", save: "--set-tos 0x00/0x3f"},
		{family: IPv4, in: "--set-tos 0x10", hex: "10ff000000000000", save: "--set-tos 0x10/0xff"},
		{family: IPv4, in: "--set-tos 0x10/0x3f", hex: "103f000000000000"},
		{family: IPv4, in: "--set-tos 16/255", hex: "10ff000000000000", save: "--set-tos 0x10/0xff"},
		{family: IPv4, in: "--and-tos 0x0f", hex: "00f0000000000000", save: "--set-tos 0x00/0xf0"},
		{family: IPv4, in: "--or-tos 0x08", hex: "0808000000000000", save: "--set-tos 0x08/0x08"},
		{family: IPv4, in: "--xor-tos 0x02", hex: "0200000000000000", save: "--set-tos 0x02/0x00"},
		{family: IPv6, in: "--set-tos Maximize-Throughput", hex: "083f000000000000", save: "--set-tos 0x08/0x3f"},
		{family: IPv6, in: "--set-tos 0x04/0x0c", hex: "040c000000000000"},
	})
	// Revision 0 (IPv4 only): a value without mask.
	checkExt(t, Target, "TOS", 0, []extCase{
		{family: IPv4, in: "--set-tos 0x10", hex: "1000000000000000"},
		{family: IPv4, in: "--set-tos Minimize-Cost", hex: "0200000000000000", save: "--set-tos 0x02"},
	})
	checkExtErrors(t, Target, "TOS", 0, IPv4, []string{"--set-tos 0x10/0x3f", "--and-tos 1", ""})
	checkExtErrors(t, Target, "TOS", 1, IPv4, []string{
		"", "--set-tos 256", "--set-tos 0x10/0x100", "--set-tos foo", "--set-tos 0x10x", "--set-tos 0x10/",
		"--and-tos 1 --or-tos 2", "--and-tos 256", "--set-tos 1 --set-tos 2",
	})
}
