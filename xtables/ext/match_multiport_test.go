package ext

import (
	"strings"
	"testing"
)

func TestMultiport(t *testing.T) {
	// Revision 1, the one iptables 1.8.9 uses; checked against the kernel.
	checkExt(t, Match, "multiport", 1, []extCase{
		{family: IPv4, proto: 6, in: `--dports 22,80,443:445`, hex: "010416005000bb01bd010000000000000000000000000000000000000000000000000100000000000000000000000000"},
		{family: IPv4, proto: 17, in: `! --sports domain,ntp`, hex: "000235007b00000000000000000000000000000000000000000000000000000000000000000000000000000000000001", save: `! --sports 53,123`},
		{family: IPv4, proto: 6, in: `--ports 1:2,3`, hex: "020301000200030000000000000000000000000000000000000000000000000001000000000000000000000000000000"},
		{family: IPv4, proto: 6, in: `--destination-ports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15`, hex: "010f0100020003000400050006000700080009000a000b000c000d000e000f0000000000000000000000000000000000", save: `--dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15`},
		{family: IPv4, proto: 6, in: `--source-ports 1,2,3,4,5,6,7,8,9,10,11,12,13:14`, hex: "000e0100020003000400050006000700080009000a000b000c000d000e00000000000000000000000000000001000000", save: `--sports 1,2,3,4,5,6,7,8,9,10,11,12,13:14`},
		{family: IPv4, proto: 132, in: `--dports 0x10,020`, hex: "010210001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", save: `--dports 16,16`},
		{family: IPv4, proto: 136, in: `! --ports 1000:2000`, hex: "0202e803d007000000000000000000000000000000000000000000000000000001000000000000000000000000000001"},
		{family: IPv4, proto: 33, in: `--dports 5004`, hex: "01018c130000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"},
		{family: IPv6, proto: 6, in: `--dports 80,443`, hex: "01025000bb01000000000000000000000000000000000000000000000000000000000000000000000000000000000000"},
		{family: IPv6, proto: 17, in: `! --sports 53`, hex: "000135000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001"},
	})
	// Revision 0 has no ranges and no inversion; bytes derived from
	// struct xt_multiport.
	checkExt(t, Match, "multiport", 0, []extCase{
		{proto: 6, in: "--dports 22,80,443", hex: "010316005000bb01 0000000000000000 0000000000000000 0000000000000000"},
		{proto: 17, in: "--source-ports domain", hex: "0001350000000000 0000000000000000 0000000000000000 0000000000000000", save: "--sports 53"},
		{family: IPv6, proto: 132, in: "--ports 1", hex: "0201010000000000 0000000000000000 0000000000000000 0000000000000000"},
	})
	bad := []string{
		"", "--dports 22 --sports 23", "--dports 22 --dports 23", "--dports 80:80", "--dports 90:80",
		"--dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", "--dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15:16",
		"--dports 1,,2", "--dports 1:2:3", "--dports 70000",
	}
	e1 := Lookup(Match, "multiport", 1, IPv4)
	e0 := Lookup(Match, "multiport", 0, IPv4)
	for _, in := range bad {
		if _, err := ParseOptions(e1, RuleInfo{Family: IPv4, Proto: 6}, strings.Fields(in)); err == nil {
			t.Errorf("multiport.1 %q: parsed, want an error", in)
		}
	}
	for _, in := range []string{"! --dports 22", "--dports 22:23"} {
		if _, err := ParseOptions(e0, RuleInfo{Family: IPv4, Proto: 6}, strings.Fields(in)); err == nil {
			t.Errorf("multiport.0 %q: parsed, want an error", in)
		}
	}
	// The rule's protocol must carry ports and not be inverted.
	for _, r := range []RuleInfo{{Family: IPv4}, {Family: IPv4, Proto: 1}, {Family: IPv4, Proto: 6, ProtoInvert: true}} {
		if _, err := ParseOptions(e1, r, []string{"--dports", "22"}); err == nil {
			t.Errorf("multiport with proto %d (invert %v): parsed, want an error", r.Proto, r.ProtoInvert)
		}
	}
	// Payloads iptables could not print back are refused.
	for _, hx := range []string{
		"0100" + strings.Repeat("00", 46),                                       // no ports
		"0310" + strings.Repeat("00", 46),                                       // 16 ports
		"0301" + strings.Repeat("00", 46),                                       // unknown flags
		"01011600" + strings.Repeat("00", 28) + "01" + strings.Repeat("00", 15), // range on the last port
	} {
		if _, _, err := SaveText(e1, RuleInfo{Family: IPv4, Proto: 6}, mustHex(t, hx)); err == nil {
			t.Errorf("multiport save %s: want an error", hx)
		}
	}
}
