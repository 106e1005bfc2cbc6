package ext

import (
	"encoding/hex"
	"strconv"
	"testing"
)

// TestParseNet is the rule header's -s/-d; the rows marked ip6tables are
// what ip6tables-legacy-restore 1.8.9 loads (prefix lengths in base 0, a
// zero mask in either form ignoring the name).
func TestParseNet(t *testing.T) {
	for _, c := range []struct {
		fam  Family
		in   string
		want string // FormatNet of the result, or the error
	}{
		{IPv4, "10.1.2.3", "10.1.2.3"},
		{IPv4, "10.1.2.3/16", "10.1.0.0/16"},
		{IPv4, "10.1", "10.1.0.0"},
		{IPv4, "10/8", "10.0.0.0/8"},
		{IPv4, "0x0a.010.1.1/0x18", "10.8.1.0/24"},
		{IPv4, "10.0.2.9/255.0.255.0", "10.0.2.0/255.0.255.0"},
		{IPv4, "any/0", "0.0.0.0/0"},
		{IPv4, "name/0.0.0.0", "0.0.0.0/0"},
		{IPv4, "10.0.0.0/33", `invalid prefix length or mask "33" (0-32)`},
		{IPv4, "10.0.0.0/255.255", `invalid prefix length or mask "255.255" (0-32)`},
		{IPv4, "host.example", `"host.example" is not a numeric IPv4 address`},
		{IPv4, "::1", `"::1" is not a numeric IPv4 address`},
		{IPv6, "2001:db8::1/32", "2001:db8::/32"},
		{IPv6, "2001:db8::/010", "2000::/8"},   // ip6tables
		{IPv6, "2001:db8::/0x10", "2001::/16"}, // ip6tables
		{IPv6, "2001:db8::/+8", "2000::/8"},    // ip6tables
		{IPv6, "foo/::", "::/0"},               // ip6tables
		{IPv6, "any/0", "::/0"},
		{IPv6, "2001:db8::/ffff:ff00::", "2001:d00::/24"},
		{IPv6, "::1/ffff::ffff", "::1/ffff::ffff"},
		{IPv6, "::1/129", `invalid prefix length or mask "129" (0-128)`},
		{IPv6, "::1/ffff::%eth0", `invalid prefix length or mask "ffff::%eth0" (0-128)`},
		{IPv6, "10.0.0.1", `"10.0.0.1" is not a numeric IPv6 address`},
		{IPv6, "fe80::1%eth0", `"fe80::1%eth0" is not a numeric IPv6 address`},
	} {
		a, m, err := ParseNet(c.in, c.fam)
		got := FormatNet(a, m)
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("ParseNet(%q, %v) = %s, want %s", c.in, c.fam, got, c.want)
		}
	}
}

// TestParseHostMask is XTTYPE_HOSTMASK and XTTYPE_PLEN: the strict form
// of the family, the address kept as written, and the two ways a
// non-contiguous mask is taken.
func TestParseHostMask(t *testing.T) {
	ones := "ffffffffffffffffffffffffffffffff"
	for _, c := range []struct {
		fam  Family
		in   string
		nc   nonContiguous
		want string // address and mask in hex, or the error
	}{
		{IPv4, "10.1.2.3", refuseNonContiguous, "0a010203000000000000000000000000 " + ones},
		{IPv4, "10.1.2.3/24", refuseNonContiguous, "0a010203000000000000000000000000 ffffff00000000000000000000000000"},
		{IPv4, "10.1.2.3/255.255.0.0", refuseNonContiguous, "0a010203000000000000000000000000 ffff0000000000000000000000000000"},
		{IPv4, "10.0.0.0/255.0.255.0", refuseNonContiguous, `network mask "255.0.255.0" is not contiguous`},
		{IPv4, "10.0.0.0/255.0.255.0", hostMaskNonContiguous, "0a000000000000000000000000000000 " + ones},
		// getaddrinfo's inet_aton forms, as iptables-legacy 1.8.9 takes
		// --ctorigsrc 10.1 (10.0.0.1).
		{IPv4, "10.1", refuseNonContiguous, "0a000001000000000000000000000000 " + ones},
		{IPv4, "0x0a.1/8", refuseNonContiguous, "0a000001000000000000000000000000 ff000000000000000000000000000000"},
		{IPv4, "167772161", refuseNonContiguous, "0a000001000000000000000000000000 " + ones},
		{IPv4, "10.1.256", refuseNonContiguous, "0a010100000000000000000000000000 " + ones},
		{IPv4, "10.256.1", refuseNonContiguous, `"10.256.1" is not a numeric IPv4 address`},
		{IPv4, "+10.1", refuseNonContiguous, `"+10.1" is not a numeric IPv4 address`},
		{IPv4, "10..1", refuseNonContiguous, `"10..1" is not a numeric IPv4 address`},
		{IPv4, "1.2.3.4.5", refuseNonContiguous, `"1.2.3.4.5" is not a numeric IPv4 address`},
		{IPv4, "10.0.0.1/33", refuseNonContiguous, `invalid prefix length or mask "33" (0-32)`},
		{IPv4, "bad/33", refuseNonContiguous, `"bad" is not a numeric IPv4 address`},
		{IPv6, "2001:db8::1/64", refuseNonContiguous, "20010db8000000000000000000000001 ffffffffffffffff0000000000000000"},
		{IPv6, "10.0.0.1", refuseNonContiguous, `"10.0.0.1" is not a numeric IPv6 address`},
	} {
		a, m, err := parseHostMask(c.in, c.fam, c.nc)
		got := hex.EncodeToString(a[:]) + " " + hex.EncodeToString(m[:])
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("parseHostMask(%q, %v, %v) = %s, want %s", c.in, c.fam, c.nc, got, c.want)
		}
	}
	for in, want := range map[string]string{
		"24": "24", "0x18": "24", "255.255.255.0": "24", "0": "0",
		"255.0.255.0": `network mask "255.0.255.0" is not contiguous`,
		"33":          `invalid prefix length or mask "33" (0-32)`,
		"-1":          `invalid prefix length or mask "-1" (0-32)`,
	} {
		n, err := parsePrefixLen(in, IPv4)
		got := strconv.Itoa(n)
		if err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("parsePrefixLen(%q) = %s, want %s", in, got, want)
		}
	}
}
