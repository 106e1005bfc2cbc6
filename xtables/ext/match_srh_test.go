package ext

import "testing"

func TestMatchSRH(t *testing.T) {
	checkExt(t, Match, "srh", 1, []extCase{
		{family: IPv6, in: "--srh-next-hdr 17 ! --srh-tag 7 ! --srh-nsid 2001:db8::/64",
			hex: "1100000007000000 00000000000000000000000000000000 20010db8000000000000000000000000 00000000000000000000000000000000" +
				"00000000000000000000000000000000 ffffffffffffffff0000000000000000 00000000000000000000000000000000 0114 0014 00000000"},
	})
	checkExt(t, Match, "srh", 0, []extCase{
		{family: IPv6, in: "--srh-hdr-len-gt 2 --srh-segs-left-eq 3", hex: "0002030000001400 0000000000000000"},
	})
	checkExtErrors(t, Match, "srh", 1, IPv6, []string{"--srh-tag 65536", "--srh-next-hdr 256", "--srh-psid 10.0.0.1", "--srh-tag 1 --srh-tag 2"})
}
