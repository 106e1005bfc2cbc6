package ext

import "testing"

// Rows were checked against iptables-legacy 1.8.9: the save text is what
// iptables-legacy-save printed and the payload what the kernel returned.
func TestMatchDst(t *testing.T) {
	checkTokens(t, Match, "dst", 0, []tokenCase{
		{IPv6, 0, []string{"--dst-len", "0"}, "0000000001 z35", " --dst-len 0"},
		{IPv6, 0, []string{"--dst-opts", "149:92,12:12,123:12"}, "0000000002005c950c0c0c7b z26 0300", " --dst-opts 149:92,12:12,123:12"},
		{IPv6, 0, []string{"!", "--dst-len", "42"}, "2a0000000101 z34", " ! --dst-len 42"},
		{IPv6, 0, []string{"--dst-len", "42", "--dst-opts", "149:92,12:12,123:12"}, "2a00000003005c950c0c0c7b z26 0300", " --dst-len 42 --dst-opts 149:92,12:12,123:12"},
	})
	checkTokenErrors(t, Match, "dst", 0, []badTokens{
		{IPv6, []string{"--dst-len", "4294967296"}},
	})
}
