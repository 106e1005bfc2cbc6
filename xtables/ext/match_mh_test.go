package ext

import "testing"

// Rows were checked against iptables-legacy 1.8.9: the save text is what
// iptables-legacy-save printed and the payload what the kernel returned.
func TestMatchMH(t *testing.T) {
	checkTokens(t, Match, "mh", 0, []tokenCase{
		{IPv6, 135, []string(nil), "00ff000000000000", ""},
		{IPv6, 135, []string{"--mh-type", "1"}, "0101000000000000", " --mh-type 1"},
		{IPv6, 135, []string{"!", "--mh-type", "4"}, "0404010000000000", " ! --mh-type 4"},
		{IPv6, 135, []string{"--mh-type", "4:123"}, "047b000000000000", " --mh-type 4:123"},
		{IPv6, 135, []string{"--mh-type", "home-test"}, "0303000000000000", " --mh-type 3"},
		{IPv6, 135, []string{"--mh-type", "Binding-U:be"}, "0507000000000000", " --mh-type 5:7"},
		{IPv6, 135, []string{"--mh-type", "b"}, "z8", " --mh-type 0"},
		{IPv6, 135, []string{"--mh-type", ":ba"}, "0006000000000000", " --mh-type 0:6"},
		{IPv6, 135, []string{"--mh-type", "bu:"}, "05ff000000000000", " --mh-type 5:255"},
		{IPv6, 135, []string{"!", "--mh-type", "0:255"}, "00ff010000000000", ""},
		{IPv6, 135, []string{"--mh-type", "hoti"}, "0101000000000000", " --mh-type 1"},
	})
	checkTokenErrors(t, Match, "mh", 0, []badTokens{
		{IPv6, []string{"--mh-type", "7:5"}},
		{IPv6, []string{"--mh-type", "256"}},
		{IPv6, []string{"--mh-type", "bogus"}},
	})
}
