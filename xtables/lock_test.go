package xtables

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A container image without /run: the lock's directory is made, and a
// second taker finds the lock held.
func TestAcquireLockMakesItsDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	path := filepath.Join(dir, "xtables.lock")
	l, err := AcquireLock(context.Background(), path)
	if err != nil {
		t.Fatalf("AcquireLock without its directory: %v", err)
	}
	defer l.Release()
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("lock directory: %v, %v; want a 0755 directory", st, err)
	}
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := AcquireLock(expired, path); !errors.Is(err, ErrLockBusy) {
		t.Errorf("second AcquireLock: %v, want ErrLockBusy", err)
	}
	if created, err := EnsureLockDir(path); created != "" || err != nil {
		t.Errorf("EnsureLockDir with its directory there: %q, %v", created, err)
	}
}

func TestEnsureLockDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "xtables.lock")
	created, err := EnsureLockDir(path)
	if err != nil || created != filepath.Dir(path) {
		t.Fatalf("EnsureLockDir: %q, %v; want %q", created, err, filepath.Dir(path))
	}
	// A file where the directory should be: not made, and the open says why.
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o644)
	if _, err := AcquireLock(context.Background(), filepath.Join(file, "xtables.lock")); err == nil {
		t.Error("AcquireLock under a regular file succeeded")
	}
}
