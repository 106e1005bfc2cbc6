package main

import (
	"context"
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

	fs := newFlags("watch", "[-4 FILE] [-6 FILE] [--chain[4|6] NAME]... [--backend BACKEND]\n"+
		"                      [--interval DURATION] [--metrics-addr ADDR] [--log-format text|json]",
		"Apply the rules files, then keep the kernel as they say: apply again when\n"+
			"a file changes (inotify on its directory: editors' rename-over-write and\n"+
			"ConfigMap symlink swaps are seen), on SIGHUP, when the kernel's owned\n"+
			"chains or their hooks change under hostwall (nf_tables: change events;\n"+
			"x_tables: a GET_INFO probe every --interval), and when interfaces come\n"+
			"and go where a hook is marked external-interfaces. A program that keeps\n"+
			"undoing hostwall's rules gets repairs rate-limited with back-off, and a\n"+
			"conflict in the log. SIGTERM and SIGINT stop it and leave the firewall\n"+
			"as it is. Logs go to standard error, one line per reconcile that changed\n"+
			"something. The status is kept in $HOSTWALL_RUN_DIR/watch.json (default\n"+
			"/run/hostwall) for 'hostwall status'.", stdout)
	var pf policyFlags
	pf.register(fs)
	backend := backendFlag(fs)
	interval := fs.Duration("interval", 2*time.Second, "x_tables probe `DURATION` (GET_INFO of the watched tables)")
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
	defer h.Close()

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
			d, err := readDesired(files[fam], fam, pf.owned(fam), h.Supported(ctx, fam))
			if err != nil {
				return nil, err
			}
			ds = append(ds, d)
		}
		return ds, nil
	}
	apply := func(ctx context.Context, ds []*policy.Desired) ([]*engine.Report, error) {
		mu.Lock()
		defer mu.Unlock()
		last = ds
		reps, err := h.Apply(ctx, ds, engine.Options{LockWait: wait.d})
		h.NoteWritten(reps)
		return reps, err
	}
	tracker := watch.NewTracker(watch.Status{Backend: string(h.Backend), Files: paths}, watch.StatusFile())
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
	r := watch.New(watch.Config{
		Load:        load,
		Apply:       apply,
		Sources:     []watch.Source{watch.FileSource(paths), watch.SignalSource(hup)},
		Scoped:      watch.ScopedSources(h, engine.Scope{Interval: *interval}),
		Log:         log,
		OnReconcile: notifyReconciles(tracker.Note, sdNotify, func(err error) { log.Warn("telling systemd", "err", err) }),
	})
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
