package ext

import "testing"

// Rows were checked against iptables-legacy 1.8.9: the save text is what
// iptables-legacy-save printed and the payload what the kernel returned.
func TestMatchTCPMSS(t *testing.T) {
	checkTokens(t, Match, "tcpmss", 0, []tokenCase{
		{IPv4, 6, []string{"--mss", "1460"}, "b405b40500000000", " --mss 1460"},
		{IPv4, 6, []string{"!", "--mss", "1000:1500"}, "e803dc0501000000", " ! --mss 1000:1500"},
		{IPv4, 6, []string{"--mss", "1000:"}, "e803ffff00000000", " --mss 1000:65535"},
		{IPv4, 6, []string{"--mss", ":536"}, "0000180200000000", " --mss 0:536"},
		{IPv4, 6, []string{"--mss", "0x10"}, "1000100000000000", " --mss 16"},
		{IPv6, 6, []string{"--mss", "1220:1440"}, "c404a00500000000", " --mss 1220:1440"},
	})
	checkTokenErrors(t, Match, "tcpmss", 0, []badTokens{
		{IPv4, []string{"--mss", "1500:1000"}},
		{IPv4, []string{"--mss", "70000"}},
		{IPv4, []string{"--mss", "1:2:3"}},
		{IPv4, []string(nil)},
		{IPv4, []string{"--mss", "5", "--mss", "6"}},
	})
}
