package engine

import (
	"slices"
	"testing"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
)

func TestExpandExternal(t *testing.T) {
	file := "*filter\n:FILTERS - [0:0]\n:DOCKER-USER - [0:0]\n-A DOCKER-USER -i eno1 -j FILTERS\n# hostwall: external-interfaces\n-A DOCKER-USER -i eth0 -j FILTERS\n-A FILTERS -j ACCEPT\nCOMMIT\n"
	d, err := policy.ReadDesired("f", []byte(file), policy.DesiredOptions{Family: xtables.IPv4})
	if err != nil {
		t.Fatal(err)
	}
	ds := []*policy.Desired{d}
	out, err := expandExternal(ds, func([]string) ([]string, error) { return []string{"eno1", "ens3", "wan0"}, nil })
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range out[0].Tables[0].Hooks {
		got = append(got, out[0].Tables[0].Text(h.Chain, h.Rule))
	}
	want := []string{"-A DOCKER-USER -i eno1 -j FILTERS", "-A DOCKER-USER -i ens3 -j FILTERS", "-A DOCKER-USER -i wan0 -j FILTERS"}
	if !slices.Equal(got, want) {
		t.Errorf("expanded hooks %q, want %q (eno1 once)", got, want)
	}
	if len(d.Tables[0].Hooks) != 2 {
		t.Errorf("the input was changed")
	}
	for _, name := range []string{"lo", "docker0", "br-1a2b", "veth12", "cni0"} {
		if !isInternal(name) {
			t.Errorf("%s is internal", name)
		}
	}
	if isInternal("eth0") || isInternal("ext0") {
		t.Errorf("eth0, ext0 are not internal")
	}
}
