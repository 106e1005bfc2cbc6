package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"syscall"
	"time"

	"github.com/hostwall/hostwall/engine/watch"
	"github.com/hostwall/hostwall/policy"
)

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("status", "[-4 FILE] [-6 FILE] [--chain[4|6] NAME]... [--backend BACKEND]",
		"Print the backend, what the watcher (hostwall watch) last did — its last\n"+
			"reconcile, writes, drift repairs, conflicts — and the packet and byte\n"+
			"counters of every rule of the owned chains and of every hook, as the\n"+
			"kernel has them now: which rules accept and drop what. The rules files\n"+
			"say which chains are owned, as for apply.", stdout)
	var pf policyFlags
	pf.register(fs)
	backend := backendFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	files, err := pf.files()
	if err != nil {
		return err
	}
	printWatcher(stdout, watch.StatusFile())
	fams := families(files)
	h, err := openHost(ctx, *backend, pf.allOwned(fams), fams, stderr)
	if err != nil {
		return err
	}
	defer h.Close()
	fmt.Fprintf(stdout, "%s\n", backendLine(h))
	var ds []*policy.Desired
	for _, fam := range fams {
		d, err := readDesired(files[fam], fam, pf.owned(fam), h.Supported(ctx, fam))
		if err != nil {
			return err
		}
		ds = append(ds, d)
	}
	rcs, err := h.OwnedCounters(ctx, ds)
	if err != nil {
		return err
	}
	if len(rcs) == 0 {
		fmt.Fprintln(stdout, "no owned chain or hook in the kernel (not applied yet?)")
	}
	fmt.Fprintf(stdout, "%-12s %-12s  rule\n", "packets", "bytes")
	for _, rc := range rcs {
		kind := ""
		if rc.Hook {
			kind = "   (hook)"
		}
		fmt.Fprintf(stdout, "%-12d %-12d  %s %s: %s%s\n", rc.Counters.Packets, rc.Counters.Bytes, rc.Family, rc.Table, rc.Text, kind)
	}
	return nil
}

// printWatcher says whether a watcher runs and what it last did.
func printWatcher(w io.Writer, path string) {
	s, err := watch.ReadStatus(path)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(w, "watcher: not running (no %s)\n", path)
		return
	}
	if err != nil {
		fmt.Fprintf(w, "watcher: unreadable status %s: %v\n", path, err)
		return
	}
	state := fmt.Sprintf("running (pid %d)", s.PID)
	if syscall.Kill(s.PID, 0) == syscall.ESRCH {
		state = fmt.Sprintf("not running (pid %d gone; its last status follows)", s.PID)
	}
	fmt.Fprintf(w, "watcher: %s, backend %s, files %v, since %s\n", state, s.Backend, s.Files, s.Started.Format(time.RFC3339))
	if !s.LastReconcile.IsZero() {
		fmt.Fprintf(w, "last reconcile: %s (%s ago): %s; why: %s\n", s.LastReconcile.Format(time.RFC3339), time.Since(s.LastReconcile).Round(time.Second), s.LastResult, s.LastReason)
		for _, c := range s.LastChanges {
			fmt.Fprintf(w, "  %s\n", c)
		}
	}
	last := "never"
	if !s.LastWrite.IsZero() {
		last = s.LastWrite.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "reconciles %d, writes %d (last %s), drift repairs %d, conflict repairs %d, errors %d", s.Reconciles, s.Writes, last, s.Repairs, s.Conflicts, s.Errors)
	if s.InConflict {
		fmt.Fprint(w, "; IN CONFLICT: another program keeps undoing hostwall's rules")
	}
	fmt.Fprintln(w)
}
