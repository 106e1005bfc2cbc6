package main

import (
	"fmt"
	"io"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/xtables"
)

// prepareLockDir makes the xtables lock's directory on a legacy host
// where it is missing (a container image has no /run) and says what that
// means: the lock is hostwall's alone, so iptables and Docker on the
// host, which take theirs in the host's /run, are not kept out. On
// nf_tables no lock is taken (iptables-nft takes none either).
func prepareLockDir(h *engine.Host, stderr io.Writer) error {
	if h.Backend != engine.LegacyBackend {
		return nil
	}
	lock := xtables.LockFile()
	dir, err := xtables.EnsureLockDir(lock)
	if err != nil || dir == "" {
		return err
	}
	warn(stderr, []string{fmt.Sprintf("%s did not exist: created it for the xtables lock %s. No other program "+
		"takes this lock, so it keeps no other writer out; in a container, mount the host's lock file "+
		"(docker run --mount type=bind,source=/run/xtables.lock,target=/run/xtables.lock)", dir, lock)})
	return nil
}
