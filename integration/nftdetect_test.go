package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hostwall/hostwall/integration/nstest"
	"github.com/hostwall/hostwall/xtables"
)

// TestDetectBackend is the detection matrix: with no --backend, hostwall
// writes where the host's rules are, creates nothing in the other
// backend, refuses a host with rules in both, and on an empty host
// chooses one backend and keeps to it.
func TestDetectBackend(t *testing.T) {
	requireNft(t)
	base, err := os.ReadFile("testdata/base/docker.v4.rules")
	if err != nil {
		t.Fatal(err)
	}
	const pol = "testdata/policy/seed-docker.v4"
	nftTables := func(ns string) string { return strings.TrimSpace(nstest.Run(t, ns, nil, "nft", "list", "tables")) }

	t.Run("nft-only", func(t *testing.T) {
		ns := nstest.Netns(t)
		nstest.Run(t, ns, base, "iptables-nft-restore")
		out := nstest.MustHostwall(t, ns, "apply", "-4", pol)
		if !strings.Contains(out, "backend nft (detected: nf_tables holds the host's rules (IPv4 filter:") {
			t.Errorf("report: %s", out)
		}
		if l := strings.TrimSpace(legacyTablesOf(t, ns)); l != "" {
			t.Errorf("legacy tables created: %q", l)
		}
		if !strings.Contains(nstest.Run(t, ns, nil, "iptables-nft-save"), "-A DOCKER-USER -i eth0 -j FILTERS") {
			t.Error("hook not in nf_tables")
		}
	})
	t.Run("legacy-only", func(t *testing.T) {
		ns := nstest.Netns(t)
		nstest.Run(t, ns, base, "iptables-legacy-restore")
		out := nstest.MustHostwall(t, ns, "apply", "-4", pol)
		if !strings.Contains(out, "backend legacy (detected: x_tables holds the host's rules") {
			t.Errorf("report: %s", out)
		}
		if tb := nftTables(ns); tb != "" {
			t.Errorf("nf_tables tables created: %q", tb)
		}
	})
	t.Run("both", func(t *testing.T) {
		ns := nstest.Netns(t)
		nstest.Run(t, ns, base, "iptables-legacy-restore")
		nstest.Run(t, ns, base, "iptables-nft-restore")
		_, legacyBefore := nstest.ReadRaw(t, ns, xtables.IPv4, "filter")
		nftBefore := nftSnapshot(t, ns, true)
		out, errOut, code := nstest.Hostwall(t, ns, "apply", "-4", pol)
		if code != 1 || !strings.Contains(errOut, "x_tables (iptables-legacy) holds IPv4 filter") || !strings.Contains(errOut, "nf_tables (iptables-nft) holds IPv4 filter") || !strings.Contains(errOut, "--backend") {
			t.Errorf("exit %d:\n%s%s", code, out, errOut)
		}
		if _, b := nstest.ReadRaw(t, ns, xtables.IPv4, "filter"); !bytes.Equal(b, legacyBefore) {
			t.Error("legacy table changed")
		}
		if s := nftSnapshot(t, ns, true); s != nftBefore {
			t.Errorf("nf_tables changed:\n%s", nstest.FirstDiff(nftBefore, s))
		}
		// --backend settles it.
		out = nstest.MustHostwall(t, ns, "apply", "--backend", "nft", "-4", pol)
		if !strings.Contains(out, "backend nft (as asked)") {
			t.Errorf("report: %s", out)
		}
	})
	t.Run("empty", func(t *testing.T) {
		ns := nstest.Netns(t)
		out := nstest.MustHostwall(t, ns, "apply", "-4", pol)
		first := backendOf(t, out)
		out = nstest.MustHostwall(t, ns, "apply", "-4", pol)
		if second := backendOf(t, out); second != first || !strings.Contains(out, "no change, nothing written") {
			t.Errorf("second run: backend %s (first %s):\n%s", second, first, out)
		}
		switch first {
		case "nft":
			if l := strings.TrimSpace(legacyTablesOf(t, ns)); l != "" {
				t.Errorf("legacy tables created: %q", l)
			}
		case "legacy":
			if tb := nftTables(ns); tb != "" {
				t.Errorf("nf_tables tables created: %q", tb)
			}
		}
	})
	t.Run("leftover", func(t *testing.T) {
		// What hostwall did before it spoke nf_tables: a legacy FILTERS
		// and DOCKER-USER next to Docker's chains in nf_tables. Now the
		// apply goes to nf_tables and the leftover is reported.
		ns := nstest.Netns(t)
		nstest.Run(t, ns, base, "iptables-nft-restore")
		nstest.MustHostwall(t, ns, "apply", "--backend", "legacy", "-4", pol)
		out, errOut, code := nstest.Hostwall(t, ns, "apply", "-4", pol)
		if code != 0 || backendOf(t, out) != "nft" || !strings.Contains(errOut, "left behind in x_tables") {
			t.Errorf("exit %d:\n%s%s", code, out, errOut)
		}
	})
	for _, hint := range []string{"legacy", "nft"} {
		t.Run("alternatives-"+hint, func(t *testing.T) {
			// The host's iptables alternative, seen through its links, in
			// a mount namespace of the test's own.
			ns := nstest.Netns(t)
			dir := t.TempDir()
			if err := os.Symlink("/usr/sbin/iptables-"+hint, filepath.Join(dir, "iptables")); err != nil {
				t.Fatal(err)
			}
			script := "mount --bind " + dir + " /etc/alternatives && exec " + nstest.Bin + " apply -4 " + pol
			out := nstest.Run(t, ns, nil, "unshare", "--mount", "--propagation", "private", "sh", "-c", script)
			if got := backendOf(t, out); got != hint || !strings.Contains(out, "the host's iptables is") {
				t.Errorf("hint %s: %s", hint, out)
			}
		})
	}
}

// backendOf reads the backend from an apply report.
func backendOf(t *testing.T, out string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "hostwall: backend "); ok {
			return strings.Fields(rest)[0]
		}
	}
	t.Fatalf("no backend line in:\n%s", out)
	return ""
}
