package engine

import (
	"strings"
	"testing"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
)

// kernelTable builds a table as if read from the kernel, from save text.
func kernelTable(t *testing.T, text string) *xtables.Table {
	t.Helper()
	f, err := policy.Parse("kernel", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := policy.Build(f.Tables[0], policy.BuildOptions{Family: xtables.IPv4, Counters: true})
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func desired(t *testing.T, text string) *policy.DesiredTable {
	t.Helper()
	d, err := policy.ReadDesired("policy", []byte(text), policy.DesiredOptions{Family: xtables.IPv4})
	if err != nil {
		t.Fatal(err)
	}
	return d.Tables[0]
}

func saveText(t *testing.T, tbl *xtables.Table) string {
	var b strings.Builder
	if err := xtables.Save(&b, tbl, xtables.SaveOptions{Counters: true}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

const dockerKernel = `*filter
:INPUT ACCEPT [100:1000]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
:f2b-sshd - [0:0]
[9:90] -A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd
[5:50] -A FORWARD -j DOCKER-USER
[5:50] -A DOCKER-USER -j RETURN
[9:90] -A f2b-sshd -j RETURN
COMMIT
`

const policyV1 = `*filter
:INPUT ACCEPT [0:0]
:FILTERS - [0:0]
:DOCKER-USER - [0:0]
-A INPUT -j FILTERS
-A DOCKER-USER -i eth0 -j FILTERS
-A FILTERS -i lo -j ACCEPT
-A FILTERS -p tcp --dport 22 -j ACCEPT
-A FILTERS -j DROP
COMMIT
`

func TestPlanCreatesChainAndHooks(t *testing.T) {
	cur := kernelTable(t, dockerKernel)
	p, err := PlanTable(cur, desired(t, policyV1))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Changed() || p.Added != 3 || p.Removed != 0 || len(p.HooksInserted) != 2 {
		t.Fatalf("plan: changed=%v +%d -%d hooks %v", p.Changed(), p.Added, p.Removed, p.HooksInserted)
	}
	got := saveText(t, p.Next)
	for _, want := range []string{
		// hooks at the top, other rules after them with their counters
		"[0:0] -A INPUT -j FILTERS\n[9:90] -A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd\n",
		"[0:0] -A DOCKER-USER -i eth0 -j FILTERS\n[5:50] -A DOCKER-USER -j RETURN\n",
		":INPUT ACCEPT [100:1000]",
		":FILTERS - [0:0]\n:f2b-sshd - [0:0]\n", // user chains sorted
	} {
		if !strings.Contains(got, want) {
			t.Errorf("next table lacks %q:\n%s", want, got)
		}
	}
	// Planning again on the result changes nothing.
	p2, err := PlanTable(p.Next, desired(t, policyV1))
	if err != nil {
		t.Fatal(err)
	}
	if p2.Changed() || len(p2.Diff) != 0 {
		t.Errorf("second plan changes: %v", p2.Diff)
	}
}

func TestPlanKeepsRulesAndPlace(t *testing.T) {
	first, err := PlanTable(kernelTable(t, dockerKernel), desired(t, policyV1))
	if err != nil {
		t.Fatal(err)
	}
	cur := first.Next
	// fail2ban puts its rule above our hook after we applied.
	in := cur.Chain("INPUT")
	in.Rules[0], in.Rules[1] = in.Rules[1], in.Rules[0]
	old := cur.Chain("FILTERS").Rules

	v2 := strings.Replace(policyV1, "-A FILTERS -j DROP", "-A FILTERS -p tcp --dport 443 -j ACCEPT\n-A FILTERS -j DROP", 1)
	v2 = strings.Replace(v2, "-A DOCKER-USER -i eth0 -j FILTERS\n", "", 1)
	p, err := PlanTable(cur, desired(t, v2))
	if err != nil {
		t.Fatal(err)
	}
	if p.Added != 1 || p.Removed != 0 || len(p.HooksRemoved) != 1 || len(p.HooksInserted) != 0 {
		t.Fatalf("plan +%d -%d hooks +%v -%v", p.Added, p.Removed, p.HooksInserted, p.HooksRemoved)
	}
	rules := p.Next.Chain("FILTERS").Rules
	// Kept rules are the very same values, which is how counters and
	// kernel bookkeeping travel.
	if rules[0] != old[0] || rules[1] != old[1] || rules[3] != old[2] {
		t.Error("unchanged FILTERS rules were not reused")
	}
	if got := p.Next.Chain("INPUT").Rules; got[0].Target.Chain != "f2b-sshd" || got[1].Target.Chain != "FILTERS" {
		t.Error("fail2ban's rule did not stay above the hook")
	}
	if len(p.Next.Chain("DOCKER-USER").Rules) != 1 {
		t.Error("hook not removed from DOCKER-USER")
	}
}

func TestPlanDuplicateHookAndMissingChain(t *testing.T) {
	cur := kernelTable(t, `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:FILTERS - [0:0]
-A INPUT -j FILTERS
-A INPUT -j FILTERS
COMMIT
`)
	p, err := PlanTable(cur, desired(t, policyV1))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Next.Chain("INPUT").Rules); n != 1 {
		t.Errorf("INPUT has %d hooks, want exactly 1", n)
	}
	du := p.Next.Chain("DOCKER-USER")
	if du == nil || len(du.Rules) != 1 || !strings.Contains(strings.Join(p.ChainsCreated, " "), "DOCKER-USER") {
		t.Errorf("DOCKER-USER not created with its hook: %v", p.ChainsCreated)
	}
}

func TestPlanJumpToMissingChain(t *testing.T) {
	pol := strings.Replace(policyV1, ":FILTERS - [0:0]", ":FILTERS - [0:0]\n:LOGDROP - [0:0]", 1)
	pol = strings.Replace(pol, "-A FILTERS -j DROP", "-A FILTERS -j LOGDROP", 1)
	if _, err := PlanTable(kernelTable(t, dockerKernel), desired(t, pol)); err == nil || !strings.Contains(err.Error(), "LOGDROP") {
		t.Errorf("jump to a chain the kernel lacks: %v", err)
	}
}

func TestMatchRules(t *testing.T) {
	mk := func(ports ...string) []*xtables.Rule {
		p := &xtables.RuleParser{Family: xtables.IPv4}
		var out []*xtables.Rule
		for _, port := range ports {
			r, err := p.Parse(strings.Fields("-p tcp --dport " + port + " -j ACCEPT"))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, r[0])
		}
		return out
	}
	old := mk("1", "2", "3", "4", "5")
	m := matchRules(old, mk("1", "9", "3", "4", "8", "5"))
	want := map[int]int{0: 0, 2: 2, 3: 3, 5: 4}
	if len(m) != len(want) {
		t.Fatalf("matched %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("new %d -> old %d, want %d", k, m[k], v)
		}
	}
}

func TestPublishedPortWarnings(t *testing.T) {
	nat := kernelTable(t, `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 9090 -j DNAT --to-destination 172.17.0.3:9090
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 7070 -j DNAT --to-destination 172.17.0.4
COMMIT
`)
	// 9090 and 7070 keep their port through DNAT (the same port, no
	// port): only 8080 warns.
	pol := strings.Replace(policyV1, "-A FILTERS -j DROP", "-A FILTERS -p tcp --dport 8080 -j ACCEPT\n-A FILTERS -p tcp --dport 9090 -j ACCEPT\n-A FILTERS -p tcp --dport 7070 -j ACCEPT\n-A FILTERS -j DROP", 1)
	w := PublishedPortWarnings(desired(t, pol), nat)
	if len(w) != 1 || !strings.Contains(w[0], "policy:9:1") || !strings.Contains(w[0], "--ctorigdstport 8080") || !strings.Contains(w[0], "rewrites it to 172.17.0.2:80 ") {
		t.Errorf("warnings %q", w)
	}
	// Not reached from DOCKER-USER: no warning.
	noDocker := strings.Replace(pol, "-A DOCKER-USER -i eth0 -j FILTERS\n", "", 1)
	if w := PublishedPortWarnings(desired(t, noDocker), nat); len(w) != 0 {
		t.Errorf("warning without a DOCKER-USER hook: %q", w)
	}
}
