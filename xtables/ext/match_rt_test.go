package ext

import "testing"

// Rows were checked against iptables-legacy 1.8.9: the save text is what
// iptables-legacy-save printed and the payload what the kernel returned.
func TestMatchRT(t *testing.T) {
	checkTokens(t, Match, "rt", 0, []tokenCase{
		{IPv6, 0, []string(nil), "z8 ffffffff z268", ""},
		{IPv6, 0, []string{"--rt-type", "0", "--rt-segsleft", "1:23", "--rt-len", "42", "--rt-0-res"}, "0000000001000000170000002a0000000f z263", " --rt-type 0 --rt-segsleft 1:23 --rt-len 42 --rt-0-res"},
		{IPv6, 0, []string{"--rt-type", "0", "!", "--rt-segsleft", "1:23", "!", "--rt-len", "42", "--rt-0-res"}, "0000000001000000170000002a0000000f06 z262", " --rt-type 0 ! --rt-segsleft 1:23 ! --rt-len 42 --rt-0-res"},
		{IPv6, 0, []string{"!", "--rt-type", "1", "!", "--rt-segsleft", "12:23", "!", "--rt-len", "42"}, "010000000c000000170000002a0000000707 z262", " ! --rt-type 1 ! --rt-segsleft 12:23 ! --rt-len 42"},
		{IPv6, 0, []string{"--rt-type", "0", "--rt-0-addrs", "2001:db8::1,::1.2.3.4,::ffff:10.0.0.1", "--rt-0-not-strict"}, "z8 ffffffff000000003100000020010db8 z11 01 z12 01020304 z10 ffff0a000001 z208 03000000", " --rt-type 0 --rt-0-addrs 2001:db8::1,::1.2.3.4,::ffff:10.0.0.1 --rt-0-not-strict"},
		{IPv6, 0, []string{"--rt-type", "0", "--rt-0-addrs", "::1"}, "z8 ffffffff0000000011 z18 01 z240 01000000", " --rt-type 0 --rt-0-addrs ::1"},
		{IPv6, 0, []string{"--rt-type", "0", "--rt-0-addrs", "::1,::2,::3,::4,::5,::6,::7,::8,::9,::a,::b,::c,::d,::e,::f,::10"}, "z8 ffffffff0000000011 z18 01 z15 02 z15 03 z15 04 z15 05 z15 06 z15 07 z15 08 z15 09 z15 0a z15 0b z15 0c z15 0d z15 0e z15 0f z15 1010000000", " --rt-type 0 --rt-0-addrs ::1,::2,::3,::4,::5,::6,::7,::8,::9,::a,::b,::c,::d,::e,::f,::10"},
		{IPv6, 0, []string{"--rt-segsleft", "5"}, "0000000005000000050000000000000002 z263", " --rt-segsleft 5"},
		{IPv6, 0, []string{"--rt-segsleft", "5:"}, "0000000005000000ffffffff0000000002 z263", " --rt-segsleft 5:4294967295"},
		{IPv6, 0, []string{"--rt-type", "4294967295"}, "ffffffff00000000ffffffff0000000001 z263", " --rt-type 4294967295"},
	})
	checkTokenErrors(t, Match, "rt", 0, []badTokens{
		{IPv6, []string{"--rt-type", "0", "--rt-0-addrs", "::1,::2,::3,::4,::5,::6,::7,::8,::9,::a,::b,::c,::d,::e,::f,::10,::11"}},
		{IPv6, []string{"--rt-type", "0", "--rt-0-addrs", "10.0.0.1"}},
		{IPv6, []string{"--rt-type", "1", "--rt-0-addrs", "::1"}},
		{IPv6, []string{"--rt-0-res", "--rt-type", "0"}},
		{IPv6, []string{"--rt-type", "0", "--rt-0-not-strict"}},
		{IPv6, []string{"--rt-type", "0", "--rt-0-addrs", "::1", "--rt-0-addrs", "::2"}},
	})
}
