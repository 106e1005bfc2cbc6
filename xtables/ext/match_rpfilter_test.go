package ext

import "testing"

// Rows were checked against iptables-legacy 1.8.9: the save text is what
// iptables-legacy-save printed and the payload what the kernel returned.
func TestMatchRPFilter(t *testing.T) {
	checkTokens(t, Match, "rpfilter", 0, []tokenCase{
		{IPv4, 0, []string(nil), "z8", ""},
		{IPv4, 0, []string{"--invert", "--accept-local", "--validmark", "--loose"}, "0f00000000000000", " --loose --validmark --accept-local --invert"},
		{IPv4, 0, []string{"--validmark"}, "0200000000000000", " --validmark"},
		{IPv6, 0, []string{"--loose", "--invert"}, "0900000000000000", " --loose --invert"},
	})
}
