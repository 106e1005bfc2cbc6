package ext

import "testing"

func TestTargetHMARK(t *testing.T) {
	checkExt(t, Target, "HMARK", 0, []extCase{
		// A tuple word fills its whole mask; IPv4 prints the first
		// four bytes of it as a prefix.
		{in: "--hmark-tuple src,dst,sport,dport,proto --hmark-mod 10 --hmark-offset 100 --hmark-rnd 0xfeedcafe",
			hex:  "ffffffffffffffffffffffffffffffff ffffffffffffffffffffffffffffffff ffffffff 00000000 c30f0000 ffff0000 fecaedfe 0a000000 64000000 00000000",
			save: "--hmark-src-prefix 32 --hmark-dst-prefix 32 --hmark-sport-mask 0xffff --hmark-dport-mask 0xffff --hmark-proto-mask 0xffff --hmark-rnd 0xfeedcafe --hmark-mod 10 --hmark-offset 100"},
		{family: IPv6, in: "--hmark-src-prefix 64 --hmark-spi 7 --hmark-rnd 1 --hmark-mod 2 --hmark-tuple ct",
			hex:  "ffffffffffffffff0000000000000000 00000000000000000000000000000000 00000000 00000007 05160000 00000000 01000000 02000000 00000000 00000000",
			save: "--hmark-src-prefix 64 --hmark-spi 0x00000007 --hmark-rnd 0x00000001 --hmark-mod 2 --hmark-tuple ct"},
	})
	checkExtErrors(t, Target, "HMARK", 0, IPv4, []string{
		"--hmark-tuple src --hmark-rnd 1",                                    // no --hmark-mod
		"--hmark-tuple src --hmark-mod 1",                                    // no --hmark-rnd
		"--hmark-rnd 1 --hmark-mod 1",                                        // no tuple
		"--hmark-tuple src --hmark-src-prefix 8 --hmark-rnd 1 --hmark-mod 1", // src-prefix already set by the tuple
		"--hmark-tuple spi,sport --hmark-rnd 1 --hmark-mod 1",
		"--hmark-tuple src, --hmark-rnd 1 --hmark-mod 1",
		"--hmark-tuple src --hmark-rnd 1 --hmark-mod 0",
		"--hmark-src-prefix 33 --hmark-rnd 1 --hmark-mod 1",
	})
}
