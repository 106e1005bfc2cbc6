package ext

import "testing"

func TestStatisticMatch(t *testing.T) {
	// Payloads (kernel copy, master pointer zeroed) and save text from
	// iptables-legacy 1.8.9. In random mode count (bytes 12-15) repeats
	// the probability: the union overlays it on every.
	checkExt(t, Match, "statistic", 0, []extCase{
		{in: "--mode random --probability 0.5", save: "--mode random --probability 0.50000000000",
			hex: "0000000000000040 0000000000000040 0000000000000000"},
		{in: "--mode random ! --probability 0.25", save: "--mode random ! --probability 0.25000000000",
			hex: "0000010000000020 0000000000000020 0000000000000000"},
		{in: "--mode random --probability 0.00024414062", hex: "0000000000000800 0000000000000800 0000000000000000"},
		{in: "--mode random --probability 1", save: "--mode random --probability 1.00000000000",
			hex: "0000000000000080 0000000000000080 0000000000000000"},
		{in: "--mode random --probability 0", save: "--mode random --probability 0.00000000000",
			hex: "0000000000000000 0000000000000000 0000000000000000"},
		{in: "--mode random --probability 0.3", save: "--mode random --probability 0.29999999981",
			hex: "0000000066666626 0000000066666626 0000000000000000"},
		{in: "--mode random --probability 1e-3", save: "--mode random --probability 0.00100000016",
			hex: "000000009cc42000 000000009cc42000 0000000000000000"},
		{in: "--mode nth --every 3 --packet 1", hex: "0100000002000000 0100000001000000 0000000000000000"},
		{in: "--mode nth ! --every 2 --packet 0", hex: "0100010001000000 0000000001000000 0000000000000000"},
		{in: "--mode nth --every 4294967295 --packet 5", hex: "01000000feffffff 05000000f9ffffff 0000000000000000"},
		{family: IPv6, in: "--mode nth --every 2 --packet 1", hex: "0100000001000000 0100000000000000 0000000000000000"},
	})
	checkExtErrors(t, Match, "statistic", 0, IPv4, []string{
		"", "--probability 0.3", "--mode nth --every 3", "--mode nth --packet 1", "--mode nth --every 3 --packet 3",
		"--mode random", "--mode random --probability 1.1", "--mode random --probability -0.1",
		"--mode random --probability 0.5 --every 2 --packet 0", "--mode nth --every 0 --packet 0",
		"--mode random --mode nth --every 2 --packet 0", "--mode Random --probability 0.5", "--mode nth",
		"--mode random --probability nan", "--mode random --probability x", "--mode nth --every 2 --packet 0 --every 2",
		"! --mode random --probability 0.5", "--mode nth --every 2 ! --packet 0",
	})
}

func TestStatisticSaveWraps(t *testing.T) {
	// every = 2^32-1 (from a payload, not a rule) prints as 0 in C.
	e := Lookup(Match, "statistic", 0, IPv4)
	data := make([]byte, 24)
	data[0] = 1
	for i := 4; i < 8; i++ {
		data[i] = 0xff
	}
	_, opts, err := SaveText(e, RuleInfo{Family: IPv4}, data)
	if err != nil || opts != " --mode nth --every 0 --packet 0" {
		t.Errorf("got %q, %v", opts, err)
	}
	data[0] = 2
	if _, _, err := SaveText(e, RuleInfo{Family: IPv4}, data); err == nil {
		t.Error("unknown mode saved without error")
	}
}
