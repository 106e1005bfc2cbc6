package ext

import "testing"

// Rows were checked against iptables-legacy 1.8.9: the save text is what
// iptables-legacy-save printed and the payload what the kernel returned.
func TestMatchHelper(t *testing.T) {
	checkTokens(t, Match, "helper", 0, []tokenCase{
		{IPv4, 0, []string{"--helper", "ftp"}, "00000000667470 z33", " --helper ftp"},
		{IPv4, 0, []string{"!", "--helper", "sip-5060"}, "010000007369702d35303630 z28", " ! --helper sip-5060"},
		{IPv4, 0, []string{"--helper", "a b'c"}, "000000006120622763 z31", " --helper \"a b\\'c\""},
		{IPv4, 0, []string{"--helper", "abcdefghijklmnopqrstuvwxyz0123456789"}, "000000006162636465666768696a6b6c6d6e6f707172737475767778797a30313200000000000000", " --helper abcdefghijklmnopqrstuvwxyz012"},
		{IPv4, 0, []string{"--helper", ""}, "z40", " --helper \"\""},
		{IPv6, 0, []string{"--helper", "ftp"}, "00000000667470 z33", " --helper ftp"},
	})
	checkTokenErrors(t, Match, "helper", 0, []badTokens{
		{IPv4, []string(nil)},
	})
}
