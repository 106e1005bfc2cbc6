package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hostwall/hostwall/integration/nstest"
)

// guardNets makes a host and a client namespace joined by a veth pair
// (10.89.0.1 and .2), and a TCP server on the host's port 2222. It
// returns the host namespace and a function telling whether the client
// can connect.
func guardNets(t *testing.T) (string, func() bool) {
	t.Helper()
	host, client := nstest.Netns(t), nstest.Netns(t)
	nstest.Run(t, host, nil, "ip", "link", "add", "hwg0", "type", "veth", "peer", "name", "hwg1", "netns", client)
	nstest.Run(t, host, nil, "ip", "addr", "add", "10.89.0.1/24", "dev", "hwg0")
	nstest.Run(t, client, nil, "ip", "addr", "add", "10.89.0.2/24", "dev", "hwg1")
	for _, ns := range []string{host, client} {
		nstest.Run(t, ns, nil, "ip", "link", "set", "lo", "up")
	}
	nstest.Run(t, host, nil, "ip", "link", "set", "hwg0", "up")
	nstest.Run(t, client, nil, "ip", "link", "set", "hwg1", "up")
	var ln net.Listener
	nstest.InNetns(t, host, func() {
		var err error
		if ln, err = net.Listen("tcp", "10.89.0.1:2222"); err != nil {
			t.Fatal(err)
		}
	})
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	connects := func() bool {
		ok := false
		nstest.InNetns(t, client, func() {
			c, err := net.DialTimeout("tcp", "10.89.0.1:2222", time.Second)
			if err == nil {
				c.Close()
				ok = true
			}
		})
		return ok
	}
	return host, connects
}

// guardPolicies writes a policy that accepts the client's connection
// to port 2222 and one that refuses it (the seed policy: ssh only).
func guardPolicies(t *testing.T) (allow, refuse string) {
	t.Helper()
	pol, _ := os.ReadFile("testdata/policy/seed-docker.v4")
	dir := t.TempDir()
	allow, refuse = filepath.Join(dir, "allow.v4"), filepath.Join(dir, "refuse.v4")
	os.WriteFile(allow, []byte(strings.Replace(string(pol), "-A FILTERS -j REJECT", "-A FILTERS -p tcp --dport 2222 -j ACCEPT\n-A FILTERS -j REJECT", 1)), 0o644)
	os.WriteFile(refuse, pol, 0o644)
	return allow, refuse
}

// guardPID waits for the pending guard's state file and returns the
// guard's pid; the guard is killed by that PID when the test ends, if
// it still runs.
func guardPID(t *testing.T, runDir string) int {
	t.Helper()
	var pid int
	waitFor(t, 10*time.Second, "the guard's state file", func() bool {
		b, err := os.ReadFile(filepath.Join(runDir, "guard.json"))
		if err != nil {
			return false
		}
		var st struct {
			GuardPID int `json:"guard_pid"`
		}
		return json.Unmarshal(b, &st) == nil && st.GuardPID > 0 && func() bool { pid = st.GuardPID; return true }()
	})
	t.Cleanup(func() {
		if cmd, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.Contains(string(cmd), "hostwall") {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return pid
}

// startApply starts hostwall apply ARGS in ns without a terminal and
// returns its output and a channel that gets its exit code.
func startApply(t *testing.T, ns string, args ...string) (*syncWriter, <-chan int) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, nstest.Bin, "apply"}, args...)...)
	cmd.Env = append(os.Environ(), "XTABLES_LOCKFILE="+filepath.Join(os.TempDir(), "hwtest-"+ns+".lock"))
	out := &syncWriter{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	code := make(chan int, 1)
	go func() { cmd.Wait(); code <- cmd.ProcessState.ExitCode() }()
	return out, code
}

// exitWithin waits for an exit code from code.
func exitWithin(t *testing.T, code <-chan int, d time.Duration, what string, out *syncWriter) int {
	t.Helper()
	select {
	case c := <-code:
		return c
	case <-time.After(d):
		t.Fatalf("%s: still running after %v:\n%s", what, d, out.String())
		return 0
	}
}

// TestConfirmGuardRollsBack: apply --confirm 3s of a policy refusing the
// client, started on a terminal (script's pty) whose other end then
// dies, as when the SSH connection the new rules cut is torn down: the
// apply, now the guard, gets the hangup, ignores it, puts the previous
// rules back after 3 s, and the client connects again.
func TestConfirmGuardRollsBack(t *testing.T) {
	for _, backend := range []string{"nft", "legacy"} {
		t.Run(backend, func(t *testing.T) {
			nstest.Require(t)
			nstest.RequireTools(t, "script")
			if backend == "nft" {
				requireNft(t)
			}
			runDir := t.TempDir()
			t.Setenv("HOSTWALL_RUN_DIR", runDir)
			ns, connects := guardNets(t)
			allow, refuse := guardPolicies(t)
			nstest.MustHostwall(t, ns, "apply", "--backend", backend, "-4", allow)
			if !connects() {
				t.Fatal("the client cannot connect under the allowing policy")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// script gives the apply a terminal; it prompts for yes. ip by
			// its path: a busybox sh (the VM's) prefers its own applet.
			ip, err := exec.LookPath("ip")
			if err != nil {
				t.Fatal(err)
			}
			term := exec.CommandContext(ctx, "script", "-qfec", ip+" netns exec "+ns+" "+nstest.Bin+" apply --backend "+backend+" --confirm 3s -4 "+refuse, "/dev/null")
			term.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			term.Env = append(os.Environ(), "XTABLES_LOCKFILE="+filepath.Join(os.TempDir(), "hwtest-"+ns+".lock"))
			var out syncWriter
			term.Stdout, term.Stderr = &out, &out
			if err := term.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("the terminal showed:\n%s", out.String())
				}
			})
			started := time.Now()
			pid := guardPID(t, runDir)
			waitFor(t, 10*time.Second, "the prompt", func() bool { return strings.Contains(out.String(), "Type yes") })
			if connects() {
				t.Fatalf("the refusing policy is not in place:\n%s", out.String())
			}
			// The terminal's other end dies: the kernel hangs the
			// terminal up, sending SIGHUP to the apply's session.
			term.Process.Kill()
			term.Wait()
			if syscall.Kill(pid, 0) != nil {
				t.Fatalf("the apply (pid %d) did not survive the hangup:\n%s", pid, out.String())
			}
			if connects() {
				t.Fatal("rolled back before the deadline")
			}
			took := waitFor(t, 6*time.Second, "the client connects again", connects)
			t.Logf("%s: rolled back %v after apply started (window 3s); %v after the terminal died", backend, time.Since(started).Round(time.Millisecond), took.Round(time.Millisecond))
			if time.Since(started) < 3*time.Second {
				t.Errorf("rolled back after %v, before the 3 s window", time.Since(started))
			}
			waitFor(t, 5*time.Second, "the guard's end and its state files removed", func() bool {
				_, e1 := os.Stat(filepath.Join(runDir, "guard.json"))
				_, e2 := os.Stat(filepath.Join(runDir, "guard.rollback.json"))
				return os.IsNotExist(e1) && os.IsNotExist(e2) && syscall.Kill(pid, 0) == syscall.ESRCH
			})
			log, _ := os.ReadFile(filepath.Join(runDir, "guard.log"))
			if !strings.Contains(string(log), "not confirmed in time: the previous owned chains and hooks are back") {
				t.Errorf("guard log:\n%s", log)
			}
		})
	}
}

// pending is an apply --confirm of the refusing policy (over the
// allowing one), on nft, waiting for its confirmation without a terminal.
type pending struct {
	ns, runDir string
	connects   func() bool
	out        *syncWriter
	code       <-chan int
	pid        int
}

func pendingGuard(t *testing.T, window string) pending {
	t.Helper()
	nstest.Require(t)
	requireNft(t)
	p := pending{runDir: t.TempDir()}
	t.Setenv("HOSTWALL_RUN_DIR", p.runDir)
	p.ns, p.connects = guardNets(t)
	allow, refuse := guardPolicies(t)
	nstest.MustHostwall(t, p.ns, "apply", "--backend", "nft", "-4", allow)
	p.out, p.code = startApply(t, p.ns, "--backend", "nft", "--confirm", window, "-4", refuse)
	p.pid = guardPID(t, p.runDir)
	waitFor(t, 5*time.Second, "the apply's notice", func() bool { return strings.Contains(p.out.String(), "hostwall confirm") })
	if p.connects() {
		t.Fatal("the refusing policy is not in place")
	}
	return p
}

// TestConfirmGuardKeeps: with hostwall confirm inside the window, the
// waiting apply exits 0 and the refusing policy stays past the window.
func TestConfirmGuardKeeps(t *testing.T) {
	p := pendingGuard(t, "3s")
	ns, connects, out, code, runDir := p.ns, p.connects, p.out, p.code, p.runDir
	if got := nstest.MustHostwall(t, ns, "confirm"); !strings.Contains(got, "confirmed") {
		t.Errorf("confirm: %s", got)
	}
	if c := exitWithin(t, code, 2*time.Second, "the confirmed apply", out); c != 0 || !strings.Contains(out.String(), "confirmed; the new rules stay") {
		t.Errorf("confirmed apply: exit %d\n%s", c, out.String())
	}
	if _, errOut, code := nstest.Hostwall(t, ns, "confirm"); code != 1 || !strings.Contains(errOut, "nothing to confirm") {
		t.Errorf("second confirm: exit %d: %s", code, errOut)
	}
	time.Sleep(4 * time.Second)
	if connects() {
		t.Error("the confirmed policy was rolled back")
	}
	log, _ := os.ReadFile(filepath.Join(runDir, "guard.log"))
	if !strings.Contains(string(log), "confirmed; the new rules stay") {
		t.Errorf("guard log:\n%s", log)
	}
}

// TestConfirmGuardSignal: SIGTERM to a waiting apply --confirm (a logind
// ending the session's processes) puts the previous rules back at once,
// long before the window ends, and exits 143; a late confirm is told
// there is nothing to confirm.
func TestConfirmGuardSignal(t *testing.T) {
	p := pendingGuard(t, "60s")
	ns, connects, out, code, pid := p.ns, p.connects, p.out, p.code, p.pid
	sent := time.Now()
	syscall.Kill(pid, syscall.SIGTERM)
	if c := exitWithin(t, code, 10*time.Second, "the apply after SIGTERM", out); c != 143 || !strings.Contains(out.String(), "previous owned chains and hooks are back") {
		t.Errorf("apply after SIGTERM: exit %d (want 143)\n%s", c, out.String())
	}
	t.Logf("rolled back and exited %v after SIGTERM (window 60s)", time.Since(sent).Round(time.Millisecond))
	if !connects() {
		t.Error("the client cannot connect after the rollback")
	}
	if _, errOut, code := nstest.Hostwall(t, ns, "confirm"); code != 1 || !strings.Contains(errOut, "nothing to confirm") {
		t.Errorf("confirm after the rollback: exit %d: %s", code, errOut)
	}
}

// syncWriter is a bytes.Buffer safe to write from a command's copier
// while the test reads it.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
