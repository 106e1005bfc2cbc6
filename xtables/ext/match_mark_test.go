package ext

import "testing"

func TestMarkMatch(t *testing.T) {
	// Rows checked against iptables-legacy-restore/-save 1.8.9 and the
	// kernel's copy of the payload (revision 1, the one it picks).
	checkExt(t, Match, "mark", 1, []extCase{
		{in: "--mark 1", save: "--mark 0x1", hex: "01000000ffffffff 0000000000000000"},
		{in: "! --mark 0x10/0xff", hex: "10000000ff000000 0100000000000000"},
		{in: "--mark 0xffffffff/0xffffffff", save: "--mark 0xffffffff", hex: "ffffffffffffffff 0000000000000000"},
		{in: "--mark 7/0", save: "--mark 0x7/0x0", hex: "0700000000000000 0000000000000000"},
		{in: "--mark 1/0x1ff", save: "--mark 0x1/0x1ff", hex: "01000000ff010000 0000000000000000"},
		{family: IPv6, in: "--mark 3", save: "--mark 0x3", hex: "03000000ffffffff 0000000000000000"},
	})
	// Revision 0 (unsigned longs): unit-tested only, Linux lacks it.
	checkExt(t, Match, "mark", 0, []extCase{
		{in: "! --mark 5/0xf", save: "! --mark 0x5/0xf", hex: "0500000000000000 0f00000000000000 0100000000000000"},
		{in: "--mark 0x20", hex: "2000000000000000 ffffffff00000000 0000000000000000"},
	})
	for _, rev := range []uint8{0, 1} {
		checkExtErrors(t, Match, "mark", rev, IPv4, []string{
			"", "--mark 1 --mark 2", "--mark 0x1/", "--mark 4294967296", "--mark x", "--mark 1/2/3", "--mark -1",
		})
	}
}

func TestConnmarkMatch(t *testing.T) {
	checkExt(t, Match, "connmark", 1, []extCase{
		{in: "--mark 0x1", hex: "01000000ffffffff 0000000000000000"},
		{in: "! --mark 5/0x0f", save: "! --mark 0x5/0xf", hex: "050000000f000000 0100000000000000"},
		{in: "--mark 0xffffffff/0xffffffff", save: "--mark 0xffffffff", hex: "ffffffffffffffff 0000000000000000"},
		{family: IPv6, in: "--mark 2/3", save: "--mark 0x2/0x3", hex: "0200000003000000 0000000000000000"},
	})
	checkExt(t, Match, "connmark", 0, []extCase{
		{in: "--mark 9", save: "--mark 0x9", hex: "0900000000000000 ffffffff00000000 0000000000000000"},
	})
	checkExtErrors(t, Match, "connmark", 1, IPv4, []string{"", "--mark 1 ! --mark 2", "--mark 0x100000000"})
}
