// Package docker tests hostwall against a real Docker engine: Debian's
// dockerd (docker.io) with the iptables-legacy backend, running in a
// network namespace of the test's with private paths, a container built
// from a local busybox image publishing ports, and a client namespace
// joined by a veth pair that makes real TCP connections. The same
// harness runs Docker on iptables-nft, Debian's 20.10 and Docker 29's
// engine built from its Go module (dockernft_test.go). It needs root
// and the packages make deps installs (make docker-test runs it); with
// CI=true a missing one fails the test instead of skipping it.
package docker

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hostwall/hostwall/integration/nstest"
)

func TestMain(m *testing.M) { nstest.Main(m, "../../cmd/hostwall") }

// The veth pair's addresses, private to the test's two namespaces.
const (
	hostAddr   = "10.231.0.1"
	clientAddr = "10.231.0.2"
	image      = "hwtest/busybox:e2e"
	httpdCmd   = `CMD ["/bin/busybox","httpd","-f","-p","80","-h","/www"]`
)

// The container publishes its port 80 twice: the policy allows 8080 and
// must keep refusing 8081.
const (
	allowed = "8080"
	other   = "8081"
)

// policyFile is the seed article's Docker policy for a host whose outside
// interface is veth, with extra FILTERS rules before the final REJECT.
func policyFile(veth string, extra ...string) string {
	var b strings.Builder
	b.WriteString(`*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:FILTERS - [0:0]
:DOCKER-USER - [0:0]
-A INPUT -j FILTERS
-A DOCKER-USER -i ` + veth + ` -j FILTERS
-A FILTERS -i lo -j ACCEPT
-A FILTERS -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FILTERS -m conntrack --ctstate INVALID -j DROP
-A FILTERS -p icmp -j ACCEPT
-A FILTERS -p tcp -m tcp --dport 22 -j ACCEPT
`)
	for _, r := range extra {
		b.WriteString("-A FILTERS " + r + "\n")
	}
	b.WriteString("-A FILTERS -j REJECT\nCOMMIT\n")
	return b.String()
}

// allowPublished is how a user allows a published port: Docker has DNATed
// it before DOCKER-USER, so the port is matched in conntrack's original
// tuple.
func allowPublished(port string) string {
	return "-p tcp -m conntrack --ctstate NEW --ctorigdstport " + port + " -j ACCEPT"
}

// TestDockerEndToEnd: hostwall's FILTERS chain, hooked from INPUT and
// DOCKER-USER, decides which of a real container's published ports a
// client reaches; it survives a dockerd restart; re-applying a changed
// policy while the container serves leaves every chain, rule and counter
// of Docker's as it was.
func TestDockerEndToEnd(t *testing.T) {
	requireDocker(t)
	start := time.Now()
	sc := newScene(t)
	hostNS, clientNS, veth := sc.hostNS, sc.clientNS, sc.veth

	// A real dockerd, a locally built busybox image, a container that
	// publishes port 80 as 8080 and 8081.
	d := newDockerHost(t, hostNS)
	d.start()
	token := sc.serve(d)
	t.Logf("dockerd up, container serving: %v", time.Since(start).Round(time.Millisecond))

	expectServed, expectRefused, apply := sc.expectServed, sc.expectRefused, sc.apply
	save := func(counters bool) string {
		t.Helper()
		args := []string{}
		if counters {
			args = append(args, "-c")
		}
		return nstest.StripComments(nstest.Run(t, hostNS, nil, "iptables-legacy-save", args...))
	}

	// Without a policy, Docker publishes both ports to the client.
	expectServed("no policy", allowed)
	expectServed("no policy", other)

	// 1. A policy that allows neither published port.
	out, errOut := apply("deny.v4", policyFile(veth))
	if !strings.Contains(out, "written") || warnings(errOut) != nil {
		t.Errorf("apply deny.v4: stdout %q, stderr %q", out, errOut)
	}
	checkHooks(t, save(false), veth)
	expectRefused("policy without the port", allowed)
	expectRefused("policy without the port", other)

	// 2. The mistake: --dport of the published port in a chain reached
	// from DOCKER-USER. hostwall warns, and the port stays refused.
	dportPolicy := policyFile(veth, "-p tcp -m tcp --dport "+allowed+" -j ACCEPT")
	_, errOut = apply("dport.v4", dportPolicy)
	expectPublishedPortWarning(t, "apply", errOut)
	t.Logf("hostwall apply with --dport %s warned:\n%s", allowed, strings.TrimSpace(errOut))
	expectRefused("--dport of the published port", allowed)
	// check, offline, learns the published ports from the file's own nat
	// table: here the one Docker wrote, as iptables-save prints it.
	nat := nstest.StripComments(nstest.Run(t, hostNS, nil, "iptables-legacy-save", "-t", "nat"))
	if !strings.Contains(nat, "-j DNAT") {
		t.Fatalf("Docker wrote no DNAT rule:\n%s", nat)
	}
	withNat := filepath.Join(sc.policies, "dport-with-nat.v4")
	if err := os.WriteFile(withNat, []byte(dportPolicy+nat), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := nstest.Hostwall(t, hostNS, "check", "-4", withNat)
	if code != 0 {
		t.Errorf("hostwall check: exit %d\n%s", code, errOut)
	}
	expectPublishedPortWarning(t, "check", errOut)

	// 3. The published port allowed as users mean it: 8080 connects,
	// 8081 is still refused, and nothing is warned about.
	allowPolicy := policyFile(veth, allowPublished(allowed))
	out, errOut = apply("allow.v4", allowPolicy)
	if !strings.Contains(out, "written") || warnings(errOut) != nil {
		t.Errorf("apply allow.v4: stdout %q, stderr %q", out, errOut)
	}
	expectServed("--ctorigdstport "+allowed, allowed)
	expectRefused("--ctorigdstport "+allowed, other)

	// 4. dockerd restarts (all its processes gone, then back with the
	// container): the policy still holds.
	owned := func(s string) []string {
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "-A FILTERS ") || strings.HasSuffix(l, " -j FILTERS") {
				keep = append(keep, l)
			}
		}
		return keep
	}
	ownedBefore := owned(save(false))
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	if left := d.waitNoProcesses(15 * time.Second); len(left) > 0 {
		t.Fatalf("dockerd stopped but its processes are still there:%s", describe(left))
	}
	restart := time.Now()
	d.start()
	waitServing(t, d, token)
	t.Logf("dockerd restarted, container serving again: %v", time.Since(restart).Round(time.Millisecond))
	afterRestart := save(false)
	checkHooks(t, afterRestart, veth)
	if ownedAfter := owned(afterRestart); strings.Join(ownedAfter, "\n") != strings.Join(ownedBefore, "\n") {
		t.Errorf("FILTERS and its hooks changed across the restart: %s",
			nstest.FirstDiff(strings.Join(ownedAfter, "\n"), strings.Join(ownedBefore, "\n")))
	}
	if out, _ = apply("allow.v4", allowPolicy); !strings.Contains(out, "no change, nothing written") {
		t.Errorf("the same policy after the restart should need no write: %s", out)
	}
	expectServed("after dockerd restart", allowed)
	expectRefused("after dockerd restart", other)

	// 5. A changed policy (8081 allowed too) applied while the container
	// serves: Docker's chains, rules and counters stay exactly as they
	// were, the container is the same, and an open connection lives on.
	held, err := dial(t, clientNS, hostAddr+":"+allowed)
	if err != nil {
		t.Fatalf("open a connection to hold across the apply: %v", err)
	}
	defer held.Close()
	idBefore := d.mustDocker(nil, "inspect", "-f", "{{.Id}} {{.State.StartedAt}} {{.RestartCount}}", "web")
	before := stableSave(t, hostNS)
	if n := countedDockerRules(before); n < 3 {
		t.Errorf("only %d of Docker's rules have counted packets; the comparison would prove little:\n%s", n, before)
	}
	for _, re := range []string{`^\[[1-9]\d*:\d+\] -A FORWARD -j DOCKER-USER$`, `^\[[1-9]\d*:\d+\] -A DOCKER .*--dport ` + allowed + ` -j DNAT `} {
		if !regexp.MustCompile(`(?m)` + re).MatchString(before) {
			t.Errorf("no counted rule matching %s in:\n%s", re, before)
		}
	}
	out, errOut = apply("changed.v4", policyFile(veth, allowPublished(allowed), allowPublished(other)))
	if !strings.Contains(out, "owned rules +1 -0, hooks +0 -0") || warnings(errOut) != nil {
		t.Errorf("apply changed.v4: stdout %q, stderr %q", out, errOut)
	}
	after := save(true)
	t.Logf("changed policy applied while serving: %s", strings.TrimSpace(out))
	if b, a := strings.Join(dockerLines(before), "\n"), strings.Join(dockerLines(after), "\n"); a != b {
		t.Errorf("Docker's chains, rules or counters changed: %s", nstest.FirstDiff(a, b))
	}
	if !strings.Contains(after, "-A FILTERS "+allowPublished(other)) {
		t.Errorf("the new rule is not in FILTERS:\n%s", after)
	}
	if idAfter := d.mustDocker(nil, "inspect", "-f", "{{.Id}} {{.State.StartedAt}} {{.RestartCount}}", "web"); idAfter != idBefore {
		t.Errorf("the container changed during the apply: %q, was %q", idAfter, idBefore)
	}
	if resp, err := get(held); err != nil || !strings.Contains(resp, token) {
		t.Errorf("connection opened before the apply: %q, %v", resp, err)
	}
	expectServed("changed policy", allowed)
	expectServed("changed policy", other)
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// scene is the Docker host's namespace and a client namespace joined by
// a veth pair, addressed hostAddr and clientAddr, with up links.
type scene struct {
	t                      *testing.T
	hostNS, clientNS, veth string
	token                  string // the container's page, once serve ran
	policies               string // where apply writes its policy files
}

func newScene(t *testing.T) *scene {
	t.Helper()
	sc := &scene{t: t, hostNS: netns(t), clientNS: netns(t), veth: "hwd" + randHex(3), policies: t.TempDir()}
	hostNS, clientNS, veth := sc.hostNS, sc.clientNS, sc.veth
	if out, err := execIP("link", "add", veth, "netns", hostNS, "type", "veth", "peer", "name", veth+"c", "netns", clientNS); err != nil {
		t.Fatalf("ip link add: %v\n%s", err, out)
	}
	nstest.Run(t, hostNS, nil, "ip", "addr", "add", hostAddr+"/30", "dev", veth)
	nstest.Run(t, clientNS, nil, "ip", "addr", "add", clientAddr+"/30", "dev", veth+"c")
	for _, ns := range []string{hostNS, clientNS} {
		nstest.Run(t, ns, nil, "ip", "link", "set", "lo", "up")
	}
	nstest.Run(t, hostNS, nil, "ip", "link", "set", veth, "up")
	nstest.Run(t, clientNS, nil, "ip", "link", "set", veth+"c", "up")
	return sc
}

// serve imports the busybox image into d and runs the container "web"
// publishing its port 80 as allowed and other; it returns once the
// container serves its page, which it returns.
func (sc *scene) serve(d *dockerHost) string {
	sc.t.Helper()
	sc.token = "hostwall-docker-e2e-" + randHex(8)
	tarball, err := busyboxImage(sc.token)
	if err != nil {
		sc.t.Fatal(err)
	}
	d.mustDocker(tarball, "import", "-c", httpdCmd, "-", image)
	d.mustDocker(nil, "run", "-d", "--init", "--restart", "always", "--name", "web",
		"-p", allowed+":80", "-p", other+":80", image)
	waitServing(sc.t, d, sc.token)
	return sc.token
}

// probe fetches the page from the client namespace through the host's
// port.
func (sc *scene) probe(port string) (string, error) {
	sc.t.Helper()
	conn, err := dial(sc.t, sc.clientNS, hostAddr+":"+port)
	if err != nil {
		return "", err
	}
	return get(conn)
}

func (sc *scene) expectServed(why, port string) {
	sc.t.Helper()
	resp, err := sc.probe(port)
	if err != nil {
		sc.t.Errorf("%s: client -> %s:%s: %v; want the container's page", why, hostAddr, port, err)
	} else if !regexp.MustCompile(`^HTTP/1\.[01] 200 `).MatchString(resp) || !strings.Contains(resp, sc.token) {
		sc.t.Errorf("%s: client -> %s:%s answered %q; want the container's page", why, hostAddr, port, resp)
	}
}

func (sc *scene) expectRefused(why, port string) {
	sc.t.Helper()
	_, err := sc.probe(port)
	// Refused, not timed out: FILTERS' REJECT answered, not Docker's
	// FORWARD DROP policy.
	if !errors.Is(err, syscall.ECONNREFUSED) {
		sc.t.Errorf("%s: client -> %s:%s: got %v; want connection refused", why, hostAddr, port, err)
	}
}

// apply writes the policy text to a file named name and runs hostwall
// apply -4 on it in the host namespace; a non-zero exit fails the test.
func (sc *scene) apply(name, text string) (stdout, stderr string) {
	sc.t.Helper()
	path := filepath.Join(sc.policies, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		sc.t.Fatal(err)
	}
	stdout, stderr, code := nstest.Hostwall(sc.t, sc.hostNS, "apply", "-4", path)
	if code != 0 {
		sc.t.Fatalf("hostwall apply %s: exit %d\n%s%s", name, code, stdout, stderr)
	}
	return stdout, stderr
}

// execIP runs ip(8) in the test's own namespace (to make the veth pair
// straight into the two test namespaces).
func execIP(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	return string(out), err
}

// waitServing waits (bounded) until the container runs, Docker's DNAT
// rules for both ports are in place, and its httpd answers from inside
// the Docker host's namespace (not through FILTERS).
func waitServing(t *testing.T, d *dockerHost, token string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		// The address from the network's entry: Docker 29's API drops
		// the top-level NetworkSettings.IPAddress.
		state, err := d.docker(nil, "inspect", "-f", "{{.State.Running}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "web")
		running, ip, _ := strings.Cut(state, " ")
		switch {
		case err != nil:
			last = err.Error()
		case running != "true" || ip == "":
			last = "container state " + state
		default:
			missing := ""
			for _, port := range []string{allowed, other} {
				if !d.hasDNAT(port, ip) {
					missing = port
				}
			}
			if missing != "" {
				last = "no DNAT rule for " + missing + " in:\n" + d.natRules()
				break
			}
			conn, err := dial(t, d.ns, ip+":80")
			if err != nil {
				last = err.Error()
				break
			}
			if resp, err := get(conn); err == nil && strings.Contains(resp, token) {
				return
			}
			last = "httpd did not answer with the page"
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("container not serving within 30s: %s\n%s", last, d.logTail())
}

// checkHooks: FILTERS is hooked from INPUT and first in DOCKER-USER, and
// Docker's FORWARD still goes to DOCKER-USER before anything else.
func checkHooks(t *testing.T, save, veth string) {
	t.Helper()
	first := func(chain string) string {
		for _, l := range strings.Split(save, "\n") {
			if strings.HasPrefix(l, "-A "+chain+" ") {
				return l
			}
		}
		return ""
	}
	if !strings.Contains(save, "\n-A INPUT -j FILTERS\n") {
		t.Errorf("no INPUT hook:\n%s", save)
	}
	if got, want := first("DOCKER-USER"), "-A DOCKER-USER -i "+veth+" -j FILTERS"; got != want {
		t.Errorf("first rule of DOCKER-USER is %q, want %q", got, want)
	}
	if got := first("FORWARD"); got != "-A FORWARD -j DOCKER-USER" {
		t.Errorf("first rule of FORWARD is %q, want Docker's -j DOCKER-USER", got)
	}
	if !strings.Contains(save, "-A DOCKER-USER -j RETURN\n") {
		t.Errorf("Docker's own DOCKER-USER rule is gone:\n%s", save)
	}
}

// warnings are hostwall's warning lines on stderr.
func warnings(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "hostwall: warning:") {
			out = append(out, l)
		}
	}
	return out
}

func expectPublishedPortWarning(t *testing.T, cmd, stderr string) {
	t.Helper()
	for _, w := range warnings(stderr) {
		if strings.Contains(w, "--ctorigdstport "+allowed) {
			return
		}
	}
	t.Errorf("hostwall %s: no warning suggesting --ctorigdstport %s for --dport of a published port; stderr:\n%s", cmd, allowed, stderr)
}

// stableSave is iptables-legacy-save -c once the counters have settled
// (the last connection's closing packets counted), bounded in time.
func stableSave(t *testing.T, ns string) string {
	t.Helper()
	return stableSaveWith(t, ns, "iptables-legacy-save")
}

// stableSaveWith is stableSave with another iptables-save.
func stableSaveWith(t *testing.T, ns, tool string) string {
	t.Helper()
	prev := nstest.StripComments(nstest.Run(t, ns, nil, tool, "-c"))
	for range 25 {
		time.Sleep(200 * time.Millisecond)
		cur := nstest.StripComments(nstest.Run(t, ns, nil, tool, "-c"))
		if cur == prev {
			return cur
		}
		prev = cur
	}
	t.Fatal("counters still changing after 5s with no test traffic")
	return ""
}

// dockerLines is every line of a save -c but FILTERS' own rules: Docker's
// chains, rules, policies and counters, and the hooks.
func dockerLines(save string) []string {
	var out []string
	for _, l := range strings.Split(save, "\n") {
		if _, rule, ok := strings.Cut(l, "] "); ok && strings.HasPrefix(l, "[") && strings.HasPrefix(rule, "-A FILTERS ") {
			continue
		}
		out = append(out, l)
	}
	return out
}

var counted = regexp.MustCompile(`(?m)^\[[1-9]\d*:\d+\] -A (\S+) (.*)$`)

// countedDockerRules counts rules outside FILTERS and its hooks that have
// seen packets.
func countedDockerRules(save string) int {
	n := 0
	for _, m := range counted.FindAllStringSubmatch(save, -1) {
		if m[1] != "FILTERS" && !strings.HasSuffix(m[2], "-j FILTERS") {
			n++
		}
	}
	return n
}
