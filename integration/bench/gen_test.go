package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
)

// TestGenerators: the synthetic tables have exactly the sizes the
// benchmark names, parse as iptables-restore input, and the two policy
// variants differ in one FILTERS rule. Offline: no kernel, no root.
func TestGenerators(t *testing.T) {
	for _, n := range []int{0, minForeign, 1000, 10000} {
		text, err := genBase(n)
		if err != nil {
			t.Fatal(err)
		}
		f, err := policy.Parse(fmt.Sprintf("base-%d", n), []byte(text))
		if err != nil {
			t.Fatalf("base %d: %v", n, err)
		}
		tbl, err := policy.Build(f.Tables[0], policy.BuildOptions{Family: xtables.IPv4, Counters: true})
		if err != nil {
			t.Fatalf("base %d: %v", n, err)
		}
		got, comments, conntracks := 0, 0, 0
		for _, c := range tbl.Chains {
			got += len(c.Rules)
			for _, r := range c.Rules {
				for _, m := range r.Matches {
					switch m.Name {
					case "comment":
						comments++
					case "conntrack":
						conntracks++
					}
				}
			}
		}
		if got != n {
			t.Errorf("base %d: %d rules", n, got)
		}
		if n >= 1000 && (comments < n/10 || conntracks < n/10) {
			t.Errorf("base %d: %d comment and %d conntrack matches: not Docker/kube-proxy shaped", n, comments, conntracks)
		}
	}
	if _, err := genBase(minForeign - 1); err == nil {
		t.Error("a base smaller than the skeleton was generated")
	}
	for _, p := range []int{10, 1000} {
		var owned [2][]*xtables.Rule
		for v := range 2 {
			text, err := genPolicy(p, v)
			if err != nil {
				t.Fatal(err)
			}
			d, err := policy.ReadDesired("policy", []byte(text), policy.DesiredOptions{Family: xtables.IPv4})
			if err != nil {
				t.Fatalf("policy %d variant %d: %v", p, v, err)
			}
			if len(d.Tables) != 1 || len(d.Tables[0].Owned) != 1 || len(d.Tables[0].Hooks) != 2 {
				t.Fatalf("policy %d variant %d: %d tables", p, v, len(d.Tables))
			}
			owned[v] = d.Tables[0].Owned[0].Rules
			if len(owned[v]) != p {
				t.Errorf("policy %d variant %d: FILTERS has %d rules", p, v, len(owned[v]))
			}
			lines := recipeLines(text)
			if n := strings.Count(string(lines), "-A FILTERS "); n != p {
				t.Errorf("policy %d: the recipe's egrep keeps %d FILTERS rules", p, n)
			}
		}
		diff := 0
		for i := range owned[0] {
			if !owned[0][i].SameAs(owned[1][i]) {
				diff++
			}
		}
		if diff != 1 {
			t.Errorf("policy %d: the variants differ in %d rules, want 1", p, diff)
		}
	}
}
