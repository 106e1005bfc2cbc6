package ext

import "testing"

// Rows were checked against iptables-legacy 1.8.9: the save text is what
// iptables-legacy-save printed and the payload what the kernel returned.
func TestMatchPolicy(t *testing.T) {
	checkTokens(t, Match, "policy", 0, []tokenCase{
		{IPv4, 0, []string{"--dir", "in", "--pol", "ipsec"}, "z304 0100010000000000", " --dir in --pol ipsec"},
		{IPv4, 0, []string{"--dir", "out", "--pol", "none"}, "z304 0600000000000000", " --dir out --pol none"},
		{IPv4, 0, []string{"--dir", "in", "--pol", "ipsec", "--proto", "ipcomp"}, "z72 6c0004 z229 0100010000000000", " --dir in --pol ipsec --proto ipcomp"},
		{IPv4, 0, []string{"--dir", "in", "--pol", "ipsec", "--strict", "--reqid", "1", "--spi", "0x1", "--proto", "ipcomp"}, "z64 01000000010000006c0034 z229 0900010000000000", " --dir in --pol ipsec --strict --reqid 1 --spi 0x1 --proto ipcomp"},
		{IPv4, 0, []string{"--dir", "in", "--pol", "ipsec", "--strict", "--reqid", "1", "--spi", "0x1", "--proto", "esp", "--mode", "tunnel", "--tunnel-dst", "10.0.0.0/8", "--tunnel-src", "10.0.0.0/8", "--next", "--reqid", "2"}, "0a z15 ff z15 0a z15 ff z15 010000000100000032013f z69 02000000000020 z153 0900020000000000", " --dir in --pol ipsec --strict --reqid 1 --spi 0x1 --proto esp --mode tunnel --tunnel-dst 10.0.0.0/8 --tunnel-src 10.0.0.0/8 --next --reqid 2"},
		{IPv4, 0, []string{"--dir", "in", "--pol", "ipsec", "!", "--reqid", "7", "!", "--spi", "4096", "!", "--proto", "51", "!", "--mode", "transport", "!", "--tunnel-src", "192.168.1.1", "!", "--tunnel-dst", "192.168.2.0/255.255.255.0"}, "c0a80101 z12 ffffffffffffffffffffffffffffffffc0a802 z13 ffffff z14 1000000700000033003f3f z228 0100010000000000", " --dir in --pol ipsec ! --reqid 7 ! --spi 0x1000 ! --proto ah ! --mode transport ! --tunnel-dst 192.168.2.0/24 ! --tunnel-src 192.168.1.1"},
		{IPv4, 0, []string{"--dir", "in", "--pol", "ipsec", "--mode", "tunnel", "--tunnel-src", "10.1.2.3/8", "--tunnel-dst", "1.2.3.4/32"}, "0a010203 z12 ff z15 01020304 z12 ffffffff z21 010b z229 0100010000000000", " --dir in --pol ipsec --mode tunnel --tunnel-dst 1.2.3.4 --tunnel-src 10.1.2.3/8"},
		{IPv4, 0, []string{"--dir", "in", "--pol", "ipsec", "--mode", "tunnel", "--tunnel-src", "10.0.0.0/255.0.255.0"}, "0a z15 ffffffffffffffffffffffffffffffff z41 0109 z229 0100010000000000", " --dir in --pol ipsec --mode tunnel --tunnel-src 10.0.0.0"},
		{IPv4, 0, []string{"--dir", "in", "--pol", "ipsec", "--mode", "tunnel", "--tunnel-src", "10.0.0.0/0"}, "0a z72 0109 z229 0100010000000000", " --dir in --pol ipsec --mode tunnel --tunnel-src 10.0.0.0/0"},
		{IPv4, 0, []string{"--dir", "in", "--strict", "--proto", "esp", "--next", "--proto", "ah", "--mode", "transport", "--next", "--mode", "tunnel", "--next", "--spi", "3"}, "z72 320004 z73 33000c z74 0108 z65 03 z9 10000900040000000000", " --dir in --pol ipsec --strict --proto esp --next --proto ah --mode transport --next --mode tunnel --next --spi 0x3"},
		{IPv4, 0, []string{"--dir", "in", "--pol", "none", "--reqid", "5"}, "z68 05000000000020 z229 0500000000000000", " --dir in --pol none"},
		{IPv4, 0, []string{"--dir", "in", "--proto", "108"}, "z72 6c0004 z229 0100010000000000", " --dir in --pol ipsec --proto ipcomp"},
		{IPv4, 0, []string{"--dir", "in", "--reqid", "4294967295", "--spi", "0xffffffff"}, "z64 ffffffffffffffff000030 z229 0100010000000000", " --dir in --pol ipsec --reqid 4294967295 --spi 0xffffffff"},
		{IPv4, 0, []string{"--dir", "in", "--strict", "--mode", "tunnel", "--tunnel-src", "10.0.0.1", "--next", "!", "--mode", "transport", "--tunnel-dst", "10.0.0.2"}, "0a000001 z12 ffffffffffffffffffffffffffffffff z41 0109 z33 0a000002 z12 ffffffffffffffffffffffffffffffff z10 0a08 z152 0900020000000000", " --dir in --pol ipsec --strict --mode tunnel --tunnel-src 10.0.0.1 --next ! --mode transport --tunnel-dst 10.0.0.2"},
		{IPv6, 0, []string{"--dir", "in", "--pol", "ipsec"}, "z304 0100010000000000", " --dir in --pol ipsec"},
		{IPv6, 0, []string{"--dir", "out", "--pol", "ipsec", "--strict", "--reqid", "1", "--spi", "0x1", "--proto", "esp", "--mode", "tunnel", "--tunnel-dst", "2001:db8::/32", "--tunnel-src", "2001:db8::1", "--next", "--reqid", "2"}, "20010db8 z11 01ffffffffffffffffffffffffffffffff20010db8 z12 ffffffff z12 010000000100000032013f z69 02000000000020 z153 0a00020000000000", " --dir out --pol ipsec --strict --reqid 1 --spi 0x1 --proto esp --mode tunnel --tunnel-dst 2001:db8::/32 --tunnel-src 2001:db8::1 --next --reqid 2"},
		{IPv6, 0, []string{"--dir", "in", "--mode", "tunnel", "--tunnel-src", "::1.2.3.4", "--tunnel-dst", "::ffff:1.2.3.4/96"}, "z12 01020304ffffffffffffffffffffffffffffffff z10 ffff01020304ffffffffffffffffffffffff z13 010b z229 0100010000000000", " --dir in --pol ipsec --mode tunnel --tunnel-dst ::ffff:1.2.3.4/96 --tunnel-src ::1.2.3.4"},
		{IPv6, 0, []string{"--dir", "in", "--mode", "tunnel", "--tunnel-src", "fe80::1/ffff:ffff::", "--tunnel-dst", "2001:db8::/ffff::ff"}, "fe80 z13 01ffffffff z12 20010db8 z12 ffffffffffffffffffffffffffffffff z9 010b z229 0100010000000000", " --dir in --pol ipsec --mode tunnel --tunnel-dst 2001:db8:: --tunnel-src fe80::1/32"},
		{IPv6, 0, []string{"--dir", "in", "--mode", "tunnel", "--tunnel-src", "2001:db8:0:0:1:0:0:1/128", "--tunnel-dst", "::/0"}, "20010db8000000000001000000000001ffffffffffffffffffffffffffffffff z41 010b z229 0100010000000000", " --dir in --pol ipsec --mode tunnel --tunnel-dst ::/0 --tunnel-src 2001:db8::1:0:0:1"},
		{IPv6, 0, []string{"--dir", "in", "--mode", "tunnel", "--tunnel-src", "2001:db8::1/127", "--tunnel-dst", "2001:db8::/65"}, "20010db8 z11 01fffffffffffffffffffffffffffffffe20010db8 z12 ffffffffffffffff80 z16 010b z229 0100010000000000", " --dir in --pol ipsec --mode tunnel --tunnel-dst 2001:db8::/65 --tunnel-src 2001:db8::1/127"},
	})
	checkTokenErrors(t, Match, "policy", 0, []badTokens{
		{IPv4, []string{"--dir", "in", "--pol", "ipsec", "--strict"}},
		{IPv4, []string{"--dir", "in", "--pol", "ipsec", "--strict", "--reqid", "1", "--spi", "0x1", "--proto", "esp", "--tunnel-dst", "10.0.0.0/8"}},
		{IPv4, []string{"--dir", "in", "--strict", "--proto", "esp", "--next", "--proto", "ah", "--next", "--mode", "tunnel", "--next", "--spi", "3", "--next", "--reqid", "4"}},
		{IPv4, []string{"--dir", "in", "--proto", "esp", "--next", "--proto", "ah"}},
		{IPv4, []string{"--dir", "in", "--pol", "none", "--strict", "--reqid", "5"}},
		{IPv4, []string{"--dir", "in", "--pol", "none", "--strict", "--reqid", "5", "--next", "--spi", "1"}},
		{IPv4, []string{"--pol", "ipsec"}},
		{IPv4, []string{"--dir", "up"}},
		{IPv4, []string{"--dir", "in", "--pol", "maybe"}},
		{IPv4, []string{"--dir", "in", "--mode", "bus"}},
		{IPv4, []string{"--dir", "in", "--proto", "tcp"}},
		{IPv4, []string{"--dir", "in", "--reqid", "1", "--reqid", "2"}},
		{IPv4, []string{"--dir", "in", "--dir", "out"}},
		{IPv4, []string{"--dir", "in", "--mode", "tunnel", "--tunnel-src", "10.0.0.300"}},
		{IPv4, []string{"--dir", "in", "--mode", "tunnel", "--tunnel-src", "::1"}},
		{IPv6, []string{"--dir", "in", "--mode", "tunnel", "--tunnel-src", "10.0.0.1"}},
	})
}
