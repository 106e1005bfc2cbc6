package ext

import (
	"strings"
	"testing"
)

// TestOptionWordings: extensions whose options exclude each other say so
// in optionSet's one wording, as xtables_options_fcheck does.
func TestOptionWordings(t *testing.T) {
	for _, c := range []struct {
		name string
		rev  uint8
		fam  Family
		in   string
		want string
	}{
		{"multiport", 1, IPv4, "--dports 1 --sports 2", `option "--sports" cannot be used together with "--dports"`},
		{"multiport", 1, IPv4, "--dports 1 --destination-ports 2", `option "--destination-ports" can only be used once`},
		{"set", 4, IPv4, "--match-set s src --packets-eq 1 --packets-gt 2", `option "--packets-gt" cannot be used together with "--packets-eq"`},
		{"set", 4, IPv4, "--match-set s src --bytes-lt 1 --bytes-lt 2", `option "--bytes-lt" can only be used once`},
		{"set", 4, IPv4, "--match-set s src --match-set s dst", `option "--match-set" can only be used once`},
		{"ttl", 0, IPv4, "--ttl 1 --ttl-eq 2", `option "--ttl-eq" can only be used once`},
		{"ttl", 0, IPv4, "--ttl-eq 1 --ttl-lt 2", `option "--ttl-lt" cannot be used together with "--ttl-eq"`},
		{"hl", 0, IPv6, "--hl-gt 1 --hl-gt 2", `option "--hl-gt" can only be used once`},
	} {
		e := Lookup(Match, c.name, c.rev, c.fam)
		n := testNames.with(fakeIPSets{{"s", FamilyAny}})
		_, err := ParseOptions(e, RuleInfo{Family: c.fam, Proto: 6, Names: n}, strings.Fields(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: %v, want %s", c.name, c.in, err, c.want)
		}
	}
}
