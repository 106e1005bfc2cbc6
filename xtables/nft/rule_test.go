package nft

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
)

// buildTables parses a rules file as hostwall restore does.
func buildTables(t testing.TB, f *xtables.Family, name string, text []byte) []*xtables.Table {
	t.Helper()
	file, err := policy.Parse(name, text)
	if err != nil {
		t.Fatal(err)
	}
	var out []*xtables.Table
	for _, b := range file.Tables {
		tbl, err := policy.Build(b, policy.BuildOptions{Family: f, Counters: true})
		if err != nil {
			if strings.Contains(err.Error(), "does not exist") {
				// An ipset that only the integration tests create.
				t.Logf("skip %s: %v", name, err)
				continue
			}
			t.Fatal(err)
		}
		out = append(out, tbl)
	}
	return out
}

// parseRule builds a one-rule filter table around the rule text (with
// user chains A and B for jumps) and returns the rule.
func parseRule(t testing.TB, f *xtables.Family, rule string) *xtables.Rule {
	t.Helper()
	text := "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n-A A " + rule + "\nCOMMIT\n"
	tbl := buildTables(t, f, "rule", []byte(text))[0]
	return tbl.Chain("A").Rules[0]
}

// roundTrip checks the codec on one rule: encode, marshal, unmarshal,
// decode gives the rule back.
func roundTrip(t *testing.T, f *xtables.Family, r *xtables.Rule, what string) []Expr {
	t.Helper()
	exprs, _, err := EncodeRule(f, r)
	if err != nil {
		if errors.Is(err, ErrUnrepresentable) {
			t.Logf("%s: %v", what, err)
			return nil
		}
		t.Fatalf("%s: encode: %v", what, err)
	}
	b, err := MarshalExprs(FamilyOf(f), exprs)
	if err != nil {
		t.Fatalf("%s: marshal: %v", what, err)
	}
	back, err := UnmarshalExprs(FamilyOf(f), b)
	if err != nil {
		t.Fatalf("%s: unmarshal: %v", what, err)
	}
	if !reflect.DeepEqual(back, exprs) {
		t.Fatalf("%s: unmarshal gives\n%swant\n%s", what, Format(back), Format(exprs))
	}
	got, err := DecodeRule(f, back, nil)
	if err != nil {
		t.Fatalf("%s: decode: %v\n%s", what, err, Format(exprs))
	}
	if !got.SameAs(r) || got.Counters != r.Counters {
		t.Fatalf("%s: decodes as a different rule\n%s", what, Format(exprs))
	}
	return exprs
}

func fixturePaths(t testing.TB) []string {
	var paths []string
	for _, g := range []string{"../../integration/testdata/fixtures/*.rules", "../../integration/testdata/ext/*.rules"} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m...)
	}
	if len(paths) == 0 {
		t.Fatal("no fixtures")
	}
	return paths
}

func familyOfPath(p string) *xtables.Family {
	if strings.HasSuffix(p, ".v6.rules") {
		return xtables.IPv6
	}
	return xtables.IPv4
}

// TestRoundTripFixtures runs every rule of the integration fixtures
// through the codec.
func TestRoundTripFixtures(t *testing.T) {
	n := 0
	for _, p := range fixturePaths(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f := familyOfPath(p)
		for _, tbl := range buildTables(t, f, p, data) {
			for _, c := range tbl.Chains {
				for i, r := range c.Rules {
					roundTrip(t, f, r, filepath.Base(p)+": "+tbl.RuleText(c, r, false)+" #"+strconv.Itoa(i))
					n++
				}
			}
		}
	}
	t.Logf("%d rules", n)
}
