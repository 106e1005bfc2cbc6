package ext

import "testing"

func TestMatchDCCP(t *testing.T) {
	checkExt(t, Match, "dccp", 0, []extCase{
		{proto: 33, in: "--sport 1000:2000 ! --dport 80 --dccp-types REQUEST,response,INVALID ! --dccp-option 4",
			hex:  "50005000 e803d007 0f00 0a00 03fc 0400",
			save: "--sport 1000:2000 ! --dport 80 --dccp-types REQUEST,RESPONSE,INVALID ! --dccp-option 4"},
		{proto: 33, in: "! --source-port 5 --destination-port 7:", hex: "0700ffff 05000500 0300 0100 0000 0000", save: "! --sport 5 --dport 7:65535"},
	})
	checkExtErrors(t, Match, "dccp", 0, IPv4, []string{
		"--dccp-types FOO", "--dccp-option 0", "--dccp-option 256", "--sport 1 --source-port 2",
	})
}
