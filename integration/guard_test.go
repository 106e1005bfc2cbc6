package integration

import (
	"bytes"
	"context"
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

// killGuardAfter makes sure no guard outlives the test: the guard pid is
// read from the state files it leaves, and killed by PID.
func killGuardAfter(t *testing.T, runDir string) {
	t.Cleanup(func() {
		for _, f := range []string{"guard.json", "guard.rollback.json"} {
			if s, err := os.ReadFile(filepath.Join(runDir, f)); err == nil {
				if _, rest, ok := strings.Cut(string(s), `"guard_pid": `); ok {
					var pid int
					if _, err := fmtSscan(rest, &pid); err == nil && pid > 0 {
						syscall.Kill(pid, syscall.SIGKILL)
					}
				}
			}
		}
	})
}

// TestConfirmGuardRollsBack: apply --confirm 3s of a policy refusing the
// client, started on a terminal (script's pty) that is then killed with
// its whole session: the guard, in a session of its own, puts the
// previous rules back after 3 s, and the client connects again.
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
			killGuardAfter(t, runDir)
			ns, connects := guardNets(t)
			allow, refuse := guardPolicies(t)
			nstest.MustHostwall(t, ns, "apply", "--backend", backend, "-4", allow)
			if !connects() {
				t.Fatal("the client cannot connect under the allowing policy")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// script gives the apply a terminal; it prompts for yes.
			term := exec.CommandContext(ctx, "script", "-qfec", "ip netns exec "+ns+" "+nstest.Bin+" apply --backend "+backend+" --confirm 3s -4 "+refuse, "/dev/null")
			term.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			term.Env = append(os.Environ(), "XTABLES_LOCKFILE="+filepath.Join(os.TempDir(), "hwtest-"+ns+".lock"))
			var out syncWriter
			term.Stdout, term.Stderr = &out, &out
			if err := term.Start(); err != nil {
				t.Fatal(err)
			}
			started := time.Now()
			waitFor(t, 10*time.Second, "the prompt", func() bool { return strings.Contains(out.String(), "Type yes") })
			if connects() {
				t.Fatalf("the refusing policy is not in place:\n%s", out.String())
			}
			// The admin's session dies: hang up and kill the terminal's
			// whole process group (script and the apply under it).
			syscall.Kill(-term.Process.Pid, syscall.SIGHUP)
			time.Sleep(100 * time.Millisecond)
			syscall.Kill(-term.Process.Pid, syscall.SIGKILL)
			term.Wait()
			if connects() {
				t.Fatal("rolled back before the deadline")
			}
			took := waitFor(t, 6*time.Second, "the client connects again", connects)
			t.Logf("%s: rolled back %v after apply started (window 3s); %v after the terminal died", backend, time.Since(started).Round(time.Millisecond), took.Round(time.Millisecond))
			if time.Since(started) < 3*time.Second {
				t.Errorf("rolled back after %v, before the 3 s window", time.Since(started))
			}
			waitFor(t, 5*time.Second, "the guard's state files removed", func() bool {
				_, e1 := os.Stat(filepath.Join(runDir, "guard.json"))
				_, e2 := os.Stat(filepath.Join(runDir, "guard.rollback.json"))
				return os.IsNotExist(e1) && os.IsNotExist(e2)
			})
			log, _ := os.ReadFile(filepath.Join(runDir, "guard.log"))
			if !strings.Contains(string(log), "previous owned chains and hooks are back") {
				t.Errorf("guard log:\n%s", log)
			}
		})
	}
}

// TestConfirmGuardKeeps: with hostwall confirm inside the window, the
// refusing policy stays past it.
func TestConfirmGuardKeeps(t *testing.T) {
	nstest.Require(t)
	requireNft(t)
	runDir := t.TempDir()
	t.Setenv("HOSTWALL_RUN_DIR", runDir)
	killGuardAfter(t, runDir)
	ns, connects := guardNets(t)
	allow, refuse := guardPolicies(t)
	nstest.MustHostwall(t, ns, "apply", "--backend", "nft", "-4", allow)
	_, errOut, code := nstest.Hostwall(t, ns, "apply", "--backend", "nft", "--confirm", "3s", "-4", refuse)
	if code != 0 || !strings.Contains(errOut, "hostwall confirm") {
		t.Fatalf("apply --confirm: exit %d\n%s", code, errOut)
	}
	if out := nstest.MustHostwall(t, ns, "confirm"); !strings.Contains(out, "confirmed") {
		t.Errorf("confirm: %s", out)
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

func fmtSscan(s string, v *int) (int, error) { return fmt.Sscan(s, v) }

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
