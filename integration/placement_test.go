package integration

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hostwall/hostwall/integration/nstest"
	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
)

// placementRules are rules whose extensions the kernel accepts only in
// some tables or from some hooks, and a few it accepts everywhere.
var placementRules = map[*xtables.Family][]string{
	xtables.IPv4: {
		"-j ACCEPT",
		"-p tcp -j DNAT --to-destination 192.0.2.1",
		"-j SNAT --to-source 192.0.2.1",
		"-j MASQUERADE",
		"-p tcp -j REDIRECT --to-ports 1",
		"-j NETMAP --to 10.0.0.0/24",
		"-j REJECT",
		"-p tcp -j REJECT --reject-with tcp-reset",
		"-p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
		"-p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1400",
		"-p tcp -j TCPMSS --set-mss 1400",
		"-j CT --notrack",
		"-j CT --zone 1",
		"-j NOTRACK",
		"-p tcp -j TPROXY --on-port 1 --tproxy-mark 1",
		"-p tcp -j SYNPROXY",
		"-m rpfilter",
		"-m policy --dir in --pol none",
		"-m policy --dir out --pol none",
		"-m owner --uid-owner 0",
		"-m physdev --physdev-out eth0",
		"-m physdev --physdev-in eth0",
		"-m physdev --physdev-is-bridged --physdev-out eth0",
		"-m physdev --physdev-is-out",
		"-j CHECKSUM --checksum-fill",
		"-j DSCP --set-dscp 1",
		"-j TOS --set-tos 1",
		"-j TTL --ttl-set 1",
		"-j CLASSIFY --set-class 1:1",
		"-m addrtype --dst-type LOCAL --limit-iface-in",
		"-m addrtype --dst-type LOCAL --limit-iface-out",
		"-m mac --mac-source 00:11:22:33:44:55",
		"-j LOG",
		"-j MARK --set-mark 1",
		"-m conntrack --ctstate NEW",
		"-m cgroup --path /",
		"-p tcp -m socket",
		"-m realm --realm 1",
		"-m devgroup --src-group 1",
		"-m devgroup --dst-group 1",
		"-j TEE --gateway 192.0.2.1",
		"-j CONNSECMARK --save",
		"-j TRACE",
		"-p tcp -j ECN --ecn-tcp-remove",
		"-p tcp -j TCPOPTSTRIP --strip-options timestamp",
		"-j IDLETIMER --timeout 10 --label x",
	},
	xtables.IPv6: {
		"-p tcp -j DNAT --to-destination 2001:db8::1",
		"-j MASQUERADE",
		"-j REJECT",
		"-p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
		"-j CT --notrack",
		"-p tcp -j TPROXY --on-port 1 --tproxy-mark 1",
		"-p tcp -j SYNPROXY",
		"-m rpfilter",
		"-m policy --dir out --pol none",
		"-m owner --uid-owner 0",
		"-m physdev --physdev-out eth0",
		"-j HL --hl-set 1",
		"-j CLASSIFY --set-class 1:1",
		"-m addrtype --dst-type LOCAL --limit-iface-out",
		"-m mac --mac-source 00:11:22:33:44:55",
		"-j LOG",
		"-m eui64",
		"-j SNPT --src-pfx 2001:db8::/64 --dst-pfx 2001:db8:1::/64",
		"-j DNPT --src-pfx 2001:db8::/64 --dst-pfx 2001:db8:1::/64",
		"-m cgroup --path /",
	},
}

// TestPlacementOracle: for every rule of placementRules in every chain
// of every table, directly and through a user chain, hostwall's check
// before writing (policy.CheckKernel) accepts exactly what the kernel
// accepts from iptables-legacy-restore. On nf_tables, where nft_compat
// runs an extension's own checkentry with the hooks of the chain a rule
// is in (none for a user chain), hostwall refuses a few rules in user
// chains that the kernel lets through but x_tables would not: that is
// the only difference allowed.
//
// HOSTWALL_PLACEMENT_STRIDE=N compares every Nth placement only (make
// vm-test, where each oracle run is slow under emulation), each rule
// still in several chains.
func TestPlacementOracle(t *testing.T) {
	nstest.Require(t)
	stride := knob(t, "HOSTWALL_PLACEMENT_STRIDE", 1)
	n := 0
	for _, b := range []struct {
		name, v4, v6 string
		nft          bool
	}{
		{"legacy", "iptables-legacy-restore", "ip6tables-legacy-restore", false},
		{"nft", "iptables-nft-restore", "ip6tables-nft-restore", true},
	} {
		t.Run(b.name, func(t *testing.T) {
			if b.nft {
				requireNft(t)
			}
			ns := nstest.Netns(t)
			cases, stricter := 0, 0
			for _, fam := range []*xtables.Family{xtables.IPv4, xtables.IPv6} {
				restore := b.v4
				if fam == xtables.IPv6 {
					restore = b.v6
				}
				for _, rule := range placementRules[fam] {
					for _, table := range []string{"filter", "nat", "mangle", "raw", "security"} {
						for _, chain := range xtables.BuiltinNames(table) {
							for _, via := range []bool{false, true} {
								if n++; n%stride != 0 {
									continue
								}
								text := fmt.Sprintf("*%s\n-A %s %s\nCOMMIT\n", table, chain, rule)
								if via {
									text = fmt.Sprintf("*%s\n:X - [0:0]\n-A %s -j X\n-A X %s\nCOMMIT\n", table, chain, rule)
								}
								_, kerr := nstest.Try(ns, []byte(text), restore)
								herr := placementCheck(t, ns, fam, text, b.nft)
								cases++
								switch {
								case (kerr == nil) == (herr == nil):
								case b.nft && via && kerr == nil && strings.Contains(herr.Error(), " --"):
									stricter++ // a checkentry's hooks (policy --dir ...): see above
								default:
									t.Errorf("%s %s -A %s %s (via a user chain: %v): kernel %v, hostwall %v", fam, table, chain, rule, via, kerr, herr)
								}
							}
						}
					}
				}
			}
			t.Logf("%d placements compared; %d refused by hostwall only (nft_compat's user chains)", cases, stricter)
		})
	}
}

// placementCheck is what hostwall says of a rules file before writing
// it: parsed and built in the namespace (as apply does) and checked.
func placementCheck(t *testing.T, ns string, fam *xtables.Family, text string, nft bool) error {
	t.Helper()
	var err error
	nstest.InNetns(t, ns, func() {
		var f *policy.File
		if f, err = policy.Parse("p", []byte(text)); err != nil {
			return
		}
		var tbl *xtables.Table
		if tbl, err = policy.Build(f.Tables[0], policy.BuildOptions{Family: fam}); err != nil {
			return
		}
		if probs := policy.CheckKernel(tbl, policy.KernelCheckOptions{NFT: nft, AllLoops: nft}); len(probs) > 0 {
			err = fmt.Errorf("%s", probs[0].Msg)
		}
	})
	if err != nil && !strings.Contains(err.Error(), "valid only") && !strings.Contains(err.Error(), "works only") {
		t.Fatalf("%s: hostwall cannot read %q: %v", fam, text, err)
	}
	return err
}
