package engine

import (
	"strings"
	"testing"

	"github.com/hostwall/hostwall/xtables"
)

// TestOldIndexes: the counter mapping of a write is the one a lookup of
// every rule by identity, and of every foot by chain name, gives.
func TestOldIndexes(t *testing.T) {
	first, err := PlanTable(kernelTable(t, dockerKernel), desired(t, policyV1))
	if err != nil {
		t.Fatal(err)
	}
	v2 := strings.Replace(policyV1, "-A FILTERS -j DROP", "-A FILTERS -p tcp --dport 443 -j ACCEPT\n-A FILTERS -j DROP", 1)
	v3 := strings.Replace(policyV1, "-A DOCKER-USER -i eth0 -j FILTERS\n", "", 1)
	v3 = strings.Replace(v3, ":FILTERS - [0:0]", ":FILTERS - [0:0]\n:EXTRA - [0:0]\n-A EXTRA -j ACCEPT", 1)
	for _, tc := range []struct {
		name string
		cur  *xtables.Table
		want string
	}{
		{"first apply", kernelTable(t, dockerKernel), policyV1},
		{"add a rule", first.Next, v2},
		{"remove a hook", first.Next, v3},
		{"no change", first.Next, policyV1},
	} {
		p, err := PlanTable(tc.cur, desired(t, tc.want))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		oldEnc, err := xtables.Encode(p.Current)
		if err != nil {
			t.Fatal(err)
		}
		newEnc, err := xtables.Encode(p.Next)
		if err != nil {
			t.Fatal(err)
		}
		lay, err := xtables.Layout(p.Current)
		if err != nil {
			t.Fatal(err)
		}
		got := oldIndexes(lay, newEnc)
		oldRule := map[*xtables.Rule]int{}
		oldFoot := map[string]int{}
		for i := range oldEnc.Rules {
			if r := oldEnc.Rules[i]; r != nil {
				oldRule[r] = i
			} else if c := oldEnc.Feet[i]; c != nil {
				oldFoot[c.Name] = i
			}
		}
		kept := 0
		for j := range newEnc.Rules {
			want, ok := -1, false
			if r := newEnc.Rules[j]; r != nil {
				want, ok = oldRule[r]
			} else if c := newEnc.Feet[j]; c != nil {
				want, ok = oldFoot[c.Name]
			}
			if !ok {
				want = -1
			}
			if got[j] != want {
				t.Errorf("%s: entry %d maps to old entry %d, want %d", tc.name, j, got[j], want)
			}
			if want >= 0 {
				kept++
			}
		}
		if kept == 0 {
			t.Errorf("%s: nothing kept: the test shows nothing", tc.name)
		}
	}
}
