package ext

import "testing"

func TestConnmark(t *testing.T) {
	cases := []extCase{
		{in: "--set-xmark 0x1/0xff", hex: "01000000 ff000000 ffffffff 00000000"},
		{in: "--set-mark 7", hex: "07000000 ffffffff ffffffff 00000000", save: "--set-xmark 0x7/0xffffffff"},
		{in: "--set-mark 1/2", hex: "01000000 03000000 ffffffff 00000000", save: "--set-xmark 0x1/0x3"},
		{in: "--and-mark 0xf", hex: "00000000 f0ffffff ffffffff 00000000", save: "--set-xmark 0x0/0xfffffff0"},
		{in: "--or-mark 0x8", hex: "08000000 08000000 ffffffff 00000000", save: "--set-xmark 0x8/0x8"},
		{in: "--xor-mark 9", hex: "09000000 00000000 ffffffff 00000000", save: "--set-xmark 0x9/0x0"},
		{in: "--save-mark", hex: "00000000 ffffffff ffffffff 00000100", save: "--save-mark --nfmask 0xffffffff --ctmask 0xffffffff"},
		{in: "--restore-mark", hex: "00000000 ffffffff ffffffff 00000200", save: "--restore-mark --nfmask 0xffffffff --ctmask 0xffffffff"},
		{in: "--save-mark --mask 0xff", hex: "00000000 ff000000 ff000000 00000100", save: "--save-mark --nfmask 0xff --ctmask 0xff"},
		{in: "--restore-mark --ctmask 0xf0 --nfmask 0xf", hex: "00000000 f0000000 0f000000 00000200", save: "--restore-mark --nfmask 0xf --ctmask 0xf0"},
		{in: "--save-mark --left-shift-mark 8", hex: "00000000 ffffffff ffffffff 00080100",
			save: "--save-mark --nfmask 0xffffffff --ctmask 0xffffffff --left-shift-mark 8"},
		{in: "--restore-mark --right-shift-mark 16 --mask 0xffff0000", hex: "00000000 0000ffff 0000ffff 01100200",
			save: "--restore-mark --nfmask 0xffff0000 --ctmask 0xffff0000 --right-shift-mark 16"},
		{in: "--set-mark 1 --left-shift-mark 3", hex: "01000000 ffffffff ffffffff 00030000",
			save: "--set-xmark 0x1/0xffffffff --left-shift-mark 3"},
		// --ctmask after --set-xmark overrides the mask given with it.
		{in: "--set-xmark 1/2 --ctmask 3", hex: "01000000 03000000 ffffffff 00000000", save: "--set-xmark 0x1/0x3"},
		{family: IPv6, in: "--restore-mark", hex: "00000000 ffffffff ffffffff 00000200", save: "--restore-mark --nfmask 0xffffffff --ctmask 0xffffffff"},
	}
	checkExt(t, Target, "CONNMARK", 2, cases)
	bad := []string{
		"", "--mask 1", "--save-mark --mask 1 --ctmask 2", "--save-mark --nfmask 1 --mask 2",
		"--save-mark --left-shift-mark 33", "--save-mark --right-shift-mark 32", "--save-mark --restore-mark", "--set-mark 1 --and-mark 2",
		"--save-mark --save-mark", "--left-shift-mark 1",
	}
	checkExtErrors(t, Target, "CONNMARK", 2, IPv4, bad)
	checkSaveRefused(t, Target, "CONNMARK", 2, IPv4, "00000000 ffffffff ffffffff 00000300", "00000000 ffffffff ffffffff 02010000")

	// Revision 1: the mode sits at byte 12 and there is no shift.
	checkExt(t, Target, "CONNMARK", 1, []extCase{
		{in: "--set-mark 1/2", hex: "01000000 03000000 ffffffff 00000000", save: "--set-xmark 0x1/0x3"},
		{in: "--save-mark --mask 0xff", hex: "00000000 ff000000 ff000000 01000000", save: "--save-mark --nfmask 0xff --ctmask 0xff"},
		{in: "--restore-mark", hex: "00000000 ffffffff ffffffff 02000000", save: "--restore-mark --nfmask 0xffffffff --ctmask 0xffffffff"},
	})
	checkExtErrors(t, Target, "CONNMARK", 1, IPv4, []string{"--save-mark --left-shift-mark 1"})
	checkSaveRefused(t, Target, "CONNMARK", 1, IPv4, "00000000 ffffffff ffffffff 03000000")
}
