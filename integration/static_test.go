package integration

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hostwall/hostwall/integration/nstest"
)

// TestStaticBinaryAlone: hostwall save works from a root directory that
// holds nothing but the static binary (no libc, no /etc, no /proc), as
// in a distroless image, and prints what iptables-legacy-save prints.
func TestStaticBinaryAlone(t *testing.T) {
	nstest.Require(t)
	for _, fx := range loadFixtures(t) {
		if filepath.Base(fx.path) != "basic.v4.rules" || filepath.Base(filepath.Dir(fx.path)) != "fixtures" {
			continue
		}
		root := t.TempDir()
		bin, err := os.ReadFile(nstest.Bin)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "hostwall"), bin, 0o755); err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(root)
		if len(entries) != 1 {
			t.Fatalf("chroot holds %d entries, want only the binary", len(entries))
		}
		ns := nstest.Netns(t)
		nstest.Run(t, ns, fx.data, "iptables-legacy-restore", "-c")
		for _, args := range [][]string{{"-t", "filter"}, {"-c", "-t", "filter"}} {
			want := nstest.StripComments(nstest.Run(t, ns, nil, "iptables-legacy-save", args...))
			got := nstest.StripComments(nstest.Run(t, ns, nil, "chroot", append([]string{root, "/hostwall", "save", "--backend", "legacy"}, args...)...))
			if got != want {
				t.Errorf("save %v in a bare chroot differs: %s", args, nstest.FirstDiff(got, want))
			}
		}
		// Without /proc the tables cannot be listed without creating
		// them: hostwall says so instead of guessing.
		if out, err := nstest.Try(ns, nil, "chroot", root, "/hostwall", "save", "--backend", "legacy"); err == nil {
			t.Errorf("save without -t and without /proc succeeded: %q", out)
		}
		return
	}
	t.Fatal("fixture basic.v4 not found")
}
