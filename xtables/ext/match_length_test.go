package ext

import "testing"

func TestLength(t *testing.T) {
	checkExt(t, Match, "length", 0, []extCase{
		{family: IPv4, in: `--length 100:50`, hex: "6400320000000000"},
		{family: IPv4, in: `--length 0x10`, hex: "1000100000000000", save: `--length 16`},
		{family: IPv4, in: `--length 1500:`, hex: "dc05ffff00000000", save: `--length 1500:65535`},
		{family: IPv4, in: `! --length :1000`, hex: "0000e80301000000", save: `! --length 0:1000`},
		{family: IPv4, in: `--length 010`, hex: "0800080000000000", save: `--length 8`},
		{family: IPv6, in: `--length 1280:65535`, hex: "0005ffff00000000"},
	})
	checkExtErrors(t, Match, "length", 0, IPv4, []string{
		"", "--length 65536", "--length 1:2:3", "--length 1x", "--length -1", "--length 1 --length 2",
	})
}
