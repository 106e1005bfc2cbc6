package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hostwall/hostwall/engine"
)

// A container image without /run: on a legacy host the lock's directory
// is made and the user told that the lock is shared with nobody; on
// nf_tables nothing is made (no lock is taken there).
func TestPrepareLockDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	t.Setenv("XTABLES_LOCKFILE", filepath.Join(dir, "xtables.lock"))
	var stderr bytes.Buffer
	if err := prepareLockDir(&engine.Host{Backend: engine.NFTBackend}, &stderr); err != nil || stderr.Len() > 0 {
		t.Fatalf("nft: %v, %q", err, stderr.String())
	}
	if _, err := os.Stat(dir); err == nil {
		t.Fatal("nft: the lock directory was made")
	}
	if err := prepareLockDir(&engine.Host{Backend: engine.LegacyBackend}, &stderr); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		t.Fatalf("legacy: lock directory %v", err)
	}
	if w := stderr.String(); !strings.HasPrefix(w, "hostwall: warning: "+dir+" did not exist") || !strings.Contains(w, "mount the host's lock file") {
		t.Errorf("warning %q", w)
	}
	stderr.Reset()
	if err := prepareLockDir(&engine.Host{Backend: engine.LegacyBackend}, &stderr); err != nil || stderr.Len() > 0 {
		t.Errorf("second time: %v, %q", err, stderr.String())
	}
}
