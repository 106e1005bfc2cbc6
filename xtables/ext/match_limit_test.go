package ext

import "testing"

func TestLimit(t *testing.T) {
	// Verified against iptables-legacy 1.8.9: payload from the kernel,
	// text from iptables-legacy-save. Bytes 8..39 are the kernel's.
	checkExt(t, Match, "limit", 0, []extCase{
		{in: "", hex: "001bb700 05000000" + zeroHex(32), save: "--limit 3/hour"},
		{in: "--limit 3/hour --limit-burst 5", hex: "001bb700 05000000" + zeroHex(32), save: "--limit 3/hour"},
		{in: "--limit 10/s --limit-burst 50", hex: "e8030000 32000000" + zeroHex(32), save: "--limit 10/sec --limit-burst 50"},
		{in: "--limit 1/d --limit-burst 1", hex: "00987f33 01000000" + zeroHex(32), save: "--limit 1/day --limit-burst 1"},
		{in: "--limit 10000", hex: "01000000 05000000" + zeroHex(32), save: "--limit 10000/sec"},
		{in: "--limit 7/min --limit-burst 1", hex: "d24e0100 01000000" + zeroHex(32)},
		{in: "--limit 3/m", hex: "400d0300 05000000" + zeroHex(32), save: "--limit 3/min"},
		{in: "--limit 2/HOUR --limit-burst 7", hex: "80a81201 07000000" + zeroHex(32), save: "--limit 2/hour --limit-burst 7"},
		{in: "--limit 7/sec", hex: "94050000 05000000" + zeroHex(32)},
		{in: "--limit 13/hour", hex: "4e412a00 05000000" + zeroHex(32)},
		{in: "--limit 333/day", hex: "22972700 05000000" + zeroHex(32)},
		{in: "--limit 1.5/s", hex: "10270000 05000000" + zeroHex(32), save: "--limit 1/sec"},
	})
	checkExtErrors(t, Match, "limit", 0, IPv4, []string{
		"--limit 0/s", "--limit x", "--limit 3/fortnight", "--limit 3/", "--limit 20000/s",
		"--limit-burst 10001", "--limit-burst 0", "--limit-burst -1",
		"--limit 1/s --limit 2/s", "! --limit 1/s",
	})
}

func TestLimitSaveInfinite(t *testing.T) {
	// print_rate prints a zero period as printf("%f", INFINITY) does.
	e := Lookup(Match, "limit", 0, IPv6)
	data := make([]byte, e.PayloadSize())
	NE.PutUint32(data[4:], 5)
	if _, opts, err := SaveText(e, RuleInfo{Family: IPv6}, data); err != nil || opts != " --limit inf" {
		t.Errorf("avg 0 saves as %q, %v", opts, err)
	}
}
