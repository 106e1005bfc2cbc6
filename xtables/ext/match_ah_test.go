package ext

import "testing"

// Rows were checked against iptables-legacy 1.8.9: the save text is what
// iptables-legacy-save printed and the payload what the kernel returned.
func TestMatchAH(t *testing.T) {
	checkTokens(t, Match, "ah", 0, []tokenCase{
		{IPv4, 51, []string(nil), "00000000ffffffff z8", ""},
		{IPv4, 51, []string{"--ahspi", "4294967295"}, "ffffffffffffffff z8", " --ahspi 4294967295"},
		{IPv4, 51, []string{"!", "--ahspi", "0"}, "z8 0100000000000000", " ! --ahspi 0"},
		{IPv4, 51, []string{"--ahspi", "5:"}, "05000000ffffffff z8", " --ahspi 5:4294967295"},
		{IPv6, 0, []string(nil), "00000000ffffffff z8", ""},
		{IPv6, 0, []string{"--ahspi", "0"}, "z16", " --ahspi 0"},
		{IPv6, 0, []string{"!", "--ahspi", "100:200", "!", "--ahlen", "32", "--ahres"}, "64000000c80000002000000001030000", " ! --ahspi 100:200 ! --ahlen 32 --ahres"},
		{IPv6, 0, []string{"--ahlen", "0"}, "00000000ffffffff z8", ""},
		{IPv6, 0, []string{"!", "--ahlen", "0"}, "00000000ffffffff0000000000020000", " ! --ahlen 0"},
		{IPv6, 0, []string{"--ahres"}, "00000000ffffffff0000000001000000", " --ahres"},
		{IPv6, 51, []string{"--ahspi", "7"}, "0700000007 z11", " --ahspi 7"},
	})
	checkTokenErrors(t, Match, "ah", 0, []badTokens{
		{IPv4, []string{"--ahspi", "4294967296"}},
		{IPv4, []string{"--ahlen", "3"}},
	})
}
