package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
)

func readPolicy(t *testing.T, text string, fam *xtables.Family) *policy.Desired {
	t.Helper()
	d, err := policy.ReadDesired("f", []byte(text), policy.DesiredOptions{Family: fam})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestPolicyWarnings: the silent lockouts and gaps are named at their
// file line; the seed article's files get no warning.
func TestPolicyWarnings(t *testing.T) {
	head := "*filter\n:INPUT ACCEPT [0:0]\n:FILTERS - [0:0]\n:DOCKER-USER - [0:0]\n"
	for _, tc := range []struct {
		name, rules string
		ifaces      []string
		want        []string
	}{
		{"no hook", "-A FILTERS -i lo -j ACCEPT\n-A FILTERS -j REJECT\n", nil,
			[]string{`f:3: IPv4 table filter: nothing jumps to FILTERS (no hook): its rules filter nothing, the firewall it holds is off; add a hook such as "-A INPUT -j FILTERS"`}},
		{"hooked", "-A INPUT -j FILTERS\n-A FILTERS -j REJECT\n", nil, nil},
		{"DOCKER-USER without -i", "-A INPUT -j FILTERS\n-A DOCKER-USER -j FILTERS\n", nil,
			[]string{`f:6:1: -A DOCKER-USER -j FILTERS without -i: FILTERS then also filters what containers send out`}},
		{"DOCKER-USER with ! -i", "-A DOCKER-USER ! -i docker0 -j FILTERS\n", nil, nil},
		{"DOCKER-USER marked external", "# hostwall: external-interfaces\n-A DOCKER-USER -i eth0 -j FILTERS\n", []string{"lo"}, nil},
		{"interfaces offline", "-A INPUT -i eth0 -j FILTERS\n-A FILTERS -o nosuch -j DROP\n", nil, nil},
		{"interfaces", "-A INPUT -i eth0 -j FILTERS\n-A FILTERS -o ens+ -j DROP\n-A FILTERS ! -i wg0 -j DROP\n-A FILTERS -i en+ -j ACCEPT\n-A FILTERS -i + -j ACCEPT\n-A FILTERS -i ens3 -j ACCEPT\n",
			[]string{"ens3", "lo"}, []string{
				"f:7:1: -i wg0: this network namespace has no interface wg0 (it has ens3, lo): the rule matches every packet",
				"f:5:1: -i eth0: this network namespace has no interface eth0 (it has ens3, lo): the rule matches no packet",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PolicyWarnings(readPolicy(t, head+tc.rules+"COMMIT\n", xtables.IPv4), tc.ifaces)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d warnings, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for _, w := range tc.want {
				found := false
				for _, g := range got {
					found = found || strings.Contains(g, w)
				}
				if !found {
					t.Errorf("no warning %q in:\n%s", w, strings.Join(got, "\n"))
				}
			}
		})
	}
	files, _ := filepath.Glob("../integration/testdata/policy/*")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fam := xtables.IPv4
		if strings.HasSuffix(f, ".v6") {
			fam = xtables.IPv6
		}
		d, err := policy.ReadDesired(f, data, policy.DesiredOptions{Family: fam})
		if err != nil {
			t.Fatal(err)
		}
		if w := PolicyWarnings(d, nil); len(w) > 0 {
			t.Errorf("%s: %q", f, w)
		}
		if w := PolicyWarnings(d, []string{"eth0", "lo"}); len(w) > 0 {
			t.Errorf("%s with eth0: %q", f, w)
		}
	}
}
