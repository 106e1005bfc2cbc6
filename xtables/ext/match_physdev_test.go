package ext

import (
	"strings"
	"testing"
)

func TestPhysdevMatch(t *testing.T) {
	z := func(n int) string { return strings.Repeat("00", n) }
	// Payloads and save text from iptables-legacy 1.8.9 and the kernel.
	checkExt(t, Match, "physdev", 0, []extCase{
		{in: "--physdev-in eth0", hex: "65746830" + z(12) + "ffffffffff" + z(11) + z(32) + "0001" + z(6)},
		{in: "! --physdev-out veth+ --physdev-is-bridged",
			hex: z(32) + "766574682b" + z(11) + "ffffffff" + z(12) + "0206" + z(6)},
		{in: "! --physdev-is-in ! --physdev-is-out --physdev-in br+",
			save: "! --physdev-is-in --physdev-in br+ ! --physdev-is-out",
			hex:  "62722b" + z(13) + "ffff" + z(14) + z(32) + "1819" + z(6)},
		{in: "--physdev-out eth1 --physdev-is-out --physdev-in eth0 --physdev-is-in --physdev-is-bridged",
			save: "--physdev-is-in --physdev-in eth0 --physdev-is-out --physdev-out eth1 --physdev-is-bridged",
			hex:  "65746830" + z(12) + "ffffffffff" + z(11) + "65746831" + z(12) + "ffffffffff" + z(11) + "001f" + z(6)},
		{family: IPv6, in: "--physdev-in x+", hex: "782b" + z(14) + "ff" + z(15) + z(32) + "0001" + z(6)},
	})
	checkExtErrors(t, Match, "physdev", 0, IPv4, []string{
		"", "--physdev-in 0123456789abcdef", "--physdev-in a --physdev-in b", "--physdev-is-in --physdev-is-in",
	})
}
