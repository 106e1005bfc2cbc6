package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hostwall/hostwall/integration/nstest"
	"github.com/hostwall/hostwall/xtables"
)

// partialBase is a table whose chains a legacy apply decodes in part:
// foreign chains before and after FILTERS (by name), jumps and gotos
// among them, fall-through rules (no target), counters everywhere, and
// a chain with an owner match, valid only from OUTPUT.
const partialBase = `*filter
:INPUT ACCEPT [10:1000]
:FORWARD DROP [20:2000]
:OUTPUT ACCEPT [30:3000]
:AAA - [0:0]
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
:FILTERS - [0:0]
:OWNER - [0:0]
:PPP - [0:0]
:ZZZ - [0:0]
[1:100] -A INPUT -j FILTERS
[2:200] -A INPUT -p tcp -m tcp --dport 25 -j ZZZ
[3:300] -A FORWARD -j DOCKER-USER
[4:400] -A FORWARD -o docker0 -j DOCKER
[5:500] -A FORWARD -s 10.0.0.0/8
[6:600] -A OUTPUT -j OWNER
[7:700] -A AAA -p udp -m udp --dport 53 -j ACCEPT
[8:800] -A AAA -g ZZZ
[9:900] -A DOCKER -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j ACCEPT
[10:1000] -A DOCKER -j AAA
[11:1100] -A DOCKER-USER -i eth0 -j FILTERS
[12:1200] -A DOCKER-USER -j RETURN
[13:1300] -A FILTERS -j DROP
[14:1400] -A OWNER -m owner --uid-owner 0 -j ACCEPT
[17:1700] -A OWNER -m comment --comment "no target"
[18:1800] -A OWNER -j PPP
[19:1900] -A PPP -d 192.0.2.1/32
[20:2000] -A PPP -j ACCEPT
[15:1500] -A ZZZ -m comment --comment "after FILTERS"
[16:1600] -A ZZZ -j RETURN
COMMIT
`

// TestApplyPartialTable: an apply that grows FILTERS and jumps from it
// into foreign chains (decoded then, with all they jump to) leaves the
// kernel bytes the recipe leaves, with every foreign counter kept; one
// that would make a foreign chain reachable from a hook its match refuses
// is refused before anything is written, naming the chain.
func TestApplyPartialTable(t *testing.T) {
	nstest.Require(t)
	dir := t.TempDir()
	pol := filepath.Join(dir, "rules.v4")
	policy := "*filter\n:FILTERS - [0:0]\n:DOCKER-USER - [0:0]\n:DOCKER - [0:0]\n:OWNER - [0:0]\n-A INPUT -j FILTERS\n-A DOCKER-USER -i eth0 -j FILTERS\n" +
		"-F FILTERS\n-A FILTERS -i lo -j ACCEPT\n-A FILTERS -p tcp -m tcp --dport 22 -j ACCEPT\n" +
		"-A FILTERS -p tcp -m tcp --dport 8080 -j DOCKER\n-A FILTERS -j REJECT --reject-with icmp-port-unreachable\nCOMMIT\n"
	if err := os.WriteFile(pol, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	recipeNS := nstest.Netns(t)
	nstest.Run(t, recipeNS, []byte(partialBase), "iptables-legacy-restore", "-c")
	var filtered bytes.Buffer
	for _, line := range strings.Split(policy, "\n") {
		if recipeLines.MatchString(line) {
			filtered.WriteString(line + "\n")
		}
	}
	nstest.Run(t, recipeNS, filtered.Bytes(), "iptables-legacy-restore", "-n")

	hwNS := nstest.Netns(t)
	nstest.Run(t, hwNS, []byte(partialBase), "iptables-legacy-restore", "-c")
	out := nstest.MustHostwall(t, hwNS, "apply", "--backend", "legacy", "-4", pol)
	if !strings.Contains(out, "written") {
		t.Fatalf("apply did not write:\n%s", out)
	}
	sameFilterBytes(t, xtables.IPv4, recipeNS, hwNS, "iptables-legacy-save")
	saved := nstest.StripComments(nstest.Run(t, hwNS, nil, "iptables-legacy-save", "-c"))
	for _, line := range strings.Split(partialBase, "\n") {
		if strings.HasPrefix(line, "[") && !strings.Contains(line, "FILTERS") && !strings.Contains(saved, line+"\n") {
			t.Errorf("foreign rule or its counters lost: %q", line)
		}
	}

	// FILTERS, reached from INPUT, jumping to OWNER: the owner match is
	// valid only from OUTPUT and POSTROUTING.
	bad := filepath.Join(dir, "bad.v4")
	if err := os.WriteFile(bad, []byte(strings.Replace(policy, "-j DOCKER", "-j OWNER", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, before := nstest.ReadRaw(t, hwNS, xtables.IPv4, "filter")
	_, stderr, code := nstest.Hostwall(t, hwNS, "apply", "--backend", "legacy", "-4", bad)
	if code != 1 || !strings.Contains(stderr, "chain OWNER") || !strings.Contains(stderr, "owner") {
		t.Errorf("a jump making OWNER reachable from INPUT: exit %d, %s", code, stderr)
	}
	if _, after := nstest.ReadRaw(t, hwNS, xtables.IPv4, "filter"); !bytes.Equal(before, after) {
		t.Error("the refused apply changed the table")
	}
}
