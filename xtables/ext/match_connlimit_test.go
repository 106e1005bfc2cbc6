package ext

import (
	"strings"
	"testing"
)

func TestConnlimit(t *testing.T) {
	ones := strings.Repeat("ff", 16)
	// Verified against iptables-legacy 1.8.9 (kernel payload and save).
	checkExt(t, Match, "connlimit", 1, []extCase{
		{proto: 6, in: "--connlimit-above 2", hex: ones + "02000000 00000000" + zeroHex(8),
			save: "--connlimit-above 2 --connlimit-mask 32 --connlimit-saddr"},
		{in: "--connlimit-upto 10 --connlimit-mask 24", hex: "ffffff00" + zeroHex(12) + "0a000000 01000000" + zeroHex(8),
			save: "--connlimit-upto 10 --connlimit-mask 24 --connlimit-saddr"},
		{in: "! --connlimit-upto 10 --connlimit-mask 32 --connlimit-daddr", hex: "ffffffff" + zeroHex(12) + "0a000000 02000000" + zeroHex(8),
			save: "--connlimit-above 10 --connlimit-mask 32 --connlimit-daddr"},
		{in: "! --connlimit-above 0 --connlimit-mask 255.255.0.0 --connlimit-saddr", hex: "ffff0000" + zeroHex(12) + "00000000 01000000" + zeroHex(8),
			save: "--connlimit-upto 0 --connlimit-mask 16 --connlimit-saddr"},
		{in: "--connlimit-above 5 --connlimit-mask 0", hex: zeroHex(16) + "05000000 00000000" + zeroHex(8),
			save: "--connlimit-above 5 --connlimit-mask 0 --connlimit-saddr"},
		{family: IPv6, in: "--connlimit-above 2", hex: ones + "02000000 00000000" + zeroHex(8),
			save: "--connlimit-above 2 --connlimit-mask 128 --connlimit-saddr"},
		{family: IPv6, in: "--connlimit-upto 10 --connlimit-mask 64 --connlimit-daddr",
			hex: strings.Repeat("ff", 8) + zeroHex(8) + "0a000000 03000000" + zeroHex(8)},
		{family: IPv6, in: "--connlimit-upto 10 --connlimit-mask 100",
			hex:  strings.Repeat("ff", 12) + "f0000000" + "0a000000 01000000" + zeroHex(8),
			save: "--connlimit-upto 10 --connlimit-mask 100 --connlimit-saddr"},
	})
	checkExt(t, Match, "connlimit", 0, []extCase{
		{in: "--connlimit-above 3", hex: ones + "03000000 00000000" + zeroHex(8), save: "--connlimit-above 3 --connlimit-mask 32"},
	})
	checkExtErrors(t, Match, "connlimit", 1, IPv4, []string{
		"", "--connlimit-mask 24", "--connlimit-above 1 --connlimit-upto 2", "--connlimit-above 1 --connlimit-above 2",
		"--connlimit-above -1", "--connlimit-above 4294967296", "--connlimit-above 1 --connlimit-mask 33",
		"--connlimit-above 1 --connlimit-saddr --connlimit-daddr", "--connlimit-above 1 --connlimit-mask 255.0.255.0",
		"--connlimit-above 1 ! --connlimit-mask 8",
	})
	checkExtErrors(t, Match, "connlimit", 1, IPv6, []string{"--connlimit-above 1 --connlimit-mask 129"})
	checkExtErrors(t, Match, "connlimit", 0, IPv4, []string{"--connlimit-above 1 --connlimit-daddr"})

	// A non-contiguous mask from elsewhere prints as count_bits4 does.
	e := Lookup(Match, "connlimit", 1, IPv4)
	data := make([]byte, 32)
	copy(data, []byte{0xff, 0x00, 0xff, 0x00})
	if _, opts, err := SaveText(e, RuleInfo{Family: IPv4}, data); err != nil || opts != " --connlimit-above 0 --connlimit-mask 8 --connlimit-saddr" {
		t.Errorf("non-contiguous mask: %q %v", opts, err)
	}
}
