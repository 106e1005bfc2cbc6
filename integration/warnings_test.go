package integration

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hostwall/hostwall/integration/nstest"
)

// TestApplyInterfaceWarnings: apply warns, at the file line, about -i
// and -o naming an interface its network namespace lacks (wan0, in a
// namespace whose NICs are eth0 and ens3), never about one it has or a
// "+" prefix one starts with; it writes all the same. Also the
// offline warnings (no hook, DOCKER-USER without -i) reach apply.
func TestApplyInterfaceWarnings(t *testing.T) {
	eachBackend(t, func(t *testing.T, b cliBackend, ns string) {
		nstest.Run(t, ns, nil, "ip", "link", "add", "ens3", "type", "veth", "peer", "name", "peer0")
		orig, err := os.ReadFile("testdata/policy/seed-docker.v4")
		if err != nil {
			t.Fatal(err)
		}
		seed := strings.Replace(string(orig), "-i eth0", "-i wan0", 1)
		line := strings.Count(seed[:strings.Index(seed, "-A DOCKER-USER -i wan0")], "\n") + 1
		path := policyFile(t, "seed.v4", seed)
		_, errOut, code := nstest.Hostwall(t, ns, "apply", "--backend", b.name, "-4", path)
		want := fmt.Sprintf("hostwall: warning: %s:%d:1: -i wan0: this network namespace has no interface wan0 (it has ens3, eth0, eth0-peer, lo, peer0): the rule matches no packet", path, line)
		if code != 0 || !strings.Contains(errOut, want) || strings.Count(errOut, "warning") != 1 {
			t.Errorf("exit %d, want 0 and only %q:\n%s", code, want, errOut)
		}
		if !strings.Contains(saveFilter(t, b, ns), "-A DOCKER-USER -i wan0 -j FILTERS") {
			t.Error("the policy was not written")
		}
		for _, iface := range []string{"ens3", "ens+", "en+"} {
			path := policyFile(t, "ok.v4", strings.Replace(seed, "-i wan0", "-i "+iface, 1))
			if _, errOut, code := nstest.Hostwall(t, ns, "apply", "--backend", b.name, "-4", path); code != 0 || errOut != "" {
				t.Errorf("-i %s: exit %d:\n%s", iface, code, errOut)
			}
		}
		path = policyFile(t, "nohook.v4", strings.Replace(strings.Replace(seed, "-A INPUT -j FILTERS\n", "", 1), "-A DOCKER-USER -i wan0 -j FILTERS\n", "", 1))
		_, errOut, code = nstest.Hostwall(t, ns, "apply", "--backend", b.name, "-4", path)
		if code != 0 || !strings.Contains(errOut, "nothing jumps to FILTERS (no hook)") {
			t.Errorf("no hook: exit %d:\n%s", code, errOut)
		}
	})
}
