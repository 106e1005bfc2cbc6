package ext

import "testing"

// Rows checked against iptables-legacy 1.8.9: the hex is what the kernel
// held after iptables-legacy-restore, the save text what
// iptables-legacy-save printed.
func TestUDP(t *testing.T) {
	checkExt(t, Match, "udp", 0, []extCase{
		{family: IPv4, proto: 17, in: `--sport 53 --dport 1024:65535`, hex: "350035000004ffff0000000000000000"},
		{family: IPv4, proto: 17, in: `--dport 90:80`, hex: "0000ffff5a0050000000000000000000"},
		{family: IPv4, proto: 17, in: `--source-port 5: ! --destination-port :1023`, hex: "0500ffff0000ff030200000000000000", save: `--sport 5:65535 ! --dport 0:1023`},
		{family: IPv4, proto: 17, in: `--dport domain`, hex: "0000ffff350035000000000000000000", save: `--dport 53`},
		{family: IPv4, proto: 17, in: `--dport 010`, hex: "0000ffff0a000a000000000000000000", save: `--dport 10`},
		{family: IPv6, proto: 17, in: `! --dport 53`, hex: "0000ffff350035000200000000000000"},
	})
	// An inverted full range is kept in the payload but not printed.
	e := Lookup(Match, "udp", 0, IPv4)
	if _, opts, err := SaveText(e, RuleInfo{Family: IPv4, Proto: 17}, mustHex(t, "0000ffff0000ffff0100000000000000")); err != nil || opts != "" {
		t.Errorf("udp full inverted range: save %q, %v; want nothing", opts, err)
	}
	checkExtErrors(t, Match, "udp", 0, IPv4, []string{
		"--dport 70000", "--dport 0x10", "--dport 1:2:3", "--dport nosuchservice",
		"--dport 22 --destination-port 23", "--sport 1 --source-port 2", "! --sport",
	})
}
