package ext

import "testing"

// Rows were checked against iptables-legacy 1.8.9: the save text is what
// iptables-legacy-save printed and the payload what the kernel returned.
func TestMatchESP(t *testing.T) {
	checkTokens(t, Match, "esp", 0, []tokenCase{
		{IPv4, 50, []string(nil), "00000000ffffffff z8", ""},
		{IPv4, 50, []string{"--espspi", "0"}, "z16", " --espspi 0"},
		{IPv4, 50, []string{"--espspi", ":32"}, "0000000020 z11", " --espspi 0:32"},
		{IPv4, 50, []string{"--espspi", "0:4294967295"}, "00000000ffffffff z8", ""},
		{IPv4, 50, []string{"!", "--espspi", "0:4294967295"}, "00000000ffffffff0100000000000000", ""},
		{IPv4, 50, []string{"!", "--espspi", "0:4294967294"}, "00000000feffffff0100000000000000", " ! --espspi 0:4294967294"},
		{IPv4, 50, []string{"--espspi", "500:100"}, "f401000064 z11", " --espspi 500:100"},
		{IPv6, 50, []string{"!", "--espspi", "256"}, "00010000000100000100000000000000", " ! --espspi 256"},
	})
	checkTokenErrors(t, Match, "esp", 0, []badTokens{
		{IPv4, []string{"--espspi", "-1"}},
	})
}
