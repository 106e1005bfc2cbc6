package policy

import (
	"strings"
	"testing"

	"github.com/hostwall/hostwall/xtables"
)

const markedFile = `*filter
:INPUT ACCEPT [0:0]
:FILTERS - [0:0]
:DOCKER-USER - [0:0]
-A INPUT -j FILTERS
# hostwall: external-interfaces ens* wg0
-A DOCKER-USER -i eth0 -j FILTERS
-A FILTERS -j ACCEPT
COMMIT
`

func TestExternalMark(t *testing.T) {
	d, err := ReadDesired("rules.v4", []byte(markedFile), DesiredOptions{Family: xtables.IPv4})
	if err != nil {
		t.Fatal(err)
	}
	var marked []string
	for _, h := range d.Tables[0].Hooks {
		if h.External != nil {
			marked = append(marked, h.Chain+" "+strings.Join(h.External.Patterns, ","))
		}
	}
	if len(marked) != 1 || marked[0] != "DOCKER-USER ens*,wg0" {
		t.Errorf("marked hooks: %q", marked)
	}
	for name, text := range map[string]string{
		"not above a hook": strings.Replace(markedFile, "-A INPUT -j FILTERS", "# hostwall: external-interfaces\n-A FILTERS -j DROP\n-A INPUT -j FILTERS", 1),
		"unknown":          strings.Replace(markedFile, "external-interfaces ens* wg0", "external-interface", 1),
		"bad pattern":      strings.Replace(markedFile, "ens*", "ens[", 1),
	} {
		if _, err := ReadDesired("rules.v4", []byte(text), DesiredOptions{Family: xtables.IPv4}); err == nil || !strings.Contains(err.Error(), "rules.v4:") {
			t.Errorf("%s: err = %v, want an error with its line", name, err)
		}
	}
}
