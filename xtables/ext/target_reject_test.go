package ext

import "testing"

func TestRejectIPv4(t *testing.T) {
	checkExt(t, Target, "REJECT", 0, []extCase{
		{family: IPv4, in: "", hex: "03000000 00000000", save: "--reject-with icmp-port-unreachable"},
		{family: IPv4, in: "--reject-with icmp-net-unreachable", hex: "00000000 00000000"},
		{family: IPv4, in: "--reject-with host-unreach", hex: "01000000 00000000", save: "--reject-with icmp-host-unreachable"},
		{family: IPv4, in: "--reject-with ICMP-PROTO", hex: "02000000 00000000", save: "--reject-with icmp-proto-unreachable"},
		{family: IPv4, in: "--reject-with port", hex: "03000000 00000000", save: "--reject-with icmp-port-unreachable"},
		{family: IPv4, in: "--reject-with net-prohib", hex: "05000000 00000000", save: "--reject-with icmp-net-prohibited"},
		{family: IPv4, in: "--reject-with icmp-host-prohibited", hex: "06000000 00000000"},
		{family: IPv4, proto: 6, in: "--reject-with tcp", hex: "07000000 00000000", save: "--reject-with tcp-reset"},
		{family: IPv4, proto: 6, in: "--reject-with tcp-rst", hex: "07000000 00000000", save: "--reject-with tcp-reset"},
		{family: IPv4, in: "--reject-with admin-prohib", hex: "08000000 00000000", save: "--reject-with icmp-admin-prohibited"},
		{family: IPv4, in: "--reject-with icmp-", hex: "00000000 00000000", save: "--reject-with icmp-net-unreachable"},
	})
	checkExtErrors(t, Target, "REJECT", 0, IPv4, []string{
		"--reject-with echo-reply", "--reject-with bogus", "--reject-with tcp-reset",
		"--reject-with icmp6-no-route", "--reject-with", "--reject-with port --reject-with net",
		"--reject-with icmp-port-unreachable-x",
	})
	checkSaveRefused(t, Target, "REJECT", 0, IPv4, "04000000 00000000", "09000000 00000000")
}

func TestRejectIPv6(t *testing.T) {
	checkExt(t, Target, "REJECT", 0, []extCase{
		{family: IPv6, in: "", hex: "04000000 00000000", save: "--reject-with icmp6-port-unreachable"},
		{family: IPv6, in: "--reject-with icmp6-no-route", hex: "00000000 00000000"},
		{family: IPv6, in: "--reject-with no-route", hex: "00000000 00000000", save: "--reject-with icmp6-no-route"},
		{family: IPv6, in: "--reject-with adm-prohibited", hex: "01000000 00000000", save: "--reject-with icmp6-adm-prohibited"},
		{family: IPv6, in: "--reject-with addr-unreach", hex: "03000000 00000000", save: "--reject-with icmp6-addr-unreachable"},
		{family: IPv6, in: "--reject-with port-unreach", hex: "04000000 00000000", save: "--reject-with icmp6-port-unreachable"},
		{family: IPv6, proto: 6, in: "--reject-with tcp-reset", hex: "06000000 00000000"},
		{family: IPv6, in: "--reject-with policy-fail", hex: "07000000 00000000", save: "--reject-with icmp6-policy-fail"},
		{family: IPv6, in: "--reject-with icmp6-reject-route", hex: "08000000 00000000"},
	})
	checkExtErrors(t, Target, "REJECT", 0, IPv6, []string{
		"--reject-with icmp6-not-neighbor", "--reject-with icmp-port-unreachable", "--reject-with tcp-reset",
	})
	checkSaveRefused(t, Target, "REJECT", 0, IPv6, "02000000 00000000", "05000000 00000000", "09000000 00000000")
}

func TestRejectInvertedProto(t *testing.T) {
	e := Lookup(Target, "REJECT", 0, IPv4)
	_, err := ParseOptions(e, RuleInfo{Family: IPv4, Proto: 6, ProtoInvert: true}, []string{"--reject-with", "tcp-reset"})
	if err == nil {
		t.Error("tcp-reset with ! -p tcp parsed, want an error")
	}
}
