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
			t.Errorf("%s: legacy (x_tables) tables in the namespace, /proc/net/%s: %q", when, f, names)
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
