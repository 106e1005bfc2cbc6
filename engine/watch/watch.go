// Package watch is hostwall's long-running half: a reconciler that
// applies the rules files at start and again whenever the desired state
// and the kernel can differ — a rules file changed, SIGHUP, the kernel's
// tables changed under it, interfaces came or went — and never fights
// another program in a tight loop.
//
// The reconciler knows nothing of kernels or files: it is driven by
// Sources (small goroutines that send Events) and acts through two
// functions, Load and Apply, so tests drive it with fakes. The real
// sources are in sources.go.
package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/policy"
)

// Kind says where an Event comes from.
type Kind int

const (
	// Start is the first reconcile.
	Start Kind = iota
	// Files: a rules file changed.
	Files
	// Signal: SIGHUP asked for a reload.
	Signal
	// Kernel: the kernel's tables changed (drift, if a reconcile then
	// writes).
	Kernel
	// Links: interfaces, addresses or routes changed.
	Links
	// Retry: a reconcile failed and is tried again.
	Retry
)

func (k Kind) String() string {
	return [...]string{"start", "files", "signal", "kernel", "links", "retry"}[k]
}

// Event is something after which desired state and kernel may differ.
type Event struct {
	Kind Kind
	// What describes it: "rules.v4 renamed", "IPv4 filter INPUT:
	// delete rule by iptables (pid 42)".
	What string
}

// Source sends Events until ctx is done.
type Source interface {
	Run(ctx context.Context, out chan<- Event) error
}

// SourceFunc is a Source.
type SourceFunc func(ctx context.Context, out chan<- Event) error

// Run implements Source.
func (f SourceFunc) Run(ctx context.Context, out chan<- Event) error { return f(ctx, out) }

// Config is what a Reconciler works with.
type Config struct {
	// Load reads the rules files (with Files, Signal and Start events;
	// Links too, since the interfaces they hook from may have changed).
	Load func(ctx context.Context) ([]*policy.Desired, error)
	// Apply makes the kernel hold ds.
	Apply func(ctx context.Context, ds []*policy.Desired) ([]*engine.Report, error)
	// Sources run for the Reconciler's lifetime.
	Sources []Source
	// Scoped are started for each loaded desired state, and restarted
	// when it changes what they look at (the kernel's change events
	// care about the owned chains and the chains hooking them).
	Scoped func(ds []*policy.Desired) []Source
	// Log gets one line per reconcile that changed something or failed,
	// and one per conflict.
	Log *slog.Logger
	// OnReconcile, if set, is called after each reconcile.
	OnReconcile func(Result)
	Limits      Limits
}

// Limits keep the reconciler from fighting another program in a tight
// loop. A repair is a write made because the kernel changed under
// hostwall; Threshold repairs within Window make a conflict, after which
// each repair waits a back-off (Min, doubling up to Max) after the last
// one. A Window without repairs ends the conflict.
type Limits struct {
	// Debounce gathers a burst of events into one reconcile (default
	// 50 ms; files 200 ms, for editors' several writes).
	Debounce, FileDebounce time.Duration
	Threshold              int
	Window                 time.Duration
	Min, Max               time.Duration
}

func (l *Limits) defaults() {
	if l.Debounce == 0 {
		l.Debounce = 50 * time.Millisecond
	}
	if l.FileDebounce == 0 {
		l.FileDebounce = 200 * time.Millisecond
	}
	if l.Threshold == 0 {
		l.Threshold = 3
	}
	if l.Window == 0 {
		l.Window = 10 * time.Second
	}
	if l.Min == 0 {
		l.Min = 500 * time.Millisecond
	}
	if l.Max == 0 {
		l.Max = 5 * time.Second
	}
}

// Result is what one reconcile did.
type Result struct {
	Time    time.Time
	Trigger []Event
	// Changed: something was written; Repair: because the kernel
	// changed under hostwall (drift).
	Changed, Repair bool
	// Conflict: the repair was one of a conflict (rate-limited).
	Conflict bool
	Reports  []*engine.Report
	Err      error
}

// Reasons joins the triggers' descriptions.
func (r Result) Reasons() string {
	var s []string
	for _, e := range r.Trigger {
		t := e.Kind.String()
		if e.What != "" {
			t += ": " + e.What
		}
		if !slices.Contains(s, t) {
			s = append(s, t)
		}
	}
	if len(s) > 6 {
		s = append(s[:6], fmt.Sprintf("… %d more", len(s)-6))
	}
	return strings.Join(s, "; ")
}

// Changes lists what a reconcile wrote, as diff lines.
func (r Result) Changes() []string {
	var out []string
	for _, rep := range r.Reports {
		for _, tr := range rep.Tables {
			if tr.Written && tr.Plan != nil {
				for _, l := range tr.Plan.Diff {
					out = append(out, fmt.Sprintf("%s %s: %s", rep.Family, tr.Table, l))
				}
			}
		}
	}
	return out
}

// Reconciler is the loop. Run it once.
type Reconciler struct {
	cfg Config
	log *slog.Logger

	desired []*policy.Desired
	scope   string // what the scoped sources were started for
	stopSc  context.CancelFunc

	// back-off state
	repairs   []time.Time
	backoff   time.Duration
	conflict  bool
	lastWrite time.Time
	errDelay  time.Duration
}

// New makes a Reconciler.
func New(cfg Config) *Reconciler {
	cfg.Limits.defaults()
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{cfg: cfg, log: log}
}

// Run reconciles until ctx is done, and leaves the firewall as it is
// then. It returns an error only when the first load fails (a watcher
// that starts on a broken file would protect nothing) or a source fails.
func (r *Reconciler) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan Event, 64)
	srcErr := make(chan error, len(r.cfg.Sources)+8)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	start := func(ctx context.Context, ss []Source) {
		for _, s := range ss {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Run(ctx, events); err != nil && ctx.Err() == nil {
					srcErr <- err
				}
			}()
		}
	}
	start(ctx, r.cfg.Sources)

	pending := []Event{{Kind: Start}}
	due := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			if r.stopSc != nil {
				r.stopSc()
			}
			return nil
		case err := <-srcErr:
			return err
		case ev := <-events:
			wasIdle := len(pending) == 0
			pending = append(pending, ev)
			d := r.cfg.Limits.Debounce
			if ev.Kind == Files {
				d = r.cfg.Limits.FileDebounce
			}
			at := time.Now().Add(d)
			if wasIdle || at.After(due) {
				due = at
			}
			if hold := r.holdUntil(pending); hold.After(due) {
				due = hold
			}
			timer.Reset(time.Until(due))
		case <-timer.C:
			if len(pending) == 0 {
				continue
			}
			if hold := r.holdUntil(pending); hold.After(time.Now()) {
				due = hold
				timer.Reset(time.Until(due))
				continue
			}
			batch := pending
			pending = nil
			res, err := r.reconcile(ctx, batch)
			if err != nil {
				return err
			}
			if res.Err != nil && ctx.Err() == nil {
				// Try again later, backing off, from the same reasons.
				r.errDelay = min(max(2*r.errDelay, time.Second), 30*time.Second)
				pending = append(pending, Event{Kind: Retry, What: res.Err.Error()})
				due = time.Now().Add(r.errDelay)
				timer.Reset(r.errDelay)
			} else {
				r.errDelay = 0
			}
			if res.Err == nil || len(r.desired) > 0 {
				r.restartScoped(ctx, start)
			}
		}
	}
}

// holdUntil is when a reconcile of these events may run: now, unless
// they are only kernel changes (a repair) during a conflict.
func (r *Reconciler) holdUntil(evs []Event) time.Time {
	if !r.conflict || r.backoff == 0 {
		return time.Time{}
	}
	for _, e := range evs {
		if e.Kind != Kernel {
			return time.Time{}
		}
	}
	return r.lastWrite.Add(r.backoff)
}

func (r *Reconciler) restartScoped(ctx context.Context, start func(context.Context, []Source)) {
	if r.cfg.Scoped == nil {
		return
	}
	key := fmt.Sprint(engine.ScopeOf(r.desired).Chains, len(r.desired), externalKey(r.desired))
	if key == r.scope && r.stopSc != nil {
		return
	}
	if r.stopSc != nil {
		r.stopSc()
	}
	sctx, stop := context.WithCancel(ctx)
	r.scope, r.stopSc = key, stop
	start(sctx, r.cfg.Scoped(r.desired))
}

func externalKey(ds []*policy.Desired) string {
	var b strings.Builder
	for _, d := range ds {
		for _, dt := range d.Tables {
			for _, h := range dt.Hooks {
				if h.External != nil {
					fmt.Fprint(&b, h.External.Patterns)
				}
			}
		}
	}
	return b.String()
}

// reconcile loads (when the events call for it) and applies once. The
// error returned ends Run: only a first load that fails.
func (r *Reconciler) reconcile(ctx context.Context, evs []Event) (Result, error) {
	res := Result{Time: time.Now(), Trigger: evs}
	load := r.desired == nil
	kernelOnly := true
	for _, e := range evs {
		switch e.Kind {
		case Start, Files, Signal:
			load = true
		}
		if e.Kind != Kernel {
			kernelOnly = false
		}
	}
	if load {
		ds, err := r.cfg.Load(ctx)
		if err != nil {
			if r.desired == nil {
				return res, err
			}
			res.Err = err
			r.log.Error("rules files not reloaded; keeping the last good ones", "why", res.Reasons(), "err", err)
			r.report(res)
			// Not retried: the next edit or SIGHUP reloads.
			return Result{}, nil
		}
		r.desired = ds
	}
	res.Reports, res.Err = r.cfg.Apply(ctx, r.desired)
	for _, rep := range res.Reports {
		for _, tr := range rep.Tables {
			res.Changed = res.Changed || tr.Written
		}
	}
	if ctx.Err() != nil {
		return res, nil
	}
	now := time.Now()
	r.endConflict(now)
	if res.Changed {
		r.lastWrite = now
	}
	if res.Changed && kernelOnly {
		res.Repair = true
		r.noteRepair(now, &res)
	}
	switch {
	case res.Err != nil:
		r.log.Error("reconcile failed", "why", res.Reasons(), "err", res.Err, "changes", res.Changes())
	case res.Changed:
		r.log.Info("reconciled", "why", res.Reasons(), "repair", res.Repair, "changes", res.Changes())
	}
	r.report(res)
	return res, nil
}

func (r *Reconciler) report(res Result) {
	if r.cfg.OnReconcile != nil {
		r.cfg.OnReconcile(res)
	}
}

// noteRepair counts a repair, and enters or deepens a conflict when
// they come too often.
func (r *Reconciler) noteRepair(now time.Time, res *Result) {
	w := r.cfg.Limits.Window
	r.repairs = slices.DeleteFunc(r.repairs, func(t time.Time) bool { return now.Sub(t) > w })
	r.repairs = append(r.repairs, now)
	if len(r.repairs) < r.cfg.Limits.Threshold {
		return
	}
	res.Conflict = true
	if !r.conflict {
		r.conflict = true
		r.backoff = r.cfg.Limits.Min
	} else {
		r.backoff = min(2*r.backoff, r.cfg.Limits.Max)
	}
	r.log.Warn("conflict: another program keeps undoing hostwall's rules; repairs are rate-limited",
		"changed", res.Reasons(), "repairs_in_window", len(r.repairs), "window", w, "next_repair_after", r.backoff)
}

func (r *Reconciler) endConflict(now time.Time) {
	if !r.conflict {
		return
	}
	if now.Sub(r.lastWrite) <= r.cfg.Limits.Window {
		return
	}
	r.conflict, r.backoff, r.repairs = false, 0, nil
	r.log.Info("conflict over: no repair needed for a whole window", "window", r.cfg.Limits.Window)
}

// ErrStopped is returned by sources whose input went away.
var ErrStopped = errors.New("watch source stopped")
