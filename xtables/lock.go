package xtables

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultLockFile is where iptables 1.8 takes its lock unless
// $XTABLES_LOCKFILE names another file.
const DefaultLockFile = "/run/xtables.lock"

// LockFile is the path of the xtables lock for this process.
func LockFile() string {
	if p := os.Getenv("XTABLES_LOCKFILE"); p != "" {
		return p
	}
	return DefaultLockFile
}

// ErrLockBusy is returned when the lock is still held by another program
// when the wait ends.
var ErrLockBusy = errors.New("another app is currently holding the xtables lock")

// Lock is a held xtables lock.
type Lock struct{ f *os.File }

// lockPoll is how often a waiting Lock retries, like iptables -W's
// default of one second but finer, since hostwall's writes are short.
const lockPoll = 20 * time.Millisecond

// AcquireLock takes the xtables lock: an exclusive flock on the lock file,
// the only thing that keeps two iptables-legacy writers from losing each
// other's changes. It waits until ctx is done (iptables -w with the
// context's deadline as the timeout); with an already expired context it
// tries once, like iptables without -w. As iptables, it creates the
// lock file; unlike iptables, also its directory when that is missing (a
// container image without /run): see EnsureLockDir.
func AcquireLock(ctx context.Context, path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		if _, mkErr := EnsureLockDir(path); mkErr != nil {
			return nil, mkErr
		}
		f, err = os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("open xtables lock %s: %w", path, err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return &Lock{f: f}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w (gave up: %v)", path, ErrLockBusy, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}

// EnsureLockDir creates the directory of the lock file at path when it
// does not exist, and returns the directory it created ("" when it was
// there). On a host /run always exists; a directory made here means this
// process runs where nothing else took the lock before (a container
// image without /run), so no other program shares the lock unless the
// host's lock file is mounted in: callers should say so.
func EnsureLockDir(path string) (created string, err error) {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); err == nil || !errors.Is(err, os.ErrNotExist) {
		return "", nil // there, or not ours to decide: the open reports it
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("xtables lock %s: create its directory: %w", path, err)
	}
	return dir, nil
}

// Release drops the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the only descriptor drops the flock
	l.f = nil
	return err
}
