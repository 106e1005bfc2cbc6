package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hostwall/hostwall/integration/nstest"
)

// emptyLegacy is what Docker leaves in x_tables when it stops using it:
// the tables with their built-in chains only.
const emptyLegacy = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n" +
	"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"

// ownedIn reports whether a save of one backend holds hostwall's chain
// or a hook to it.
func ownedIn(t *testing.T, ns, save string) bool {
	t.Helper()
	out, err := nstest.Try(ns, nil, save)
	if err != nil {
		t.Fatalf("%s: %v", save, err)
	}
	return strings.Contains(out, "FILTERS")
}

// movedTo reports whether the hooks and FILTERS are in one backend and
// nothing of hostwall's is left in the other.
func movedTo(t *testing.T, ns, to, from string) bool {
	return hasLine(t, ns, []string{"iptables-" + to, "-S", "INPUT"}, "-A INPUT -j FILTERS") &&
		hasLine(t, ns, []string{"iptables-" + to, "-S", "DOCKER-USER"}, "-A DOCKER-USER -i eth0 -j FILTERS") &&
		hasLine(t, ns, []string{"iptables-" + to, "-S", "FILTERS"}, "-A FILTERS -j REJECT --reject-with icmp-port-unreachable") &&
		!ownedIn(t, ns, "iptables-"+from+"-save")
}

// TestWatchMovesBackend: Docker restarts onto the other iptables (its
// rules leave one backend and arrive in the other); a watcher on
// --backend auto moves FILTERS and its hooks after them within a few
// seconds, and leaves nothing of hostwall's behind.
func TestWatchMovesBackend(t *testing.T) {
	base, _ := os.ReadFile("testdata/base/docker.v4.rules")
	t.Run("legacy-to-nft", func(t *testing.T) {
		requireNft(t)
		ns := nstest.Netns(t)
		nstest.Run(t, ns, base, "iptables-legacy-restore", "-c")
		w := startWatch(t, ns, "--interval", "500ms", "-4", "testdata/policy/seed-docker.v4")
		if s := w.Status(t); s.Backend != "legacy" {
			t.Fatalf("started on %s, want legacy:\n%s", s.Backend, w.Log())
		}
		// Docker stops: its legacy rules go. Then it starts on nft.
		nstest.Run(t, ns, []byte(emptyLegacy), "iptables-legacy-restore")
		time.Sleep(time.Second)
		start := time.Now()
		nstest.Run(t, ns, base, "iptables-nft-restore", "-c")
		waitFor(t, 10*time.Second, "FILTERS and hooks moved to nf_tables", func() bool { return movedTo(t, ns, "nft", "legacy") })
		t.Logf("legacy -> nft: moved %v after iptables-nft-restore", time.Since(start).Round(time.Millisecond))
		// The status file is written after the move's last write.
		waitFor(t, 3*time.Second, "status and log saying nft", func() bool {
			return w.Status(t).Backend == "nft" && strings.Contains(w.Log(), "backend moved")
		})
		// Docker's rules are where Docker put them.
		if !hasLine(t, ns, []string{"iptables-nft", "-S", "FORWARD"}, "-A FORWARD -j DOCKER-USER") {
			t.Errorf("Docker's nft rules changed:\n%s", nstest.Run(t, ns, nil, "iptables-nft-save"))
		}
		// And it keeps repairing there.
		nstest.Run(t, ns, nil, "iptables-nft", "-w", "-D", "INPUT", "1")
		waitFor(t, 3*time.Second, "hook repaired on nf_tables", func() bool {
			return hasLine(t, ns, []string{"iptables-nft", "-S", "INPUT"}, "-A INPUT -j FILTERS")
		})
	})
	t.Run("nft-to-legacy", func(t *testing.T) {
		requireNft(t)
		ns := nstest.Netns(t)
		nstest.Run(t, ns, base, "iptables-nft-restore", "-c")
		w := startWatch(t, ns, "--interval", "500ms", "-4", "testdata/policy/seed-docker.v4")
		if s := w.Status(t); s.Backend != "nft" {
			t.Fatalf("started on %s, want nft:\n%s", s.Backend, w.Log())
		}
		nstest.Run(t, ns, nil, "nft", "delete", "table", "ip", "nat")
		nstest.Run(t, ns, nil, "nft", "delete", "table", "ip", "filter")
		time.Sleep(time.Second)
		start := time.Now()
		nstest.Run(t, ns, base, "iptables-legacy-restore", "-c")
		waitFor(t, 10*time.Second, "FILTERS and hooks moved to x_tables", func() bool { return movedTo(t, ns, "legacy", "nft") })
		t.Logf("nft -> legacy: moved %v after iptables-legacy-restore (probe every 500ms)", time.Since(start).Round(time.Millisecond))
		waitFor(t, 3*time.Second, "status and log saying legacy", func() bool {
			return w.Status(t).Backend == "legacy" && strings.Contains(w.Log(), "backend moved")
		})
		if !hasLine(t, ns, []string{"iptables-legacy", "-S", "FORWARD"}, "-A FORWARD -j DOCKER-USER") {
			t.Errorf("Docker's legacy rules changed:\n%s", nstest.Run(t, ns, nil, "iptables-legacy-save"))
		}
	})
	t.Run("both", func(t *testing.T) {
		requireNft(t)
		ns := nstest.Netns(t)
		nstest.Run(t, ns, base, "iptables-legacy-restore", "-c")
		w := startWatch(t, ns, "--interval", "500ms", "-4", "testdata/policy/seed-docker.v4")
		before := nstest.Run(t, ns, nil, "iptables-legacy-save")
		nstest.Run(t, ns, base, "iptables-nft-restore", "-c")
		nftBefore := nstest.Run(t, ns, nil, "iptables-nft-save")
		waitFor(t, 10*time.Second, "a warning that both backends hold rules", func() bool { return strings.Contains(w.Log(), "backend unclear") })
		time.Sleep(2 * time.Second)
		if after := nstest.Run(t, ns, nil, "iptables-legacy-save"); nstest.StripComments(after) != nstest.StripComments(before) {
			t.Errorf("x_tables changed: %s", nstest.FirstDiff(before, after))
		}
		if after := nstest.Run(t, ns, nil, "iptables-nft-save"); nstest.StripComments(after) != nstest.StripComments(nftBefore) || strings.Contains(after, "FILTERS") {
			t.Errorf("nf_tables changed: %s", nstest.FirstDiff(nftBefore, after))
		}
		if s := w.Status(t); s.Backend != "legacy" {
			t.Errorf("status backend %s", s.Backend)
		}
	})
}

// TestWatchConfirm: watch --confirm 3s; the rules file changes to one
// that refuses the client's connection. Unconfirmed, it is rolled back
// after the window (and stays rolled back); confirmed, it stays.
func TestWatchConfirm(t *testing.T) {
	for _, confirm := range []bool{false, true} {
		name := "unconfirmed"
		if confirm {
			name = "confirmed"
		}
		t.Run(name, func(t *testing.T) {
			requireNft(t)
			ns, connects := guardNets(t)
			allow, refuse := guardPolicies(t)
			file := filepath.Join(t.TempDir(), "rules.v4")
			data, _ := os.ReadFile(allow)
			os.WriteFile(file, data, 0o644)
			w := startWatch(t, ns, "--backend", "nft", "--confirm", "3s", "-4", file)
			t.Setenv("HOSTWALL_RUN_DIR", w.runDir)
			if !connects() {
				t.Fatalf("the client cannot connect under the allowing policy:\n%s", w.Log())
			}
			data, _ = os.ReadFile(refuse)
			tmp := file + ".tmp"
			os.WriteFile(tmp, data, 0o644)
			os.Rename(tmp, file)
			start := time.Now()
			waitFor(t, 3*time.Second, "the refusing policy applied", func() bool { return !connects() })
			if _, err := os.Stat(filepath.Join(w.runDir, "guard.json")); err != nil {
				t.Fatalf("no guard state: %v\n%s", err, w.Log())
			}
			if confirm {
				if out := nstest.MustHostwall(t, ns, "confirm"); !strings.Contains(out, "confirmed") {
					t.Errorf("confirm: %s", out)
				}
				time.Sleep(4 * time.Second)
				if connects() {
					t.Errorf("the confirmed change was rolled back:\n%s", w.Log())
				}
				if !strings.Contains(w.Log(), "change confirmed") {
					t.Errorf("log:\n%s", w.Log())
				}
				return
			}
			took := waitFor(t, 7*time.Second, "the client connects again", connects)
			t.Logf("rolled back %v after the change was applied (window 3s)", (time.Since(start)).Round(time.Millisecond))
			if time.Since(start) < 2500*time.Millisecond {
				t.Errorf("rolled back after %v, before the window", took)
			}
			if !strings.Contains(w.Log(), "rolled back for lack of confirmation") {
				t.Errorf("log:\n%s", w.Log())
			}
			// SIGHUP re-reads the same refused content: still rolled back.
			w.Signal(t, 1)
			time.Sleep(time.Second)
			if !connects() {
				t.Errorf("the rolled-back change came back on SIGHUP:\n%s", w.Log())
			}
			if _, err := os.Stat(filepath.Join(w.runDir, "guard.json")); err == nil {
				t.Errorf("guard.json left after the rollback")
			}
		})
	}
}
