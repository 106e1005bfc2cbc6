package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/hostwall/hostwall/integration/nstest"
	"github.com/hostwall/hostwall/xtables"
)

// TestRestoreNoflushMatches: hostwall restore -n is a drop-in for
// iptables-legacy-restore -n on a live table: the same kernel rules, and
// the counters of untouched rules kept.
func TestRestoreNoflushMatches(t *testing.T) {
	nstest.Require(t)
	base, err := os.ReadFile("testdata/base/docker.v4.rules")
	if err != nil {
		t.Fatal(err)
	}
	change := []byte(`*filter
:DOCKER-USER - [0:0]
:HW-NEW - [0:0]
-A DOCKER-USER -s 10.0.0.0/8 -j DROP
-A DOCKER-USER -j RETURN
-I FORWARD 2 -j HW-NEW
-A HW-NEW -p tcp -m tcp --dport 443 -j ACCEPT
-P OUTPUT DROP
COMMIT
*nat
-A POSTROUTING -s 10.1.0.0/16 -j MASQUERADE
COMMIT
`)
	path := filepath.Join(t.TempDir(), "change.rules")
	if err := os.WriteFile(path, change, 0o644); err != nil {
		t.Fatal(err)
	}
	oracle, hw := nstest.Netns(t), nstest.Netns(t)
	for _, ns := range []string{oracle, hw} {
		nstest.Run(t, ns, base, "iptables-legacy-restore", "-c")
	}
	nstest.Run(t, oracle, change, "iptables-legacy-restore", "-n")
	nstest.MustHostwall(t, hw, "restore", "--backend", "legacy", "-4", "-n", path)
	for _, table := range []string{"filter", "nat"} {
		oi, ob := nstest.ReadRaw(t, oracle, xtables.IPv4, table)
		hi, hb := nstest.ReadRaw(t, hw, xtables.IPv4, table)
		if !bytes.Equal(nstest.WithoutCounters(t, xtables.IPv4, oi, ob), nstest.WithoutCounters(t, xtables.IPv4, hi, hb)) {
			t.Errorf("table %s: hostwall restore -n differs from iptables-legacy-restore -n:\n%s\nvs\n%s", table,
				nstest.Run(t, hw, nil, "iptables-legacy-save", "-t", table), nstest.Run(t, oracle, nil, "iptables-legacy-save", "-t", table))
		}
	}
	// A rule neither file touched keeps its counters under hostwall.
	after := nstest.Run(t, hw, nil, "iptables-legacy-save", "-c", "-t", "filter")
	if !bytes.Contains([]byte(after), []byte("[20:1500] -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")) {
		t.Errorf("untouched rule lost its counters:\n%s", after)
	}
}
