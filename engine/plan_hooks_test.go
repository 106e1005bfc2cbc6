package engine

import (
	"strings"
	"testing"

	"github.com/hostwall/hostwall/xtables"
)

// hookOrder lists the interfaces of a chain's rules that jump to
// FILTERS (-i IF), or "*" for one without -i, and "other" for rules
// that are not hooks.
func hookOrder(c *xtables.Chain) string {
	var out []string
	for _, r := range c.Rules {
		switch {
		case r.Target.Chain != "FILTERS":
			out = append(out, "other")
		case r.Header.InIface[0] != 0:
			out = append(out, strings.TrimRight(string(r.Header.InIface[:]), "\x00"))
		default:
			out = append(out, "*")
		}
	}
	return strings.Join(out, " ")
}

const hooksPolicy = `*filter
:INPUT ACCEPT [0:0]
:FILTERS - [0:0]
:DOCKER-USER - [0:0]
-A INPUT -i eth0 -j FILTERS
-A INPUT -i eth1 -j FILTERS
-A INPUT -i eth2 -j FILTERS
-A DOCKER-USER -i eth0 -j FILTERS
-A DOCKER-USER -i eth1 -j FILTERS
-A FILTERS -j DROP
COMMIT
`

// TestPlanHooksInFileOrder: missing hooks are inserted so that a
// chain's hooks are in the file's order: all of them into a user chain
// the plan creates, each after the hook the file puts before it, and at
// the top when it is the first; hooks already there stay where they are.
func TestPlanHooksInFileOrder(t *testing.T) {
	for _, c := range []struct {
		name, kernel string
		input        string // INPUT after the plan
	}{
		{"none there", "", "eth0 eth1 eth2 other"},
		{"first there", "-A INPUT -i eth0 -j FILTERS\n", "other eth0 eth1 eth2"},
		{"middle there", "-A INPUT -i eth1 -j FILTERS\n", "eth0 other eth1 eth2"},
		{"last there", "-A INPUT -i eth2 -j FILTERS\n", "eth0 eth1 other eth2"},
		{"first and last there", "-A INPUT -i eth0 -j FILTERS\n-A INPUT -i eth2 -j FILTERS\n", "other eth0 eth1 eth2"},
	} {
		kernel := "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:FILTERS - [0:0]\n-A INPUT -j ACCEPT\n" + c.kernel + "COMMIT\n"
		cur := kernelTable(t, kernel)
		p, err := PlanTable(cur, desired(t, hooksPolicy))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := hookOrder(p.Next.Chain("INPUT")); got != c.input {
			t.Errorf("%s: INPUT is %q, want %q", c.name, got, c.input)
		}
		// DOCKER-USER did not exist: created with both hooks, in order.
		if du := p.Next.Chain("DOCKER-USER"); du == nil || hookOrder(du) != "eth0 eth1" {
			t.Errorf("%s: DOCKER-USER created with hooks %v, want eth0 eth1", c.name, du)
		}
		// The result is what the file says: planning again changes nothing.
		p2, err := PlanTable(p.Next, desired(t, hooksPolicy))
		if err != nil {
			t.Fatal(err)
		}
		if p2.Changed() {
			t.Errorf("%s: second plan changes %v", c.name, p2.Diff)
		}
	}
}

// TestPlanForgottenChain: an owned chain's jump to a chain the file
// declares but hostwall does not own (and the kernel does not have) is
// an error naming the line of the jump and the --chain options to give.
func TestPlanForgottenChain(t *testing.T) {
	pol := strings.Replace(policyV1, ":FILTERS - [0:0]", ":FILTERS - [0:0]\n:LOGDROP - [0:0]", 1)
	pol = strings.Replace(pol, "-A FILTERS -j DROP", "-A FILTERS -j LOGDROP\n-A LOGDROP -j DROP", 1)
	_, err := PlanTable(kernelTable(t, dockerKernel), desired(t, pol))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"policy:10:1: ", "FILTERS jumps to LOGDROP", "give --chain FILTERS --chain LOGDROP"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// The kernel has LOGDROP (someone else's chain): fine.
	withLogdrop := strings.Replace(dockerKernel, ":f2b-sshd - [0:0]", ":f2b-sshd - [0:0]\n:LOGDROP - [0:0]", 1)
	if _, err := PlanTable(kernelTable(t, withLogdrop), desired(t, pol)); err != nil {
		t.Errorf("jump to the kernel's own LOGDROP: %v", err)
	}
}
