package integration

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hostwall/hostwall/engine/watch"
	"github.com/hostwall/hostwall/integration/nstest"
)

// watcher is a hostwall watch running in a test's namespace.
type watcher struct {
	cmd    *exec.Cmd
	runDir string
	mu     sync.Mutex
	log    bytes.Buffer
	done   chan struct{}
}

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log.Write(p)
}

// Log is what the watcher logged so far.
func (w *watcher) Log() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.log.String()
}

// Status is the watcher's status file.
func (w *watcher) Status(t *testing.T) *watch.Status {
	t.Helper()
	s, err := watch.ReadStatus(filepath.Join(w.runDir, "watch.json"))
	if err != nil {
		t.Fatalf("watch status: %v\n%s", err, w.Log())
	}
	return s
}

// startWatch starts hostwall watch in ns and waits for its first
// reconcile. It is stopped (SIGTERM, by PID; SIGKILL after 5 s) when the
// test ends, and never outlives 3 minutes.
func startWatch(t *testing.T, ns string, args ...string) *watcher {
	t.Helper()
	w := &watcher{runDir: t.TempDir(), done: make(chan struct{})}
	w.cmd = exec.Command("timeout", append([]string{"-s", "KILL", "180", "ip", "netns", "exec", ns, nstest.Bin, "watch"}, args...)...)
	w.cmd.Stdout, w.cmd.Stderr = w, w
	w.cmd.Env = append(os.Environ(), "HOSTWALL_RUN_DIR="+w.runDir, "XTABLES_LOCKFILE="+filepath.Join(os.TempDir(), "hwtest-"+ns+".lock"))
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		w.Stop(t)
		if t.Failed() {
			t.Logf("the watcher's log:\n%s", w.Log())
		}
	})
	waitFor(t, 10*time.Second, "the watcher's first reconcile", func() bool {
		s, err := watch.ReadStatus(filepath.Join(w.runDir, "watch.json"))
		select {
		case <-w.done:
			t.Fatalf("watch exited:\n%s", w.Log())
		default:
		}
		return err == nil && s.Reconciles > 0
	})
	return w
}

// PID is the hostwall process's (ip netns exec execs it, under timeout).
func (w *watcher) PID(t *testing.T) int {
	t.Helper()
	pid, err := nstest.ChildPID(w.cmd.Process.Pid)
	if err != nil {
		t.Fatalf("no hostwall under timeout %d: %v", w.cmd.Process.Pid, err)
	}
	return pid
}

// Signal sends sig to the hostwall process.
func (w *watcher) Signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(w.PID(t), sig); err != nil {
		t.Fatal(err)
	}
}

// Stop ends the watcher with SIGTERM and waits for it.
func (w *watcher) Stop(t *testing.T) {
	select {
	case <-w.done:
		return
	default:
	}
	if pid, err := nstest.ChildPID(w.cmd.Process.Pid); err == nil {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		w.cmd.Process.Kill()
		<-w.done
		t.Errorf("watch did not stop on SIGTERM:\n%s", w.Log())
	}
}

// waitFor polls cond every 20 ms until it holds; it fails the test
// after limit. It returns how long it took.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func hasLine(t *testing.T, ns string, cmd []string, line string) bool {
	t.Helper()
	out, err := nstest.Try(ns, nil, cmd[0], cmd[1:]...)
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(cmd, " "), err)
	}
	for _, l := range strings.Split(out, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// TestWatchRepairsLegacyFlush: iptables-legacy -F INPUT unhooks FILTERS;
// the watcher (x_tables, 1 s probe) puts the hook back within 2 s.
func TestWatchRepairsLegacyFlush(t *testing.T) {
	nstest.Require(t)
	ns := nstest.Netns(t)
	base, _ := os.ReadFile("testdata/base/docker.v4.rules")
	nstest.Run(t, ns, base, "iptables-legacy-restore", "-c")
	w := startWatch(t, ns, "--backend", "legacy", "--interval", "1s", "-4", "testdata/policy/seed-docker.v4")
	list := []string{"iptables-legacy", "-S", "INPUT"}
	if !hasLine(t, ns, list, "-A INPUT -j FILTERS") {
		t.Fatalf("not hooked after start:\n%s", w.Log())
	}
	for i := 0; i < 3; i++ {
		nstest.Run(t, ns, nil, "iptables-legacy", "-w", "-F", "INPUT")
		took := waitFor(t, 2*time.Second, "hook restored after iptables-legacy -F INPUT", func() bool { return hasLine(t, ns, list, "-A INPUT -j FILTERS") })
		t.Logf("x_tables: hook restored %v after -F INPUT (probe every 1s)", took.Round(time.Millisecond))
		time.Sleep(300 * time.Millisecond)
	}
	if s := w.Status(t); s.Repairs < 3 {
		t.Errorf("status: %d drift repairs, want 3", s.Repairs)
	}
	if !strings.Contains(w.Log(), "IPv4 filter") || !strings.Contains(w.Log(), "repair=true") {
		t.Errorf("log does not say why:\n%s", w.Log())
	}
}

// TestWatchRepairsNftDelete: iptables-nft -D INPUT 1 deletes the hook;
// the watcher (nf_tables events) puts it back within 2 s, and writes
// nothing when another program changes a chain it does not watch.
func TestWatchRepairsNftDelete(t *testing.T) {
	requireNft(t)
	ns := nstest.Netns(t)
	base, _ := os.ReadFile("testdata/base/docker.v4.rules")
	nstest.Run(t, ns, base, "iptables-nft-restore", "-c")
	w := startWatch(t, ns, "--backend", "nft", "-4", "testdata/policy/seed-docker.v4")
	list := []string{"iptables-nft", "-S", "INPUT"}
	for i := 0; i < 3; i++ {
		nstest.Run(t, ns, nil, "iptables-nft", "-w", "-D", "INPUT", "1")
		took := waitFor(t, 2*time.Second, "hook restored after iptables-nft -D INPUT 1", func() bool { return hasLine(t, ns, list, "-A INPUT -j FILTERS") })
		t.Logf("nf_tables: hook restored %v after -D INPUT 1", took.Round(time.Millisecond))
		time.Sleep(200 * time.Millisecond)
	}
	before := w.Status(t)
	// Outside the scope: no reconcile at all.
	nstest.Run(t, ns, nil, "iptables-nft", "-w", "-A", "OUTPUT", "-j", "ACCEPT")
	nstest.Run(t, ns, nil, "iptables-nft", "-w", "-N", "SOMEONE-ELSE")
	time.Sleep(500 * time.Millisecond)
	if after := w.Status(t); after.Reconciles != before.Reconciles {
		t.Errorf("changes outside the owned chains and hooks made %d reconciles", after.Reconciles-before.Reconciles)
	}
}

// TestWatchReloadsFile: a rules file replaced by rename (as editors and
// ConfigMaps do) is applied within 2 s; SIGHUP re-applies (seen here on
// x_tables with a probe too slow to notice the drift first).
func TestWatchReloadsFile(t *testing.T) {
	nstest.Require(t)
	for _, backend := range []string{"legacy", "nft"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "nft" {
				requireNft(t)
			}
			ns := nstest.Netns(t)
			base, _ := os.ReadFile("testdata/base/docker.v4.rules")
			nstest.Run(t, ns, base, "iptables-"+backend+"-restore", "-c")
			dir := t.TempDir()
			path := filepath.Join(dir, "rules.v4")
			pol, _ := os.ReadFile("testdata/policy/seed-docker.v4")
			os.WriteFile(path, pol, 0o644)
			w := startWatch(t, ns, "--backend", backend, "--interval", "1h", "-4", path)
			list := []string{"iptables-" + backend, "-S", "FILTERS"}
			const rule = "-A FILTERS -p tcp -m tcp --dport 443 -j ACCEPT"
			edited := strings.Replace(string(pol), "-A FILTERS -j REJECT", "-A FILTERS -p tcp -m tcp --dport 443 -j ACCEPT\n-A FILTERS -j REJECT", 1)
			tmp := filepath.Join(dir, ".rules.v4.swp")
			os.WriteFile(tmp, []byte(edited), 0o644)
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
			took := waitFor(t, 2*time.Second, "edit by rename applied", func() bool { return hasLine(t, ns, list, rule) })
			t.Logf("%s: edit by rename applied in %v", backend, took.Round(time.Millisecond))
			// The log line follows the write: give it a moment.
			for i := 0; i < 50 && !strings.Contains(w.Log(), "files: "+path); i++ {
				time.Sleep(20 * time.Millisecond)
			}
			if !strings.Contains(w.Log(), "files: "+path) {
				t.Errorf("log does not name the file:\n%s", w.Log())
			}
			if backend != "legacy" {
				return
			}
			// The 1 h probe will not see this; SIGHUP re-applies.
			nstest.Run(t, ns, nil, "iptables-legacy", "-w", "-D", "INPUT", "-j", "FILTERS")
			w.Signal(t, syscall.SIGHUP)
			took = waitFor(t, 2*time.Second, "SIGHUP re-applied", func() bool { return hasLine(t, ns, []string{"iptables-legacy", "-S", "INPUT"}, "-A INPUT -j FILTERS") })
			t.Logf("SIGHUP: hook back in %v", took.Round(time.Millisecond))
			if s := w.Status(t); !strings.Contains(s.LastReason, "SIGHUP") && !strings.Contains(w.Log(), "signal: SIGHUP") {
				t.Errorf("SIGHUP not the reason: %+v\n%s", s, w.Log())
			}
		})
	}
}

// TestWatchConflict: a tool deleting the hook every 100 ms for 10 s gets
// a bounded number of repairs (at most 20), a conflict in the log, and
// the hook back once it stops.
func TestWatchConflict(t *testing.T) {
	requireNft(t)
	ns := nstest.Netns(t)
	base, _ := os.ReadFile("testdata/base/docker.v4.rules")
	nstest.Run(t, ns, base, "iptables-nft-restore", "-c")
	w := startWatch(t, ns, "--backend", "nft", "-4", "testdata/policy/seed-docker.v4")
	start := w.Status(t)
	end := time.Now().Add(10 * time.Second)
	for time.Now().Before(end) {
		// Fails when the hook is already gone: that is fine.
		nstest.Try(ns, nil, "iptables-nft", "-w", "-D", "INPUT", "-j", "FILTERS")
		time.Sleep(100 * time.Millisecond)
	}
	during := w.Status(t)
	repairs := during.Repairs - start.Repairs
	t.Logf("conflict: %d repairs in 10 s of deletions every 100 ms", repairs)
	if repairs > 20 {
		t.Errorf("%d repairs in 10 s, want at most 20", repairs)
	}
	if repairs == 0 {
		t.Errorf("no repair at all")
	}
	if !strings.Contains(w.Log(), "conflict") || !strings.Contains(w.Log(), "INPUT: delete rule by iptables-nft") {
		t.Errorf("conflict not logged with what changed:\n%s", w.Log())
	}
	took := waitFor(t, 10*time.Second, "hook back after the tool stopped", func() bool {
		return hasLine(t, ns, []string{"iptables-nft", "-S", "INPUT"}, "-A INPUT -j FILTERS")
	})
	t.Logf("recovered %v after the tool stopped", took.Round(time.Millisecond))
}

// externalPolicy is the seed policy with its DOCKER-USER hook marked
// external-interfaces.
func externalPolicy(t *testing.T) string {
	t.Helper()
	pol, _ := os.ReadFile("testdata/policy/seed-docker.v4")
	marked := strings.Replace(string(pol), "-A DOCKER-USER -i eth0 -j FILTERS", "# hostwall: external-interfaces\n-A DOCKER-USER -i eth0 -j FILTERS", 1)
	path := filepath.Join(t.TempDir(), "external.v4")
	os.WriteFile(path, []byte(marked), 0o644)
	return path
}

// TestWatchExternalInterfaces: with the DOCKER-USER hook marked
// external-interfaces, a new interface with a default route gets its
// hook within 2 s, and loses it when it goes; apply --dry-run shows the
// expansion; iptables-restore loads the marked file as it is.
func TestWatchExternalInterfaces(t *testing.T) {
	requireNft(t)
	ns := nstest.Netns(t)
	base, _ := os.ReadFile("testdata/base/docker.v4.rules")
	nstest.Run(t, ns, base, "iptables-nft-restore", "-c")
	path := externalPolicy(t)
	data, _ := os.ReadFile(path)
	nstest.Run(t, nstest.Netns(t), data, "iptables-nft-restore", "--test")

	w := startWatch(t, ns, "--backend", "nft", "-4", path)
	list := []string{"iptables-nft", "-S", "DOCKER-USER"}
	const hook = "-A DOCKER-USER -i ext0 -j FILTERS"
	if hasLine(t, ns, list, hook) || hasLine(t, ns, list, "-A DOCKER-USER -i eth0 -j FILTERS") {
		t.Fatalf("hooked before any external interface:\n%s", nstest.Run(t, ns, nil, list[0], list[1:]...))
	}
	nstest.Run(t, ns, nil, "ip", "link", "add", "ext0", "type", "veth", "peer", "name", "veth-ext0")
	nstest.Run(t, ns, nil, "ip", "addr", "add", "10.77.0.1/24", "dev", "ext0")
	nstest.Run(t, ns, nil, "ip", "link", "set", "ext0", "up")
	nstest.Run(t, ns, nil, "ip", "link", "set", "veth-ext0", "up")
	added := time.Now()
	nstest.Run(t, ns, nil, "ip", "route", "add", "default", "via", "10.77.0.2", "dev", "ext0")
	took := waitFor(t, 2*time.Second, "DOCKER-USER hook for ext0", func() bool { return hasLine(t, ns, list, hook) })
	t.Logf("hook for a new default-route interface in %v (%v after the route)", took.Round(time.Millisecond), time.Since(added).Round(time.Millisecond))
	if hasLine(t, ns, list, "-A DOCKER-USER -i veth-ext0 -j FILTERS") {
		t.Errorf("veth* must never be external")
	}
	out := nstest.MustHostwall(t, ns, "apply", "--backend", "nft", "--dry-run", "-4", path)
	if !strings.Contains(out, "no change") {
		t.Errorf("dry-run after the watcher applied: %s", out)
	}
	nstest.Run(t, ns, nil, "ip", "link", "del", "ext0")
	took = waitFor(t, 2*time.Second, "hook for ext0 removed", func() bool { return !hasLine(t, ns, list, hook) })
	t.Logf("hook removed %v after the interface went", took.Round(time.Millisecond))
	w.Stop(t)

	// --dry-run shows the expansion.
	nstest.Run(t, ns, nil, "ip", "link", "add", "wan0", "type", "veth", "peer", "name", "veth-wan0")
	nstest.Run(t, ns, nil, "ip", "link", "set", "wan0", "up")
	nstest.Run(t, ns, nil, "ip", "route", "add", "default", "dev", "wan0")
	out = nstest.MustHostwall(t, ns, "apply", "--backend", "nft", "--dry-run", "-v", "-4", path)
	if !strings.Contains(out, "+ -A DOCKER-USER -i wan0 -j FILTERS") {
		t.Errorf("dry-run does not show the expansion:\n%s", out)
	}
}

// packetsIn finds the packet count of a rule in status output or
// metrics: the first number on the line that holds text.
func packetsIn(t *testing.T, out, text string) int {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if !strings.Contains(l, text) {
			continue
		}
		f := strings.Fields(l)
		var n float64
		if _, err := fmt.Sscan(f[len(f)-1], &n); err == nil && strings.HasPrefix(l, "hostwall_") {
			return int(n)
		}
		if _, err := fmt.Sscan(f[0], &n); err == nil {
			return int(n)
		}
	}
	t.Fatalf("no line with %q in:\n%s", text, out)
	return 0
}

// TestStatusAndMetrics: hostwall status and the watcher's metrics
// endpoint show each owned rule's counters, and they move when traffic
// hits the rule.
func TestStatusAndMetrics(t *testing.T) {
	nstest.Require(t)
	for _, backend := range []string{"legacy", "nft"} {
		t.Run(backend, func(t *testing.T) {
			if backend == "nft" {
				requireNft(t)
			}
			ns := nstest.Netns(t)
			base, _ := os.ReadFile("testdata/base/docker.v4.rules")
			nstest.Run(t, ns, base, "iptables-"+backend+"-restore", "-c")
			nstest.Run(t, ns, nil, "ip", "link", "set", "lo", "up")
			w := startWatch(t, ns, "--backend", backend, "--metrics-addr", "127.0.0.1:0", "-4", "testdata/policy/seed-docker.v4")
			var addr string
			waitFor(t, 5*time.Second, "metrics address in the log", func() bool {
				_, rest, ok := strings.Cut(w.Log(), "addr=http://")
				if f := strings.Fields(rest); ok && len(f) > 0 {
					addr = f[0]
				}
				return ok
			})
			scrape := func() string {
				var body string
				var err error
				// net/http dials from another goroutine, which may run
				// outside the namespace: speak HTTP/1.0 on a socket made
				// in it instead.
				nstest.InNetns(t, ns, func() {
					host, path, _ := strings.Cut(addr, "/")
					var c net.Conn
					if c, err = net.DialTimeout("tcp", host, 5*time.Second); err != nil {
						return
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(10 * time.Second))
					fmt.Fprintf(c, "GET /%s HTTP/1.0\r\nHost: %s\r\n\r\n", path, host)
					var b []byte
					b, err = io.ReadAll(c)
					body = string(b)
				})
				if err != nil || !strings.Contains(body, " 200 OK") {
					t.Fatalf("scrape %s: %v\n%s", addr, err, body)
				}
				return body
			}
			t.Setenv("HOSTWALL_RUN_DIR", w.runDir) // for hostwall status
			status := func() string {
				out, errOut, code := nstest.Hostwall(t, ns, "status", "--backend", backend, "-4", "testdata/policy/seed-docker.v4")
				if code != 0 {
					t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
				}
				return out
			}
			const lo = "-A FILTERS -i lo -j ACCEPT"
			s0, m0 := status(), scrape()
			if !strings.Contains(s0, "watcher: running") || !strings.Contains(s0, "backend "+backend) {
				t.Errorf("status:\n%s", s0)
			}
			p0 := packetsIn(t, s0, lo)
			mp0 := packetsIn(t, m0, `hostwall_rule_packets_total{chain="FILTERS",family="IPv4",hook="false",rule="1",table="filter",text="`+lo)
			nstest.LoopbackTraffic(t, ns, 5)
			s1, m1 := status(), scrape()
			p1 := packetsIn(t, s1, lo)
			mp1 := packetsIn(t, m1, `hostwall_rule_packets_total{chain="FILTERS",family="IPv4",hook="false",rule="1",table="filter",text="`+lo)
			if p1 <= p0 || mp1 <= mp0 {
				t.Errorf("counters did not move: status %d → %d, metrics %d → %d\n%s\n%s", p0, p1, mp0, mp1, s1, m1)
			}
			t.Logf("%s: status %d → %d packets, metrics %d → %d", backend, p0, p1, mp0, mp1)
			for _, name := range []string{"hostwall_reconciles_total", "hostwall_drift_repairs_total", "hostwall_last_reconcile_timestamp_seconds", `hostwall_backend_info{backend="` + backend + `"} 1`} {
				if !strings.Contains(m1, name) {
					t.Errorf("metrics lack %s:\n%s", name, m1)
				}
			}
		})
	}
}
