package ext

import "testing"

func TestICMP6(t *testing.T) {
	checkExt(t, Match, "icmp6", 0, []extCase{
		{family: IPv6, proto: 58, in: `--icmpv6-type echo-request`, hex: "8000ff0000000000", save: `--icmpv6-type 128`},
		{family: IPv6, proto: 58, in: `! --icmpv6-type 1/3`, hex: "0103030100000000"},
		{family: IPv6, proto: 58, in: `--icmpv6-type neighbor-solicitation`, hex: "8700ff0000000000", save: `--icmpv6-type 135`},
		{family: IPv6, proto: 58, in: `--icmpv6-type 1/0:255`, hex: "0100ff0000000000", save: `--icmpv6-type 1`},
		{family: IPv6, proto: 58, in: `--icmpv6-type port-unreachable`, hex: "0104040000000000", save: `--icmpv6-type 1/4`},
		{family: IPv6, proto: 58, in: `--icmpv6-type 0`, hex: "0000ff0000000000"},
		{family: IPv6, proto: 58, in: `--icmpv6-type 255/255`, hex: "ffffff0000000000"},
		{family: IPv6, proto: 58, in: `--icmpv6-type pac`, hex: "0200ff0000000000", save: `--icmpv6-type 2`},
	})
	checkExtErrors(t, Match, "icmp6", 0, IPv6, []string{
		"", "--icmpv6-type pa", "--icmpv6-type neighbo", "--icmpv6-type any", "--icmpv6-type 1:2",
		"--icmpv6-type 1/", "--icmpv6-type 1 --icmpv6-type 2",
	})
}
