package ext

import "testing"

func TestPkttype(t *testing.T) {
	checkExt(t, Match, "pkttype", 0, []extCase{
		{family: IPv4, in: `--pkt-type bcast`, hex: "0100000000000000", save: `--pkt-type broadcast`},
		{family: IPv4, in: `! --pkt-type HOST`, hex: "0000000001000000", save: `! --pkt-type unicast`},
		{family: IPv4, in: `--pkt-type multicast`, hex: "0200000000000000"},
		{family: IPv4, in: `--pkt-type MCast`, hex: "0200000000000000", save: `--pkt-type multicast`},
		{family: IPv4, in: `--pkt-type otherhost`, hex: "0300000000000000"},
		{family: IPv6, in: `! --pkt-type unicast`, hex: "0000000001000000"},
	})
	checkExtErrors(t, Match, "pkttype", 0, IPv4, []string{
		"", "--pkt-type outgoing", "--pkt-type 1", "--pkt-type uni", "--pkt-type host --pkt-type bcast",
	})
	// A type without a name (PACKET_OUTGOING) prints as a number, as
	// print_pkttype does.
	e := Lookup(Match, "pkttype", 0, IPv4)
	if _, opts, err := SaveText(e, RuleInfo{Family: IPv4}, mustHex(t, "0400000000000000")); err != nil || opts != " --pkt-type 4" {
		t.Errorf("pkttype 4: save %q, %v", opts, err)
	}
}
