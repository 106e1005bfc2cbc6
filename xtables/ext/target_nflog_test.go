package ext

import (
	"strings"
	"testing"
)

func TestNFLog(t *testing.T) {
	const n = 80
	checkExt(t, Target, "NFLOG", 0, []extCase{
		{in: "", hex: padHex("", n)},
		{in: "--nflog-group 5 --nflog-prefix hello-world --nflog-size 128 --nflog-threshold 3",
			hex:  padHex("80000000 0500 0300 0100 0000 68656c6c6f2d776f726c64", n),
			save: "--nflog-prefix hello-world --nflog-group 5 --nflog-size 128 --nflog-threshold 3"},
		{in: "--nflog-range 64", hex: padHex("40000000", n)},
		{in: "--nflog-prefix a", hex: padHex("00000000 0000 0000 0000 0000 61", n)},
		{in: "--nflog-size 0", hex: padHex("00000000 0000 0000 0100", n)},
		{family: IPv6, in: "--nflog-group 2", hex: padHex("00000000 0200", n)},
		// iptables cuts prefixes to 63 characters.
		{in: "--nflog-prefix " + strings.Repeat("p", 70), hex: padHex("00000000 0000 0000 0000 0000"+strings.Repeat("70", 63), n),
			save: "--nflog-prefix " + strings.Repeat("p", 63)},
	})
	checkExtErrors(t, Target, "NFLOG", 0, IPv4, []string{
		"--nflog-group 65536", "--nflog-threshold -1", "--nflog-size 1 --nflog-range 2",
		"--nflog-group 1 --nflog-group 2", "--nflog-size 4294967296",
	})
	checkSaveRefused(t, Target, "NFLOG", 0, IPv4,
		padHex("00000000 0000 0000 0200", n),
		"00000000 0000 0000 0000 0000"+strings.Repeat("41", 64)+"00000000",
	)
}
