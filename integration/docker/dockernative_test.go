package docker

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hostwall/hostwall/integration/nstest"
)

// TestHostwallOnDocker29Nftables is the end-to-end test for Docker 29's
// own nftables firewall ("firewall-backend": "nftables"), where no
// DOCKER-USER exists: hostwall apply, given no --backend, detects the
// case and keeps FILTERS in its own table, hooked from a forward base
// chain (DOCKER-USER, priority filter - 1) and the input one. The
// published port is refused by a policy that does not allow it, opened
// by "-m conntrack --ctorigdstport", still filtered after a dockerd
// restart; Docker's docker-bridges tables are unchanged by every apply;
// a connection open across a policy change lives on.
func TestHostwallOnDocker29Nftables(t *testing.T) {
	requireDockerNft(t)
	eng := docker29Engine(t)
	start := time.Now()
	sc, d := startServing(t, dockerOpts{engine: eng, iptables: nft, firewallBackend: "nftables"})
	ns, veth := sc.hostNS, sc.veth

	bridges := func() string {
		t.Helper()
		var b strings.Builder
		for _, fam := range []string{"ip", "ip6"} {
			b.WriteString(normalizeNetlink(nstest.Run(t, ns, nil, "nft", "--debug=netlink", "list", "table", fam, "docker-bridges")))
		}
		return b.String()
	}
	applied := func(name, text string) string {
		t.Helper()
		before := bridges()
		out, errOut := sc.apply(name, text)
		if !strings.Contains(out, "backend native (detected: nf_tables holds ip docker-bridges (Docker 29's nftables firewall)") {
			t.Errorf("apply %s: not the native backend: %s%s", name, out, errOut)
		}
		if after := bridges(); after != before {
			t.Errorf("apply %s changed Docker's docker-bridges tables: %s", name, nstest.FirstDiff(after, before))
		}
		expectNoLegacy(t, ns, "after hostwall apply "+name)
		if tables := nstest.Run(t, ns, nil, "nft", "list", "tables"); strings.Contains(tables, "table ip filter") {
			t.Errorf("apply %s made an iptables table:\n%s", name, tables)
		}
		return out
	}

	// 1. A policy that allows neither published port.
	out := applied("deny.v4", policyFile(veth))
	if !strings.Contains(out, "written") {
		t.Errorf("apply deny.v4: %s", out)
	}
	own := nstest.Run(t, ns, nil, "nft", "list", "table", "ip", "hostwall")
	for _, want := range []string{
		"chain DOCKER-USER {\n\t\ttype filter hook forward priority filter - 1; policy accept;\n\t\tiifname \"" + veth + "\" counter packets 0 bytes 0 jump FILTERS",
		"chain INPUT {\n\t\ttype filter hook input priority filter - 1; policy accept;",
	} {
		if !strings.Contains(own, want) {
			t.Errorf("no %q in:\n%s", want, own)
		}
	}
	sc.expectRefused("policy without the port", allowed)
	sc.expectRefused("policy without the port", other)

	// 2. The published port allowed by its original destination port:
	// in the forward hook the packet is already DNATed.
	allowPolicy := policyFile(veth, allowPublished(allowed))
	applied("allow.v4", allowPolicy)
	if l := nstest.Run(t, ns, nil, "nft", "list", "chain", "ip", "hostwall", "FILTERS"); !strings.Contains(l, "ct original proto-dst "+allowed) {
		t.Errorf("no native ct original proto-dst in:\n%s", l)
	}
	sc.expectServed("--ctorigdstport "+allowed, allowed)
	sc.expectRefused("--ctorigdstport "+allowed, other)

	// 3. dockerd restarts: Docker re-creates docker-bridges, hostwall's
	// table stays, and the same policy needs no write.
	ownBefore := nstest.Run(t, ns, nil, "nft", "list", "table", "ip", "hostwall")
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	if left := d.waitNoProcesses(15 * time.Second); len(left) > 0 {
		t.Fatalf("dockerd stopped but its processes are still there:%s", describe(left))
	}
	d.start()
	waitServing(t, d, sc.token)
	if ownAfter := nstest.Run(t, ns, nil, "nft", "list", "table", "ip", "hostwall"); zeroCounts(ownAfter) != zeroCounts(ownBefore) {
		t.Errorf("hostwall's table changed across the restart: %s", nstest.FirstDiff(ownAfter, ownBefore))
	}
	if out := applied("allow.v4", allowPolicy); !strings.Contains(out, "no change, nothing written") {
		t.Errorf("the same policy after the restart should need no write: %s", out)
	}
	sc.expectServed("after dockerd restart", allowed)
	sc.expectRefused("after dockerd restart", other)

	// 4. A changed policy while the container serves: one rule added,
	// the connection opened before lives on, both ports served.
	held, err := dial(t, sc.clientNS, hostAddr+":"+allowed)
	if err != nil {
		t.Fatalf("open a connection to hold across the apply: %v", err)
	}
	defer held.Close()
	out = applied("changed.v4", policyFile(veth, allowPublished(allowed), allowPublished(other)))
	if !strings.Contains(out, "owned rules +1 -0, hooks +0 -0") {
		t.Errorf("apply changed.v4: %s; want one owned rule added, hooks unchanged", out)
	}
	if resp, err := get(held); err != nil || !strings.Contains(resp, sc.token) {
		t.Errorf("connection opened before the apply: %q, %v", resp, err)
	}
	sc.expectServed("changed policy", allowed)
	sc.expectServed("changed policy", other)

	// save prints the file's FILTERS back.
	saved := nstest.MustHostwall(t, ns, "save", "--backend", "native", "-4")
	if !strings.Contains(saved, "-A FILTERS "+allowPublished(other)+"\n") || !strings.Contains(saved, "-A DOCKER-USER -i "+veth+" -j FILTERS\n") {
		t.Errorf("save --backend native:\n%s", saved)
	}
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

var (
	netlinkHandle  = regexp.MustCompile(`(?m)^((?:ip|ip6|inet) \S+ \S+)(?: \d+)+$`)
	netlinkCounter = regexp.MustCompile(`counter pkts \d+ bytes \d+`)
	nftCounter     = regexp.MustCompile(`counter packets \d+ bytes \d+`)
)

// normalizeNetlink drops handles and counter values from an "nft
// --debug=netlink list" dump, so that two dumps of an untouched table
// compare equal.
func normalizeNetlink(s string) string {
	s = netlinkHandle.ReplaceAllString(s, "$1")
	return netlinkCounter.ReplaceAllString(s, "counter")
}

func zeroCounts(s string) string { return nftCounter.ReplaceAllString(s, "counter") }
