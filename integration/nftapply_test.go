package integration

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hostwall/hostwall/integration/nstest"
	"github.com/hostwall/hostwall/xtables"
)

func nftTools(fam *xtables.Family) (ipt, restore, save, famFlag string) {
	if fam == xtables.IPv6 {
		return "ip6tables-nft", "ip6tables-nft-restore", "ip6tables-nft-save", "-6"
	}
	return "iptables-nft", "iptables-nft-restore", "iptables-nft-save", "-4"
}

func requireNft(t *testing.T) {
	t.Helper()
	nstest.Require(t)
	nstest.RequireTools(t, "iptables-nft", "iptables-nft-restore", "iptables-nft-save", "ip6tables-nft-restore", "ip6tables-nft-save", "nft")
}

// legacyTablesOf lists the legacy tables a namespace has.
func legacyTablesOf(t *testing.T, ns string) string {
	t.Helper()
	return nstest.Run(t, ns, nil, "cat", "/proc/net/ip_tables_names", "/proc/net/ip6_tables_names")
}

// TestNftApplyMatchesSeedRecipe: on a host whose iptables is
// iptables-nft, hostwall apply (backend detected) leaves nf_tables as the
// article's recipe done with iptables-nft leaves it, creates no legacy
// table, and a second apply sends nothing at all.
func TestNftApplyMatchesSeedRecipe(t *testing.T) {
	requireNft(t)
	for _, rc := range recipes {
		t.Run(rc.name, func(t *testing.T) {
			ipt, restore, save, famFlag := nftTools(rc.fam)
			base, err := os.ReadFile(rc.base)
			if err != nil {
				t.Fatal(err)
			}
			pol, err := os.ReadFile(rc.policy)
			if err != nil {
				t.Fatal(err)
			}
			var filtered bytes.Buffer
			for _, line := range strings.Split(string(pol), "\n") {
				if recipeLines.MatchString(line) {
					filtered.WriteString(line + "\n")
				}
			}
			recipeNS := nstest.Netns(t)
			nstest.Run(t, recipeNS, base, restore, "-c")
			for _, h := range rc.hooks {
				nstest.Run(t, recipeNS, nil, ipt, append([]string{"-w"}, strings.Fields(h)...)...)
			}
			nstest.Run(t, recipeNS, filtered.Bytes(), restore, "-n")

			hwNS := nstest.Netns(t)
			nstest.Run(t, hwNS, base, restore, "-c")
			out := nstest.MustHostwall(t, hwNS, "apply", famFlag, rc.policy)
			if !strings.Contains(out, "backend nft (detected") || !strings.Contains(out, "written") {
				t.Fatalf("first apply:\n%s", out)
			}
			if got, want := nftSnapshot(t, hwNS, false), nftSnapshot(t, recipeNS, false); got != want {
				t.Errorf("nf_tables after hostwall apply differs from the recipe's:\n%s\n--- recipe save\n%s--- hostwall save\n%s",
					nstest.FirstDiff(want, got), nstest.Run(t, recipeNS, nil, save), nstest.Run(t, hwNS, nil, save))
			}
			if a, b := nstest.StripComments(nstest.Run(t, recipeNS, nil, save, "-c")), nstest.StripComments(nstest.Run(t, hwNS, nil, save, "-c")); a != b {
				t.Errorf("save -c differs:\n%s", nstest.FirstDiff(a, b))
			}
			if l := strings.TrimSpace(legacyTablesOf(t, hwNS)); l != "" {
				t.Errorf("apply on nft created legacy tables: %q", l)
			}

			// A second apply sends nothing: no event, the same handles.
			before := nftSnapshot(t, hwNS, true)
			stop := monitor(t, hwNS)
			out = nstest.MustHostwall(t, hwNS, "apply", famFlag, rc.policy)
			if ev := stop(); len(ev) != 0 {
				t.Errorf("second apply made nf_tables events: %q", ev)
			}
			if !strings.Contains(out, "no change, nothing written") {
				t.Errorf("second apply: %s", out)
			}
			if after := nftSnapshot(t, hwNS, true); after != before {
				t.Errorf("second apply changed nf_tables:\n%s", nstest.FirstDiff(before, after))
			}
		})
	}
}

// TestNftApplyChangesOnlyOwned: after traffic and a fail2ban rule placed
// above the hook (with iptables-nft), a changed policy produces events
// for FILTERS and the removed hook only; unchanged FILTERS rules keep
// their handles and counters, which the recipe (restore -n) loses.
func TestNftApplyChangesOnlyOwned(t *testing.T) {
	requireNft(t)
	ns := nstest.Netns(t)
	base, _ := os.ReadFile("testdata/base/docker.v4.rules")
	nstest.Run(t, ns, base, "iptables-nft-restore", "-c")
	nstest.MustHostwall(t, ns, "apply", "-4", "testdata/policy/seed-docker.v4")
	nstest.Run(t, ns, nil, "ip", "link", "set", "lo", "up")
	nstest.LoopbackTraffic(t, ns, 3)
	for _, c := range []string{"-N f2b-sshd", "-A f2b-sshd -j RETURN", "-I INPUT 1 -p tcp -m multiport --dports 22 -j f2b-sshd"} {
		nstest.Run(t, ns, nil, "iptables-nft", append([]string{"-w"}, strings.Fields(c)...)...)
	}
	before := nstest.StripComments(nstest.Run(t, ns, nil, "iptables-nft-save", "-c"))
	loLine := nstest.FindLine(t, before, "-A FILTERS -i lo -j ACCEPT")
	if strings.HasPrefix(loLine, "[0:0]") {
		t.Fatalf("no traffic was counted: %q", loLine)
	}
	handlesBefore := nstest.Run(t, ns, nil, "nft", "-a", "list", "chain", "ip", "filter", "FILTERS")

	pol, _ := os.ReadFile("testdata/policy/seed-docker.v4")
	changed := strings.Replace(string(pol), "-A FILTERS -j REJECT", "-A FILTERS -p tcp -m tcp --dport 443 -j ACCEPT\n-A FILTERS -j REJECT", 1)
	changed = strings.Replace(changed, "-A DOCKER-USER -i eth0 -j FILTERS\n", "", 1)
	path := filepath.Join(t.TempDir(), "changed.v4")
	os.WriteFile(path, []byte(changed), 0o644)
	stop := monitor(t, ns)
	out := nstest.MustHostwall(t, ns, "apply", "-4", path)
	events := stop()
	if !strings.Contains(out, "owned rules +1 -0, hooks +0 -1") {
		t.Errorf("report: %s", out)
	}
	// One rule added to FILTERS, one hook deleted from DOCKER-USER, one
	// new generation: nothing else.
	var adds, dels int
	for _, e := range events {
		switch {
		case strings.HasPrefix(e, "add rule ip filter FILTERS "), strings.HasPrefix(e, "insert rule ip filter FILTERS "):
			adds++
		case strings.HasPrefix(e, "delete rule ip filter DOCKER-USER "):
			dels++
		case strings.HasPrefix(e, "# new generation"):
		default:
			t.Errorf("unexpected event: %q", e)
		}
	}
	if adds != 1 || dels != 1 {
		t.Errorf("events: %d adds, %d deletes, want 1 and 1: %q", adds, dels, events)
	}
	after := nstest.StripComments(nstest.Run(t, ns, nil, "iptables-nft-save", "-c"))
	if got := nstest.FindLine(t, after, "-A FILTERS -i lo -j ACCEPT"); got != loLine {
		t.Errorf("unchanged FILTERS rule lost its counters: %q, was %q", got, loLine)
	}
	handlesAfter := nstest.Run(t, ns, nil, "nft", "-a", "list", "chain", "ip", "filter", "FILTERS")
	for _, l := range strings.Split(handlesBefore, "\n") {
		if strings.Contains(l, "# handle") && !strings.Contains(handlesAfter, strings.TrimSpace(l[strings.Index(l, "# handle"):])) {
			t.Errorf("rule lost its handle: %q", l)
		}
	}
	f2b := strings.Index(after, "-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd")
	hook := strings.Index(after, "-A INPUT -j FILTERS")
	if f2b < 0 || hook < 0 || f2b > hook {
		t.Errorf("fail2ban's rule must stay above the hook:\n%s", after)
	}
	if !strings.Contains(after, "[0:0] -A FILTERS -p tcp -m tcp --dport 443 -j ACCEPT\n") || strings.Contains(after, "-A DOCKER-USER -i eth0 -j FILTERS") {
		t.Errorf("new rule or removed hook wrong:\n%s", after)
	}
}

// TestNftApplyBadInput: every malformed policy is refused with file:line
// and not one nf_tables event.
func TestNftApplyBadInput(t *testing.T) {
	requireNft(t)
	ns := nstest.Netns(t)
	base, _ := os.ReadFile("testdata/base/docker.v4.rules")
	nstest.Run(t, ns, base, "iptables-nft-restore", "-c")
	nstest.MustHostwall(t, ns, "apply", "-4", "testdata/policy/seed-docker.v4")
	before := nftSnapshot(t, ns, true)
	dir := t.TempDir()
	location := regexp.MustCompile(`[^ ]+\.v4:\d+(:\d+)?: `)
	stop := monitor(t, ns)
	for name, content := range badPolicies(t) {
		path := filepath.Join(dir, name+".v4")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := nstest.Hostwall(t, ns, "apply", "-4", path)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1\n%s%s", name, code, out, errOut)
			continue
		}
		if !location.MatchString(errOut) || len(errOut) > 2000 {
			t.Errorf("%s: error does not name file:line (or is huge): %.300q", name, errOut)
		}
	}
	if ev := stop(); len(ev) != 0 {
		t.Errorf("bad input made nf_tables events: %q", ev)
	}
	if after := nftSnapshot(t, ns, true); after != before {
		t.Errorf("bad input changed nf_tables:\n%s", nstest.FirstDiff(before, after))
	}
}

// TestNftApplyConcurrent: apply loops while iptables-nft adds and deletes
// rules in another chain. Every batch is checked against the generation
// hostwall read, so nothing is lost or doubled, and FILTERS ends as the
// last policy.
func TestNftApplyConcurrent(t *testing.T) {
	requireNft(t)
	ns := nstest.Netns(t)
	base, _ := os.ReadFile("testdata/base/docker.v4.rules")
	nstest.Run(t, ns, base, "iptables-nft-restore", "-c")
	pol, _ := os.ReadFile("testdata/policy/seed-docker.v4")
	alt := filepath.Join(t.TempDir(), "alt.v4")
	os.WriteFile(alt, []byte(strings.Replace(string(pol), "--dport 22", "--dport 2222", 1)), 0o644)
	policies := []string{"testdata/policy/seed-docker.v4", alt}

	// HOSTWALL_CONCURRENT_APPLIES: fewer applies racing as many foreign
	// adds (make vm-test: 20); the checks are the same.
	applies := knob(t, "HOSTWALL_CONCURRENT_APPLIES", 60)
	foreign := applies
	var wg sync.WaitGroup
	errs := make(chan error, applies+2*foreign)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < applies; i++ {
			if _, err := nstest.Try(ns, nil, nstest.Bin, "apply", "-4", policies[i%2]); err != nil {
				errs <- fmt.Errorf("apply %d: %w", i, err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 1; i <= foreign; i++ {
			rule := []string{"-w", "-A", "DOCKER-ISOLATION-STAGE-2", "-s", fmt.Sprintf("10.9.0.%d/32", i), "-j", "DROP"}
			if _, err := nstest.Try(ns, nil, "iptables-nft", rule...); err != nil {
				errs <- err
			}
			if i%2 == 1 {
				rule[1] = "-D"
				if _, err := nstest.Try(ns, nil, "iptables-nft", rule...); err != nil {
					errs <- err
				}
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	final := nstest.StripComments(nstest.Run(t, ns, nil, "iptables-nft-save"))
	for i := 1; i <= foreign; i++ {
		n := strings.Count(final, fmt.Sprintf("-s 10.9.0.%d/32 -j DROP\n", i))
		if want := (i + 1) % 2; n != want {
			t.Errorf("foreign rule 10.9.0.%d present %d times, want %d", i, n, want)
		}
	}
	if n := strings.Count(final, "-A INPUT -j FILTERS\n"); n != 1 {
		t.Errorf("INPUT hook present %d times", n)
	}
	out := nstest.MustHostwall(t, ns, "apply", "-4", policies[(applies-1)%2])
	if !strings.Contains(out, "no change") {
		t.Errorf("FILTERS is not the last policy applied:\n%s", out)
	}
}

// TestNftApplyKernelRefusal: a rule only the kernel refuses (DNAT outside
// the nat table) in the IPv4 file, with a good IPv6 file: the one batch
// of both families is refused whole, the error names the rule's file
// line, and nf_tables sees no event.
func TestNftApplyKernelRefusal(t *testing.T) {
	requireNft(t)
	ns := nstest.Netns(t)
	base, _ := os.ReadFile("testdata/base/docker.v4.rules")
	nstest.Run(t, ns, base, "iptables-nft-restore")
	pol, _ := os.ReadFile("testdata/policy/seed-docker.v4")
	bad := strings.Replace(string(pol), "-A FILTERS -j REJECT", "-A FILTERS -p tcp -j DNAT --to-destination 192.0.2.1\n-A FILTERS -j REJECT", 1)
	path := filepath.Join(t.TempDir(), "dnat.v4")
	os.WriteFile(path, []byte(bad), 0o644)
	line := 0
	for i, l := range strings.Split(bad, "\n") {
		if strings.Contains(l, "DNAT") {
			line = i + 1
		}
	}
	before := nftSnapshot(t, ns, true)
	stop := monitor(t, ns)
	out, errOut, code := nstest.Hostwall(t, ns, "apply", "-4", path, "-6", "testdata/policy/seed.v6")
	if ev := stop(); len(ev) != 0 {
		t.Errorf("refused apply made events: %q", ev)
	}
	if code != 1 || !strings.Contains(errOut, fmt.Sprintf("%s:%d", path, line)) {
		t.Errorf("exit %d, want 1 and the DNAT rule's %s:%d named:\n%s%s", code, path, line, out, errOut)
	}
	if after := nftSnapshot(t, ns, true); after != before {
		t.Errorf("refused apply changed nf_tables:\n%s", nstest.FirstDiff(before, after))
	}
}
