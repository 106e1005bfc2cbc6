package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/engine/watch"
	"github.com/hostwall/hostwall/policy"
)

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// A SIGHUP before the reconciler listens must reload, not kill.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// 'hostwall confirm' wakes a watch --confirm with SIGUSR1, which
	// must not kill it.
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)

	fs := newFlags("watch", "[-4 FILE] [-6 FILE] [--chain[4|6] NAME]... [--backend BACKEND]\n"+
		"                      [--interval DURATION] [--redetect DURATION] [--confirm DURATION]\n"+
		"                      [--metrics-addr ADDR] [--log-format text|json]",
		"Apply the rules files, then keep the kernel as they say: apply again when\n"+
			"a file changes (inotify on its directory: editors' rename-over-write and\n"+
			"ConfigMap symlink swaps are seen), on SIGHUP, when the kernel's owned\n"+
			"chains or their hooks change under hostwall (nf_tables: change events;\n"+
			"x_tables: a GET_INFO probe every --interval), and when interfaces come\n"+
			"and go where a hook is marked external-interfaces. With --backend auto\n"+
			"(the default) it detects the backend again when legacy tables appear,\n"+
			"another program's iptables-nft rules arrive, and every --redetect; when\n"+
			"the host moved (Docker restarted onto the other iptables), hostwall's\n"+
			"chains and hooks move too: applied on the new backend, then removed\n"+
			"from the old. With --confirm, a rules-file change is rolled back after\n"+
			"DURATION unless 'hostwall confirm' runs first. A program that keeps\n"+
			"undoing hostwall's rules gets repairs rate-limited with back-off, and a\n"+
			"conflict in the log. SIGTERM and SIGINT stop it and leave the firewall\n"+
			"as it is. Logs go to standard error, one line per reconcile that changed\n"+
			"something. The status is kept in $HOSTWALL_RUN_DIR/watch.json (default\n"+
			"/run/hostwall) for 'hostwall status'.", stdout)
	var pf policyFlags
	pf.register(fs)
	backend := backendFlag(fs)
	interval := fs.Duration("interval", 2*time.Second, "x_tables probe `DURATION` (GET_INFO of the watched tables)")
	redetectEvery := fs.Duration("redetect", 30*time.Second, "with --backend auto, detect the backend again every `DURATION`\n(0: only when legacy tables or iptables-nft rules appear)")
	confirmWin := fs.Duration("confirm", 0, "hold every rules-file change for confirmation: put the previous\nowned chains and hooks back after `DURATION` unless 'hostwall\nconfirm' runs first")
	wait := waitFlag(fs, " (x_tables only)")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics on `ADDR` (/metrics) and readiness\n(/readyz: 200 once the files are applied); a bare port binds\nto 127.0.0.1")
	logFormat := fs.String("log-format", "text", "log `FORMAT`: text or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *interval < 10*time.Millisecond {
		return usagef("--interval %v: at least 10ms", *interval)
	}
	var handler slog.Handler
	switch *logFormat {
	case "text":
		handler = slog.NewTextHandler(stderr, nil)
	case "json":
		handler = slog.NewJSONHandler(stderr, nil)
	default:
		return usagef("--log-format %q: text or json", *logFormat)
	}
	log := slog.New(handler)
	files, err := pf.files()
	if err != nil {
		return err
	}
	var paths []string
	for _, fam := range families(files) {
		if files[fam] == "-" {
			return usagef("watch reads its files again on every change: standard input cannot be one")
		}
		paths = append(paths, files[fam])
	}
	fams := families(files)
	h, err := openHost(ctx, *backend, pf.allOwned(fams), fams, stderr)
	if err != nil {
		return err
	}
	defer func() { h.Close() }() // h changes when the backend moves

	tracker := watch.NewTracker(watch.Status{Backend: string(h.Backend), Files: paths}, watch.StatusFile())
	// The host's connections serve the reconciler and the metrics
	// endpoint: one at a time.
	var (
		mu   sync.Mutex
		last []*policy.Desired
	)
	load := func(ctx context.Context) ([]*policy.Desired, error) {
		mu.Lock()
		defer mu.Unlock()
		var ds []*policy.Desired
		for _, fam := range fams {
			d, err := hostDesired(ctx, h, files[fam], fam, pf.owned(fam))
			if err != nil {
				return nil, err
			}
			ds = append(ds, d)
		}
		return ds, nil
	}
	owned := pf.allOwned(fams)
	var bothWarned string
	// redetect moves hostwall's chains and hooks when the host's backend
	// changed: applied on the new one first, then removed from the old.
	redetect := func(ctx context.Context, ds []*policy.Desired) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		d, err := engine.Detect(ctx, engine.DetectOptions{Owned: owned, NFT: h.NFT()})
		if errors.Is(err, engine.ErrBothBackends) {
			if msg := err.Error(); msg != bothWarned {
				bothWarned = msg
				log.Warn("backend unclear; staying on "+string(h.Backend)+" and changing nothing", "err", err)
			}
			return "", nil
		}
		bothWarned = ""
		if err != nil || d.Backend == h.Backend {
			return "", err
		}
		start := time.Now()
		nh, err := engine.Open(ctx, engine.OpenOptions{Backend: d.Backend, Owned: owned, Families: fams})
		if err != nil {
			return "", fmt.Errorf("open %s to move there: %w", d.Backend, err)
		}
		if err := prepareLockDir(nh, stderr); err != nil {
			nh.Close()
			return "", err
		}
		reps, err := nh.Apply(ctx, ds, engine.Options{LockWait: wait.lockWait()})
		nh.NoteWritten(reps)
		if err != nil {
			nh.Close()
			return "", fmt.Errorf("apply on %s (staying on %s): %w", d.Backend, h.Backend, err)
		}
		removed, rerr := h.Remove(ctx, ds, engine.Options{LockWait: wait.lockWait()})
		old := h
		h, last = nh, ds
		old.Close()
		tracker.SetBackend(string(h.Backend))
		what := fmt.Sprintf("%s -> %s (%s) in %v; removed from %s: %v", old.Backend, h.Backend, d.Reason,
			time.Since(start).Round(time.Millisecond), old.Backend, (watch.Result{Reports: removed}).Changes())
		if rerr != nil {
			log.Error("moved, but hostwall's chains and hooks could not all be removed from the old backend", "from", old.Backend, "err", rerr)
		}
		return what, nil
	}
	apply := func(ctx context.Context, ds []*policy.Desired) ([]*engine.Report, error) {
		mu.Lock()
		defer mu.Unlock()
		last = ds
		reps, err := h.Apply(ctx, ds, engine.Options{LockWait: wait.lockWait()})
		h.NoteWritten(reps)
		return reps, err
	}
	if *metricsAddr != "" {
		addr, err := watch.ServeMetrics(ctx, *metricsAddr, &watch.Collector{Tracker: tracker, Log: log,
			Counters: func(ctx context.Context) ([]engine.RuleCounters, error) {
				mu.Lock()
				defer mu.Unlock()
				return h.OwnedCounters(ctx, last)
			}})
		if err != nil {
			return err
		}
		log.Info("serving metrics", "addr", "http://"+addr.String()+"/metrics")
	}
	log.Info("watching", "backend", h.Backend, "why", backendWhy(h), "files", paths, "interval", *interval)
	auto := h.Detection != nil
	cfg := watch.Config{
		Load:    load,
		Apply:   apply,
		Sources: []watch.Source{watch.FileSource(paths), watch.SignalSource(hup)},
		// Called by the reconciler's goroutine, which alone replaces h.
		Scoped: func(ds []*policy.Desired) []watch.Source {
			ss := watch.ScopedSources(h, engine.Scope{Interval: *interval})(ds)
			if auto {
				ss = append(ss, watch.BackendSource(h.Backend, *interval, *redetectEvery))
			}
			return ss
		},
		Log:         log,
		OnReconcile: notifyReconciles(tracker.Note, sdNotify, func(err error) { log.Warn("telling systemd", "err", err) }),
	}
	if auto {
		cfg.Redetect = redetect
	}
	if *confirmWin > 0 {
		cfg.Guard = newWatchGuard(*confirmWin, usr1, func(ctx context.Context, ds []*policy.Desired) (*guardState, error) {
			mu.Lock()
			defer mu.Unlock()
			return recordPrevious(ctx, h, ds)
		})
	}
	r := watch.New(cfg)
	err = r.Run(ctx)
	log.Info("stopped; the firewall stays as it is", "err", err)
	return err
}

func backendWhy(h *engine.Host) string {
	if h.Detection == nil {
		return "as asked"
	}
	return fmt.Sprintf("detected: %s", h.Detection.Reason)
}
