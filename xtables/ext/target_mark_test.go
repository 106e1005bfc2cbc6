package ext

import "testing"

func TestMark(t *testing.T) {
	checkExt(t, Target, "MARK", 2, []extCase{
		{in: "--set-xmark 0x1/0xff", hex: "01000000 ff000000"},
		{in: "--set-xmark 5", hex: "05000000 ffffffff", save: "--set-xmark 0x5/0xffffffff"},
		{in: "--set-mark 0x10", hex: "10000000 ffffffff", save: "--set-xmark 0x10/0xffffffff"},
		{in: "--set-mark 1/2", hex: "01000000 03000000", save: "--set-xmark 0x1/0x3"},
		{in: "--and-mark 0xff00", hex: "00000000 ff00ffff", save: "--set-xmark 0x0/0xffff00ff"},
		{in: "--or-mark 4", hex: "04000000 04000000", save: "--set-xmark 0x4/0x4"},
		{in: "--xor-mark 0x3", hex: "03000000 00000000", save: "--set-xmark 0x3/0x0"},
		{in: "--set-mark 0", hex: "00000000 ffffffff", save: "--set-xmark 0x0/0xffffffff"},
		{family: IPv6, in: "--set-mark 1", hex: "01000000 ffffffff", save: "--set-xmark 0x1/0xffffffff"},
	})
	checkExtErrors(t, Target, "MARK", 2, IPv4, []string{
		"", "--set-mark 1 --or-mark 2", "--set-mark 1/2/3", "--set-mark 1 --set-mark 2",
		"--and-mark 1/2", "--set-xmark 0x100000000", "--xor-mark x",
	})
}
