package docker

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hostwall/hostwall/integration/nstest"
)

// Docker on nf_tables, in two generations: Debian's dockerd 20.10 and
// Docker 29's engine (built from its Go module, cached), each running its
// iptables backend on iptables-nft; and Docker 29's native nftables
// backend. These tests check the harness and what Docker writes; the
// hostwall assertions on the same setups are TestHostwallOnDockerNft.

// requireDockerNft is requireDocker plus the nf_tables tools: the -nft
// iptables dockerd is given, and nft to read the ruleset.
func requireDockerNft(t *testing.T) {
	t.Helper()
	requireDocker(t)
	nstest.RequireTools(t, "iptables-nft", "iptables-nft-save", "iptables-nft-restore",
		"ip6tables-nft", "ip6tables-nft-save", "ip6tables-nft-restore", "nft", "sysctl", "cat")
}

// startServing starts the engine with opts in a fresh scene and the
// container "web" publishing 80 as allowed and other; the client reaches
// both ports.
func startServing(t *testing.T, opts dockerOpts) (*scene, *dockerHost) {
	t.Helper()
	start := time.Now()
	sc := newScene(t)
	d := newDockerHostWith(t, sc.hostNS, opts)
	d.start()
	up := time.Since(start)
	sc.serve(d)
	t.Logf("Docker %s (iptables %s, firewall backend %q): dockerd up %v, container serving %v",
		d.opts.engine.name, d.opts.iptables, d.opts.firewallBackend,
		up.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	sc.expectServed("no policy", allowed)
	sc.expectServed("no policy", other)
	return sc, d
}

// expectNoLegacy: nothing in x_tables. /proc/net/ip_tables_names lists
// the legacy tables of the namespace of whoever reads it, so it is read
// from inside the namespace.
func expectNoLegacy(t *testing.T, ns, when string) {
	t.Helper()
	for _, f := range []string{"ip_tables_names", "ip6_tables_names"} {
		if names := strings.TrimSpace(nstest.Run(t, ns, nil, "cat", "/proc/net/"+f)); names != "" {
			save, _ := nstest.Try(ns, nil, strings.TrimSuffix(f, "_tables_names")+"tables-legacy-save")
			t.Errorf("%s: legacy (x_tables) tables in the namespace, /proc/net/%s: %q:\n%s", when, f, names, nstest.StripComments(save))
		}
	}
}

// nftChains summarises the namespace's nf_tables ruleset: per table, its
// chains, base chains with their hook.
func nftChains(t *testing.T, ns string) string {
	t.Helper()
	ruleset := nstest.Run(t, ns, nil, "nft", "list", "ruleset")
	var b strings.Builder
	table := regexp.MustCompile(`^table (\S+ \S+) \{`)
	chain := regexp.MustCompile(`^\s+chain (\S+) \{`)
	hook := regexp.MustCompile(`^\s+type (\S+) hook (\S+) priority ([^;]+); policy (\w+);`)
	lines := strings.Split(ruleset, "\n")
	for i, l := range lines {
		if m := table.FindStringSubmatch(l); m != nil {
			fmt.Fprintf(&b, "\n  %s:", m[1])
		} else if m := chain.FindStringSubmatch(l); m != nil {
			b.WriteString(" " + m[1])
			if i+1 < len(lines) {
				if h := hook.FindStringSubmatch(lines[i+1]); h != nil {
					fmt.Fprintf(&b, "(%s %s %s %s)", h[1], h[2], h[3], h[4])
				}
			}
		}
	}
	return b.String()
}

// rulesOf are the -A lines of chain in a save, without the "-A CHAIN ".
func rulesOf(save, chain string) []string {
	var out []string
	for _, l := range strings.Split(save, "\n") {
		if r, ok := strings.CutPrefix(l, "-A "+chain+" "); ok {
			out = append(out, r)
		}
	}
	return out
}

// expectIptablesOnNft checks what Docker's iptables backend wrote on
// iptables-nft: all of it in nf_tables' ip filter/nat, DOCKER-USER among
// it and hooked first from FORWARD (policy DROP), nothing in x_tables,
// and no docker-bridges table.
func expectIptablesOnNft(t *testing.T, d *dockerHost) {
	t.Helper()
	ns := d.ns
	expectNoLegacy(t, ns, "Docker on iptables-nft")
	t.Logf("nf_tables after Docker %s on iptables-nft:%s", d.opts.engine.name, nftChains(t, ns))
	if out, err := nstest.Try(ns, nil, "nft", "list", "chain", "ip", "filter", "DOCKER-USER"); err != nil {
		t.Errorf("no DOCKER-USER in nf_tables' table ip filter: %v", err)
	} else {
		t.Logf("nft list chain ip filter DOCKER-USER:\n%s", out)
	}
	tables := nstest.Run(t, ns, nil, "nft", "list", "tables")
	if strings.Contains(tables, "docker-bridges") {
		t.Errorf("the iptables backend made Docker's nftables table:\n%s", tables)
	}
	filter := d.save("-t", "filter")
	if !strings.Contains(filter, "\n:FORWARD DROP ") {
		t.Errorf("FORWARD's policy is not DROP:\n%s", filter)
	}
	if fwd := rulesOf(filter, "FORWARD"); len(fwd) == 0 || fwd[0] != "-j DOCKER-USER" {
		t.Errorf("FORWARD does not jump to DOCKER-USER first: %q", fwd)
	}
	user := rulesOf(filter, "DOCKER-USER")
	switch d.opts.engine.name {
	case "20.10":
		if !slices.Equal(user, []string{"-j RETURN"}) {
			t.Errorf("DOCKER-USER holds %q; want Docker 20.10's lone -j RETURN", user)
		}
	case "29":
		if len(user) != 0 {
			t.Errorf("DOCKER-USER holds %q; want Docker 29's empty chain", user)
		}
		if fwd := rulesOf(filter, "FORWARD"); !slices.Contains(fwd, "-j DOCKER-FORWARD") {
			t.Errorf("FORWARD does not jump to DOCKER-FORWARD: %q", fwd)
		}
		for _, c := range []string{"DOCKER-CT", "DOCKER-INTERNAL", "DOCKER-BRIDGE", "DOCKER"} {
			if !strings.Contains(filter, "\n:"+c+" - ") {
				t.Errorf("no chain %s in filter:\n%s", c, filter)
			}
		}
		if raw := d.save("-t", "raw"); !regexp.MustCompile(`(?m)^-A PREROUTING -d \S+ ! -i docker0 -j DROP$`).MatchString(raw) {
			t.Errorf("raw PREROUTING does not drop direct access to the container:\n%s", raw)
		}
	}
	nat := d.save("-t", "nat")
	if !regexp.MustCompile(`(?m)^-A DOCKER ! -i docker0 -p tcp -m tcp --dport ` + allowed + ` -j DNAT --to-destination \S+:80$`).MatchString(nat) {
		t.Errorf("no DNAT of %s in nat:\n%s", allowed, nat)
	}
	t.Logf("iptables-nft-save:\n%s%s%s", filter, nat, d.save("-t", "raw"))
}

// TestDocker2010OnNft: Debian's dockerd 20.10 with iptables-nft first on
// its PATH serves a published port to the client, and everything it
// wrote is in nf_tables.
func TestDocker2010OnNft(t *testing.T) {
	requireDockerNft(t)
	_, d := startServing(t, dockerOpts{iptables: nft})
	expectIptablesOnNft(t, d)
}

// TestDocker29OnNft: Docker 29's engine, iptables backend on iptables-nft.
func TestDocker29OnNft(t *testing.T) {
	requireDockerNft(t)
	eng := docker29Engine(t)
	_, d := startServing(t, dockerOpts{engine: eng, iptables: nft})
	expectIptablesOnNft(t, d)
}

// TestDocker29NftablesBackend: Docker 29's own nftables backend
// ("firewall-backend": "nftables") writes its tables ip/ip6
// docker-bridges and no DOCKER-USER anywhere; still nothing in x_tables.
func TestDocker29NftablesBackend(t *testing.T) {
	requireDockerNft(t)
	eng := docker29Engine(t)
	_, d := startServing(t, dockerOpts{engine: eng, iptables: nft, firewallBackend: "nftables"})
	ns := d.ns
	expectNoLegacy(t, ns, "Docker 29's nftables backend")
	t.Logf("nf_tables after Docker 29's nftables backend:%s", nftChains(t, ns))
	tables := nstest.Run(t, ns, nil, "nft", "list", "tables")
	for _, want := range []string{"table ip docker-bridges", "table ip6 docker-bridges"} {
		if !strings.Contains(tables, want) {
			t.Errorf("no %s in:\n%s", want, tables)
		}
	}
	if ruleset := nstest.Run(t, ns, nil, "nft", "list", "ruleset"); strings.Contains(ruleset, "DOCKER-USER") {
		t.Errorf("DOCKER-USER exists with the nftables backend:\n%s", ruleset)
	}
	bridges := nstest.Run(t, ns, nil, "nft", "list", "table", "ip", "docker-bridges")
	for _, want := range []string{
		"chain filter-FORWARD {", "chain nat-PREROUTING {", "chain nat-POSTROUTING {", "chain raw-PREROUTING {",
		"chain filter-forward-in__docker0 {",
	} {
		if !strings.Contains(bridges, want) {
			t.Errorf("no %q in table ip docker-bridges:\n%s", want, bridges)
		}
	}
	if !nftDNAT(allowed, `\S+`).MatchString(bridges) {
		t.Errorf("no DNAT of %s in table ip docker-bridges:\n%s", allowed, bridges)
	}
}

// TestHostwallOnDockerNft is TestDockerEndToEnd for Docker on
// iptables-nft (20.10 and 29): hostwall apply, given no --backend, must
// find Docker's rules in nf_tables and put FILTERS and its hooks there.
// Before that backend, hostwall wrote a second, legacy DOCKER-USER that
// nothing jumped to, and the published ports stayed open.
func TestHostwallOnDockerNft(t *testing.T) {
	for _, gen := range []string{"20.10", "29"} {
		t.Run(gen, func(t *testing.T) {
			requireDockerNft(t)
			opts := dockerOpts{iptables: nft}
			if gen == "29" {
				opts.engine = docker29Engine(t)
			}
			hostwallOnDockerNft(t, opts)
		})
	}
}

func hostwallOnDockerNft(t *testing.T, opts dockerOpts) {
	start := time.Now()
	sc, d := startServing(t, opts)
	veth, ns := sc.veth, sc.hostNS
	save := func(counters bool) string {
		t.Helper()
		if counters {
			return d.save("-c")
		}
		return d.save("-t", "filter")
	}
	applied := func(name, text string) string {
		t.Helper()
		out, errOut := sc.apply(name, text)
		if !strings.Contains(out, "written") || warnings(errOut) != nil {
			t.Errorf("apply %s: stdout %q, stderr %q", name, out, errOut)
		}
		// The backend Docker uses, and no other: a legacy DOCKER-USER
		// would be one Docker's FORWARD never jumps to.
		expectNoLegacy(t, ns, "after hostwall apply "+name)
		return out
	}

	// 1. A policy that allows neither published port.
	applied("deny.v4", policyFile(veth))
	checkNftHooks(t, d, save(false), veth)
	sc.expectRefused("policy without the port", allowed)
	sc.expectRefused("policy without the port", other)

	// 2. The published port allowed by its original destination port.
	allowPolicy := policyFile(veth, allowPublished(allowed))
	applied("allow.v4", allowPolicy)
	sc.expectServed("--ctorigdstport "+allowed, allowed)
	sc.expectRefused("--ctorigdstport "+allowed, other)

	// 3. dockerd restarts: FILTERS and its hooks are still there, and
	// the same policy needs no write.
	ownedBefore := ownedNft(save(false))
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	if left := d.waitNoProcesses(15 * time.Second); len(left) > 0 {
		t.Fatalf("dockerd stopped but its processes are still there:%s", describe(left))
	}
	restart := time.Now()
	d.start()
	waitServing(t, d, sc.token)
	t.Logf("dockerd restarted, container serving again: %v", time.Since(restart).Round(time.Millisecond))
	afterRestart := save(false)
	checkNftHooks(t, d, afterRestart, veth)
	if ownedAfter := ownedNft(afterRestart); strings.Join(ownedAfter, "\n") != strings.Join(ownedBefore, "\n") {
		t.Errorf("FILTERS and its hooks changed across the restart: %s",
			nstest.FirstDiff(strings.Join(ownedAfter, "\n"), strings.Join(ownedBefore, "\n")))
	}
	if out, _ := sc.apply("allow.v4", allowPolicy); !strings.Contains(out, "no change, nothing written") {
		t.Errorf("the same policy after the restart should need no write: %s", out)
	}
	sc.expectServed("after dockerd restart", allowed)
	sc.expectRefused("after dockerd restart", other)

	// 4. A changed policy applied while the container serves: every rule
	// and counter but FILTERS' own and its hooks stays as it was, the
	// container is the same, and an open connection lives on.
	held, err := dial(t, sc.clientNS, hostAddr+":"+allowed)
	if err != nil {
		t.Fatalf("open a connection to hold across the apply: %v", err)
	}
	defer held.Close()
	idBefore := d.mustDocker(nil, "inspect", "-f", "{{.Id}} {{.State.StartedAt}} {{.RestartCount}}", "web")
	before := stableSaveWith(t, ns, "iptables-nft-save")
	if n := countedDockerRules(before); n < 3 {
		t.Errorf("only %d of Docker's rules have counted packets; the comparison would prove little:\n%s", n, before)
	}
	out := applied("changed.v4", policyFile(veth, allowPublished(allowed), allowPublished(other)))
	if !strings.Contains(out, "owned rules +1 -0, hooks +0 -0") {
		t.Errorf("apply changed.v4: stdout %q; want one owned rule added, hooks unchanged", out)
	}
	t.Logf("changed policy applied while serving: %s", strings.TrimSpace(out))
	after := save(true)
	if b, a := strings.Join(notOwnedNft(before), "\n"), strings.Join(notOwnedNft(after), "\n"); a != b {
		t.Errorf("Docker's chains, rules or counters changed: %s", nstest.FirstDiff(a, b))
	}
	if !strings.Contains(after, "-A FILTERS "+allowPublished(other)) {
		t.Errorf("the new rule is not in FILTERS:\n%s", after)
	}
	if idAfter := d.mustDocker(nil, "inspect", "-f", "{{.Id}} {{.State.StartedAt}} {{.RestartCount}}", "web"); idAfter != idBefore {
		t.Errorf("the container changed during the apply: %q, was %q", idAfter, idBefore)
	}
	if resp, err := get(held); err != nil || !strings.Contains(resp, sc.token) {
		t.Errorf("connection opened before the apply: %q, %v", resp, err)
	}
	sc.expectServed("changed policy", allowed)
	sc.expectServed("changed policy", other)
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// checkNftHooks is checkHooks on iptables-nft-save's filter table:
// FILTERS hooked from INPUT and first in DOCKER-USER, Docker's FORWARD
// still going to DOCKER-USER first, and Docker's own DOCKER-USER rule
// (20.10's -j RETURN; 29 has none) still there.
func checkNftHooks(t *testing.T, d *dockerHost, save, veth string) {
	t.Helper()
	if !slices.Contains(rulesOf(save, "INPUT"), "-j FILTERS") {
		t.Errorf("no INPUT hook in nf_tables:\n%s", save)
	}
	user := rulesOf(save, "DOCKER-USER")
	if len(user) == 0 || user[0] != "-i "+veth+" -j FILTERS" {
		t.Errorf("DOCKER-USER in nf_tables holds %q; want -i %s -j FILTERS first", user, veth)
	}
	if fwd := rulesOf(save, "FORWARD"); len(fwd) == 0 || fwd[0] != "-j DOCKER-USER" {
		t.Errorf("FORWARD in nf_tables is %q; want Docker's -j DOCKER-USER first", fwd)
	}
	if d.opts.engine.name == "20.10" && !slices.Contains(user, "-j RETURN") {
		t.Errorf("Docker's own DOCKER-USER rule is gone:\n%s", save)
	}
}

// isOwned: FILTERS' declaration, its rules, and the hooks to it.
func isOwned(line string) bool {
	if _, rule, ok := strings.Cut(line, "] "); ok && strings.HasPrefix(line, "[") {
		line = rule // save -c: "[packets:bytes] -A ..."
	}
	return strings.HasPrefix(line, ":FILTERS ") || strings.HasPrefix(line, "-A FILTERS ") || strings.HasSuffix(line, " -j FILTERS")
}

// ownedNft is FILTERS and its hooks in a save.
func ownedNft(save string) []string {
	var out []string
	for _, l := range strings.Split(save, "\n") {
		if isOwned(l) {
			out = append(out, l)
		}
	}
	return out
}

// notOwnedNft is every other line: Docker's chains, rules, policies
// and counters.
func notOwnedNft(save string) []string {
	var out []string
	for _, l := range strings.Split(save, "\n") {
		if !isOwned(l) {
			out = append(out, l)
		}
	}
	return out
}
