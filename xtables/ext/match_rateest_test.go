package ext

import "testing"

func TestMatchRateest(t *testing.T) {
	checkExt(t, Match, "rateest", 0, []extCase{
		{in: "--rateest est1 --rateest-bps 1mbit --rateest-gt",
			hex:  "65737431000000000000000000000000 00000000000000000000000000000000 1200 0300 00000000 00000000 48e80100 00000000 00000000 0000000000000000 0000000000000000",
			save: "--rateest est1 --rateest-gt --rateest-bps 1000Kbit"},
		{in: "--rateest-delta --rateest1 a --rateest-pps1 10 ! --rateest-gt --rateest-pps2 20 --rateest2 b",
			hex: "61000000000000000000000000000000 62000000000000000000000000000000 2d00 0300 00000000 0a000000 00000000 14000000 00000000 0000000000000000 0000000000000000"},
	})
	checkExtErrors(t, Match, "rateest", 0, IPv4, []string{
		"--rateest a --rateest-lt --rateest-lt",
		"--rateest a --rateest-bps 1foo",
		"--rateest a --rateest1 b",
		"! --rateest a",
	})
}
