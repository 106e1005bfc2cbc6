package ext

import "testing"

func TestNFQueue(t *testing.T) {
	checkExt(t, Target, "NFQUEUE", 3, []extCase{
		{in: "", hex: "0000 0100 0000 0000", save: "--queue-num 0"},
		{in: "--queue-num 7", hex: "0700 0100 0000 0000"},
		{in: "--queue-balance 2:5 --queue-bypass --queue-cpu-fanout", hex: "0200 0400 0300 0000"},
		{in: "--queue-balance :3", hex: "0000 0400 0000 0000", save: "--queue-balance 0:3"},
		{in: "--queue-balance 65000:", hex: "e8fd 1802 0000 0000", save: "--queue-balance 65000:65535"},
		{in: "--queue-bypass", hex: "0000 0100 0100 0000", save: "--queue-num 0 --queue-bypass"},
		{family: IPv6, in: "--queue-num 9 --queue-bypass", hex: "0900 0100 0100 0000"},
	})
	checkExtErrors(t, Target, "NFQUEUE", 3, IPv4, []string{
		"--queue-balance 0:65535", "--queue-balance 5", "--queue-balance 5:5", "--queue-balance 6:5",
		"--queue-balance 1:2:3", "--queue-num 1 --queue-cpu-fanout", "--queue-cpu-fanout",
		"--queue-num 1 --queue-balance 1:2", "--queue-num 65536", "--queue-bypass --queue-bypass",
	})
	checkSaveRefused(t, Target, "NFQUEUE", 3, IPv4, "0000 0000 0000 0000", "0000 0100 0400 0000")

	// Older revisions, for rules an older iptables left behind.
	checkExt(t, Target, "NFQUEUE", 0, []extCase{
		{in: "--queue-num 3", hex: "0300 0000 0000 0000"},
	})
	checkExt(t, Target, "NFQUEUE", 1, []extCase{
		{in: "--queue-num 3", hex: "0300 0100 0000 0000"},
		{in: "--queue-balance 1:2", hex: "0100 0200 0000 0000"},
	})
	checkExt(t, Target, "NFQUEUE", 2, []extCase{
		{in: "--queue-balance 1:2 --queue-bypass", hex: "0100 0200 0100 0000"},
	})
	checkExtErrors(t, Target, "NFQUEUE", 0, IPv4, []string{"--queue-balance 1:2", "--queue-bypass"})
	checkExtErrors(t, Target, "NFQUEUE", 1, IPv4, []string{"--queue-bypass"})
	checkExtErrors(t, Target, "NFQUEUE", 2, IPv4, []string{"--queue-balance 1:2 --queue-cpu-fanout"})
	checkSaveRefused(t, Target, "NFQUEUE", 2, IPv4, "0100 0200 0200 0000")
}
