package ext

import "testing"

func TestTargetRATEEST(t *testing.T) {
	checkExt(t, Target, "RATEEST", 0, []extCase{
		{in: "--rateest-name est1 --rateest-interval 250ms --rateest-ewmalog 1s",
			hex:  "65737431000000000000000000000000 fe02000000000000 0000000000000000",
			save: "--rateest-name est1 --rateest-interval 250.0ms --rateest-ewmalog 1.0s"},
		// Without a unit the time is in microseconds.
		{in: "--rateest-name e3 --rateest-interval 2.5 --rateest-ewmalog 32000000us",
			hex:  "65330000000000000000000000000000 fe17000000000000 0000000000000000",
			save: "--rateest-name e3 --rateest-interval 250.0ms --rateest-ewmalog 1208.0s"},
	})
	checkExtErrors(t, Target, "RATEEST", 0, IPv4, []string{
		"--rateest-name a --rateest-interval 1s",
		"--rateest-name a --rateest-interval 9s --rateest-ewmalog 10s",
		"--rateest-name a --rateest-interval 1x --rateest-ewmalog 1s",
		"--rateest-name a --rateest-interval 1s --rateest-ewmalog 0.1s",
	})
}
