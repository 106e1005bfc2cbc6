package ext

import "testing"

// Rows were checked against iptables-legacy 1.8.9: the save text is what
// iptables-legacy-save printed and the payload what the kernel returned.
func TestMatchFrag(t *testing.T) {
	checkTokens(t, Match, "frag", 0, []tokenCase{
		{IPv6, 0, []string{"--fragid", "1:42"}, "010000002a0000000000000001000000", " --fragid 1:42"},
		{IPv6, 0, []string{"--fraglen", "42"}, "00000000ffffffff2a00000002000000", " --fraglen 42"},
		{IPv6, 0, []string{"--fragres"}, "00000000ffffffff0000000004000000", " --fragres"},
		{IPv6, 0, []string{"--fragfirst"}, "00000000ffffffff0000000008000000", " --fragfirst"},
		{IPv6, 0, []string{"--fragmore"}, "00000000ffffffff0000000010000000", " --fragmore"},
		{IPv6, 0, []string{"--fraglast"}, "00000000ffffffff0000000020000000", " --fraglast"},
		{IPv6, 0, []string{"!", "--fragid", "1", "!", "--fraglen", "42", "--fragres", "--fragfirst"}, "01000000010000002a0000000f030000", " ! --fragid 1 ! --fraglen 42 --fragres --fragfirst"},
		{IPv6, 0, []string{"--fragfirst", "--fraglast"}, "00000000ffffffff0000000028000000", " --fragfirst --fraglast"},
		{IPv6, 0, []string(nil), "00000000ffffffff z8", ""},
		{IPv6, 0, []string{"--fragid", "0:4294967295"}, "00000000ffffffff0000000001000000", ""},
		{IPv6, 0, []string{"!", "--fragid", "0:4294967295"}, "00000000ffffffff0000000001010000", ""},
		{IPv6, 0, []string{"--fragid", ":7", "--fraglen", "0"}, "00000000070000000000000003000000", " --fragid 0:7 --fraglen 0"},
	})
	checkTokenErrors(t, Match, "frag", 0, []badTokens{
		{IPv6, []string{"--fraglast", "--fragmore"}},
	})
}
