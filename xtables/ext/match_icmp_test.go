package ext

import "testing"

func TestICMP(t *testing.T) {
	checkExt(t, Match, "icmp", 0, []extCase{
		{family: IPv4, proto: 1, in: `--icmp-type echo-request`, hex: "0800ff0000000000", save: `--icmp-type 8`},
		{family: IPv4, proto: 1, in: `--icmp-type any`, hex: "ff00ff0000000000"},
		{family: IPv4, proto: 1, in: `! --icmp-type port-unreachable`, hex: "0303030100000000", save: `! --icmp-type 3/3`},
		{family: IPv4, proto: 1, in: `--icmp-type 3/1:5`, hex: "0301050000000000", save: `--icmp-type 3/1`},
		{family: IPv4, proto: 1, in: `--icmp-type 0x0b`, hex: "0b00ff0000000000", save: `--icmp-type 11`},
		{family: IPv4, proto: 1, in: `--icmp-type destination-unreachable`, hex: "0300ff0000000000", save: `--icmp-type 3`},
		{family: IPv4, proto: 1, in: `--icmp-type 3/0`, hex: "0300000000000000"},
		{family: IPv4, proto: 1, in: `--icmp-type 5/0:255`, hex: "0500ff0000000000", save: `--icmp-type 5`},
		{family: IPv4, proto: 1, in: `--icmp-type ECHO-REP`, hex: "0000ff0000000000", save: `--icmp-type 0`},
		{family: IPv4, proto: 1, in: `--icmp-type 8:8/3`, hex: "0803030000000000", save: `--icmp-type 8/3`},
		{family: IPv4, proto: 1, in: `! --icmp-type any`, hex: "ff00ff0100000000"},
		{family: IPv4, proto: 1, in: `--icmp-type TOS-host-unreachable`, hex: "030c0c0000000000", save: `--icmp-type 3/12`},
		{family: IPv4, proto: 1, in: `--icmp-type 255/1`, hex: "ff01010000000000", save: `--icmp-type any`},
	})
	checkExtErrors(t, Match, "icmp", 0, IPv4, []string{
		"", "--icmp-type echo-re", "--icmp-type 256", "--icmp-type 8:9", "--icmp-type 3/256",
		"--icmp-type 3/1x", "--icmp-type 3x", "--icmp-type bogus", "--icmp-type 8 --icmp-type 0",
		"--icmp-type -1",
	})
	if Lookup(Match, "icmp", 0, IPv6) != nil {
		t.Error("icmp is registered for IPv6; ip6tables has icmp6 instead")
	}
}
