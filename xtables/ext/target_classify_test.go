package ext

import "testing"

func TestClassify(t *testing.T) {
	checkExt(t, Target, "CLASSIFY", 0, []extCase{
		{in: "--set-class 1:10", hex: "10000100 00000000", save: "--set-class 0001:0010"},
		{in: "--set-class 0xffff:0XABCD", hex: "cdabffff 00000000", save: "--set-class ffff:abcd"},
		{in: "--set-class 0:0", hex: "00000000 00000000", save: "--set-class 0000:0000"},
		{family: IPv6, in: "--set-class 1:1", hex: "01000100 00000000", save: "--set-class 0001:0001"},
	})
	checkExtErrors(t, Target, "CLASSIFY", 0, IPv4, []string{
		"", "--set-class 1", "--set-class 1:", "--set-class :1", "--set-class 1:2x", "--set-class 10000:1",
		"--set-class 1:2 --set-class 1:3", "--set-class g:1",
	})
}
