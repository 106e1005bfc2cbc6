package ext

import "testing"

// Rows were checked against iptables-legacy 1.8.9: the save text is what
// iptables-legacy-save printed and the payload what the kernel returned.
func TestMatchHBH(t *testing.T) {
	checkTokens(t, Match, "hbh", 0, []tokenCase{
		{IPv6, 0, []string(nil), "z40", ""},
		{IPv6, 0, []string{"--hbh-len", "42"}, "2a00000001 z35", " --hbh-len 42"},
		{IPv6, 0, []string{"!", "--hbh-len", "42"}, "2a0000000101 z34", " ! --hbh-len 42"},
		{IPv6, 0, []string{"--hbh-len", "42", "--hbh-opts", "1:2,23:42,4:6,8:10,42,23,4:5"}, "2a000000030002012a1706040a08ff2aff170504 z18 0700", " --hbh-len 42 --hbh-opts 1:2,23:42,4:6,8:10,42,23,4:5"},
		{IPv6, 0, []string{"--hbh-opts", "0x10:0x20,-1,256,300:3,5:255,7:-2"}, "0000000002002010ffffff00032cff05fe07 z20 0600", " --hbh-opts 16:32,255,0,44:3,5,7:254"},
		{IPv6, 0, []string{"--hbh-opts", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16"}, "000000000200ff01ff02ff03ff04ff05ff06ff07ff08ff09ff0aff0bff0cff0dff0eff0fff101000", " --hbh-opts 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16"},
		{IPv6, 0, []string{"--hbh-opts", "0"}, "000000000200ff z31 0100", " --hbh-opts 0"},
	})
	checkTokenErrors(t, Match, "hbh", 0, []badTokens{
		{IPv6, []string{"--hbh-opts", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16:2"}},
		{IPv6, []string{"--hbh-opts", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"}},
		{IPv6, []string{"--hbh-opts", "0:2"}},
		{IPv6, []string{"--hbh-opts", "5:"}},
		{IPv6, []string{"--hbh-opts", "5x"}},
		{IPv6, []string{"--hbh-opts", "1,,2"}},
	})
}
