package ext

import (
	"testing"
)

func TestSetTarget(t *testing.T) {
	names := testNames.with(fakeIPSets{{"v4", IPv4}, {"v6", IPv6}, {"list", FamilyAny}, {"map", IPv4}})
	checkExtWith(t, names, Target, "SET", 3, []extCase{
		{in: "--add-set v4 src", hex: "0000 01 02 ffff 00 00 ffff 00 00 00000000 ffffffff 00000000"},
		{in: "--del-set list dst,src", hex: "ffff 00 00 0200 02 04 ffff 00 00 00000000 ffffffff 00000000"},
		{in: "--add-set v4 src,dst --exist --timeout 600", hex: "0000 02 02 ffff 00 00 ffff 00 00 01000000 58020000 00000000"},
		{in: "--timeout 0 --add-set v4 dst --del-set list src", hex: "0000 01 00 0200 01 02 ffff 00 00 00000000 00000000 00000000",
			save: "--add-set v4 dst --timeout 0 --del-set list src"},
		{in: "--map-set map dst --map-mark --map-prio --map-queue", hex: "ffff 00 00 ffff 00 00 0300 01 00 00070000 ffffffff 00000000"},
		{in: "--map-queue --map-set map src,src,src,src,src,src", hex: "ffff 00 00 ffff 00 00 0300 06 7e 00040000 ffffffff 00000000",
			save: "--map-set map src,src,src,src,src,src --map-queue"},
		{family: IPv6, in: "--add-set v6 src", hex: "0100 01 02 ffff 00 00 ffff 00 00 00000000 ffffffff 00000000"},
	})
	checkExtErrorsWith(t, names, Target, "SET", 3, IPv4, []string{
		"", "--add-set v6 src", "--add-set nosuch src", "--add-set v4 src --add-set v4 dst",
		"--add-set v4 source", "--add-set v4 src,src,src,src,src,src,src", "--add-set v4 -x",
		"--del-set v4 src --exist", "--del-set v4 src --timeout 5", "--add-set v4 src --timeout 4294967295",
		"--add-set v4 src --map-mark", "--map-set map src", "--exist",
	})
	checkSaveRefused(t, Target, "SET", 3, IPv4,
		"0900 01 02 ffff 00 00 ffff 00 00 00000000 ffffffff 00000000", // unknown index
		"0000 07 02 ffff 00 00 ffff 00 00 00000000 ffffffff 00000000", // dim above 6
		"0000 01 02 ffff 00 00 ffff 00 00 02000000 ffffffff 00000000", // unknown flag
	)

	checkExtWith(t, names, Target, "SET", 2, []extCase{
		{in: "--add-set v4 src --exist --timeout 5", hex: "0000 01 02 ffff 00 00 01000000 05000000"},
		{in: "--del-set v4 dst", hex: "ffff 00 00 0000 01 00 00000000 ffffffff"},
	})
	checkExtErrorsWith(t, names, Target, "SET", 2, IPv4, []string{"--map-set map src --map-mark"})
	checkExtWith(t, names, Target, "SET", 1, []extCase{
		{in: "--add-set v4 src --del-set list dst,dst", hex: "0000 01 02 0200 02 00"},
	})
	checkExtErrorsWith(t, names, Target, "SET", 1, IPv4, []string{"--add-set v4 src --exist"})
}
