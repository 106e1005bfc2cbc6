package ext

import "testing"

func TestMAC(t *testing.T) {
	checkExt(t, Match, "mac", 0, []extCase{
		{family: IPv4, in: `--mac-source 00:1A:2b:3:4:05`, hex: "001a2b03040500000000000000000000", save: `--mac-source 00:1a:2b:03:04:05`},
		{family: IPv4, in: `! --mac-source 0::2:3:4:5`, hex: "00000203040500000100000000000000", save: `! --mac-source 00:00:02:03:04:05`},
		{family: IPv6, in: `--mac-source ff:ff:ff:ff:ff:ff`, hex: "ffffffffffff00000000000000000000"},
	})
	checkExtErrors(t, Match, "mac", 0, IPv4, []string{
		"", "--mac-source 00:11:22:33:44", "--mac-source 00:11:22:33:44:55:66", "--mac-source 000:11:22:33:44:55",
		"--mac-source 0g:11:22:33:44:55", "--mac-source 00-11-22-33-44-55",
		"--mac-source 00:11:22:33:44:55 --mac-source 00:11:22:33:44:56",
	})
}
