package ext

import "testing"

// Rows were checked against iptables-legacy 1.8.9: the save text is what
// iptables-legacy-save printed and the payload what the kernel returned.
func TestMatchIPv6Header(t *testing.T) {
	checkTokens(t, Match, "ipv6header", 0, []tokenCase{
		{IPv6, 0, []string{"--header", "hop-by-hop"}, "8000000000000000", " --header hop-by-hop"},
		{IPv6, 0, []string{"--header", "hop-by-hop", "--soft"}, "8000ff0000000000", " --header hop-by-hop --soft"},
		{IPv6, 0, []string{"--header", "ipv6-nonxt"}, "0200000000000000", " --header ipv6-nonxt"},
		{IPv6, 0, []string{"!", "--header", "hop,dst,route,frag,auth,esp,none,prot"}, "ffff000000000000", " ! --header hop-by-hop,ipv6-opts,ipv6-route,ipv6-frag,ah,esp,ipv6-nonxt,protocol"},
		{IPv6, 0, []string{"--header", "0,60,43,44,51,50,59,255", "--soft"}, "ff00ff0000000000", " --header hop-by-hop,ipv6-opts,ipv6-route,ipv6-frag,ah,esp,ipv6-nonxt,protocol --soft"},
		{IPv6, 0, []string{"--header", "ip,IPv6-Opts,ipv6-route,ipv6-frag,ah,IPSEC-ESP,protocol"}, "fd00000000000000", " --header hop-by-hop,ipv6-opts,ipv6-route,ipv6-frag,ah,esp,protocol"},
		{IPv6, 0, []string{"--header", ",hop,,"}, "8000000000000000", " --header hop-by-hop"},
	})
	checkTokenErrors(t, Match, "ipv6header", 0, []badTokens{
		{IPv6, []string{"--header", "tcp"}},
		{IPv6, []string{"--header", "bogus"}},
		{IPv6, []string{"--header", "6"}},
		{IPv6, []string{"--soft"}},
		{IPv6, []string{"--header", ","}},
	})
}
