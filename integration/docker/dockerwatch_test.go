package docker

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hostwall/hostwall/engine/watch"
	"github.com/hostwall/hostwall/integration/nstest"
)

// TestWatchAcrossDockerRestart: hostwall watch on Docker 20.10 running on
// iptables-nft. A dockerd restart rewrites Docker's chains, and the
// watcher sees the events of the ones it watches (DOCKER-USER), but
// nothing of hostwall's changed: it writes nothing, and the policy
// holds.
func TestWatchAcrossDockerRestart(t *testing.T) {
	requireDockerNft(t)
	sc, d := startServing(t, dockerOpts{iptables: nft})
	path := filepath.Join(sc.policies, "allow.v4")
	if err := os.WriteFile(path, []byte(policyFile(sc.veth, allowPublished(allowed))), 0o644); err != nil {
		t.Fatal(err)
	}
	runDir := t.TempDir()
	var log strings.Builder
	cmd := exec.Command("timeout", "-s", "KILL", "180", "ip", "netns", "exec", sc.hostNS, nstest.Bin, "watch", "--backend", "nft", "-4", path)
	cmd.Env = append(os.Environ(), "HOSTWALL_RUN_DIR="+runDir, "XTABLES_LOCKFILE="+d.lock)
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() {
		// SIGTERM to hostwall (the child of timeout), by PID.
		if pid, err := nstest.ChildPID(cmd.Process.Pid); err == nil {
			syscall.Kill(pid, syscall.SIGTERM)
		}
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}()
	status := func() *watch.Status {
		s, err := watch.ReadStatus(filepath.Join(runDir, "watch.json"))
		if err != nil {
			return &watch.Status{}
		}
		return s
	}
	deadline := time.Now().Add(15 * time.Second)
	for status().Reconciles == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("watch did not reconcile:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	sc.expectServed("watch applied the policy", allowed)
	sc.expectRefused("watch applied the policy", other)
	before := status()

	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	// Every process of the namespace but the watcher must go.
	hw, _ := nstest.ChildPID(cmd.Process.Pid)
	var left []int
	for end := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		left = slices.DeleteFunc(d.leftovers(), func(p int) bool { return p == hw })
		if len(left) == 0 || time.Now().After(end) {
			break
		}
	}
	if len(left) > 0 {
		t.Fatalf("dockerd stopped but its processes are still there:%s", describe(left))
	}
	d.start()
	waitServing(t, d, sc.token)
	time.Sleep(time.Second) // let the watcher see every event
	after := status()
	t.Logf("across the dockerd restart: %d reconciles, %d writes (before: %d, %d)", after.Reconciles, after.Writes, before.Reconciles, before.Writes)
	if after.Writes != before.Writes || after.Repairs != before.Repairs {
		t.Errorf("hostwall wrote across a dockerd restart that left its chains alone: writes %d → %d, repairs %d → %d\n%s",
			before.Writes, after.Writes, before.Repairs, after.Repairs, log.String())
	}
	sc.expectServed("after dockerd restart under watch", allowed)
	sc.expectRefused("after dockerd restart under watch", other)
}
