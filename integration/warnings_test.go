package integration

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hostwall/hostwall/integration/nstest"
)

// TestApplyInterfaceWarnings: apply warns, at the file line, about -i
// and -o naming an interface its network namespace lacks (the seed's
// eth0 in a namespace whose NIC is ens3), never about one it has or a
// "+" prefix one starts with; it writes all the same. Also the
// offline warnings (no hook, DOCKER-USER without -i) reach apply.
func TestApplyInterfaceWarnings(t *testing.T) {
	eachBackend(t, func(t *testing.T, b cliBackend, ns string) {
		nstest.Run(t, ns, nil, "ip", "link", "add", "ens3", "type", "veth", "peer", "name", "peer0")
		seed, err := os.ReadFile("testdata/policy/seed-docker.v4")
		if err != nil {
			t.Fatal(err)
		}
		line := strings.Count(string(seed)[:strings.Index(string(seed), "-A DOCKER-USER -i eth0")], "\n") + 1
		path := policyFile(t, "seed.v4", string(seed))
		_, errOut, code := nstest.Hostwall(t, ns, "apply", "--backend", b.name, "-4", path)
		want := fmt.Sprintf("hostwall: warning: %s:%d:1: -i eth0: this network namespace has no interface eth0 (it has ens3, lo, peer0): the rule matches no packet", path, line)
		if code != 0 || !strings.Contains(errOut, want) || strings.Count(errOut, "warning") != 1 {
			t.Errorf("exit %d, want 0 and only %q:\n%s", code, want, errOut)
		}
		if !strings.Contains(saveFilter(t, b, ns), "-A DOCKER-USER -i eth0 -j FILTERS") {
			t.Error("the policy was not written")
		}
		for _, iface := range []string{"ens3", "ens+", "en+"} {
			path := policyFile(t, "ok.v4", strings.Replace(string(seed), "-i eth0", "-i "+iface, 1))
			if _, errOut, code := nstest.Hostwall(t, ns, "apply", "--backend", b.name, "-4", path); code != 0 || errOut != "" {
				t.Errorf("-i %s: exit %d:\n%s", iface, code, errOut)
			}
		}
		path = policyFile(t, "nohook.v4", strings.Replace(strings.Replace(string(seed), "-A INPUT -j FILTERS\n", "", 1), "-A DOCKER-USER -i eth0 -j FILTERS\n", "", 1))
		_, errOut, code = nstest.Hostwall(t, ns, "apply", "--backend", b.name, "-4", path)
		if code != 0 || !strings.Contains(errOut, "nothing jumps to FILTERS (no hook)") {
			t.Errorf("no hook: exit %d:\n%s", code, errOut)
		}
	})
}
