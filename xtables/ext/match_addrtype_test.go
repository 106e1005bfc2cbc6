package ext

import "testing"

func TestAddrtype(t *testing.T) {
	// Revision 1, the one iptables 1.8.9 uses; checked against the kernel.
	checkExt(t, Match, "addrtype", 1, []extCase{
		{family: IPv4, in: `--src-type LOCAL,unicast ! --dst-type broad --limit-iface-in`, hex: "0600080006000000", save: `--src-type UNICAST,LOCAL ! --dst-type BROADCAST --limit-iface-in`},
		{family: IPv4, in: `! --src-type u`, hex: "0100000001000000", save: `! --src-type UNSPEC`},
		{family: IPv4, in: `--dst-type UNSPEC,UNICAST,LOCAL,BROADCAST,ANYCAST,MULTICAST,BLACKHOLE,UNREACHABLE,PROHIBIT,THROW,NAT,XRESOLVE`, hex: "0000ff0f00000000"},
		{family: IPv4, in: `--dst-type LOCAL --limit-iface-out`, hex: "0000040008000000"},
		{family: IPv6, in: `--dst-type LOCAL,MULTICAST,ANYCAST`, hex: "0000340000000000", save: `--dst-type LOCAL,ANYCAST,MULTICAST`},
		{family: IPv6, in: `! --src-type UNREACHABLE --limit-iface-in`, hex: "8000000005000000"},
	})
	// Revision 0 (IPv4 only): bytes derived from struct xt_addrtype_info.
	checkExt(t, Match, "addrtype", 0, []extCase{
		{in: "--src-type LOCAL ! --dst-type UNICAST,MULTICAST", hex: "0400220000000000 0100000000000000"},
		{in: "! --src-type BLACKHOLE", hex: "4000000001000000 0000000000000000"},
	})
	checkExtErrors(t, Match, "addrtype", 1, IPv4, []string{
		"", "--limit-iface-in", "--src-type LOCAL --src-type UNICAST", "--src-type LOCAL,", "--src-type ,LOCAL",
		"--src-type LOCALX", "--src-type LOCAL --limit-iface-in --limit-iface-out",
	})
	checkExtErrors(t, Match, "addrtype", 1, IPv6, []string{
		"--dst-type BROADCAST", "--src-type BLACKHOLE", "--src-type PROHIBIT", "--dst-type LOCAL,NAT",
	})
	checkExtErrors(t, Match, "addrtype", 0, IPv4, []string{"--src-type LOCAL --limit-iface-in"})
	if Lookup(Match, "addrtype", 0, IPv6) != nil {
		t.Error("addrtype revision 0 is registered for IPv6")
	}
	e := Lookup(Match, "addrtype", 1, IPv4)
	for _, hx := range []string{"0010000000000000", "0400000010000000"} {
		if _, _, err := SaveText(e, RuleInfo{Family: IPv4}, mustHex(t, hx)); err == nil {
			t.Errorf("addrtype save %s: want an error", hx)
		}
	}
}
