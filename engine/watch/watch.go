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
	// Backend: the backend the host uses may have changed (legacy
	// tables appeared, iptables-nft rules of another program arrived,
	// or the periodic re-detect): detect again before applying.
	Backend
	// Rollback: a rules-file change was not confirmed in time.
	Rollback
)

func (k Kind) String() string {
	return [...]string{"start", "files", "signal", "kernel", "links", "retry", "backend", "rollback"}[k]
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
	// Redetect, if set, runs before the Apply of a reconcile that a
	// Backend event asked for: it detects the backend again and, when
	// it changed, applies ds there and removes hostwall's chains and
	// hooks from the old one. It returns what moved ("" when nothing
	// did); the scoped sources are started again after a move.
	Redetect func(ctx context.Context, ds []*policy.Desired) (moved string, err error)
	// Guard, if set, holds every rules-file change for confirmation
	// (watch --confirm): see Guard.
	Guard Guard
}

// Guard is the confirm window for rules-file changes. Begin runs before
// a changed file is applied, and records what to roll back to (the
// owned chains and hooks as the kernel has them); it returns the
// deadline. Confirmed reports whether the change was confirmed (the
// state file taken away); Expire, at the deadline, claims the rollback
// (false: a confirm won the race); Done ends it.
type Guard interface {
	Begin(ctx context.Context, next []*policy.Desired) (time.Time, error)
	Confirmed() bool
	Expire() bool
	Done()
	// Wake, if not nil, is signalled by a confirm (SIGUSR1).
	Wake() <-chan struct{}
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

	// confirm window (Config.Guard): the desired state before the
	// change awaiting confirmation, and its deadline; after a rollback,
	// the print of the file content refused, held off until it changes.
	pending  []*policy.Desired
	deadline time.Time
	refused  string

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
	guardTick := time.NewTicker(200 * time.Millisecond)
	defer guardTick.Stop()
	var wake <-chan struct{}
	if r.cfg.Guard != nil {
		wake = r.cfg.Guard.Wake()
	}
	for {
		var gt <-chan time.Time
		var gw <-chan struct{}
		if r.pending != nil {
			gt, gw = guardTick.C, wake
		}
		select {
		case <-ctx.Done():
			if r.stopSc != nil {
				r.stopSc()
			}
			return nil
		case err := <-srcErr:
			return err
		case <-gw:
			r.checkGuard(events)
		case <-gt:
			r.checkGuard(events)
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

// checkGuard ends a confirm window: confirmed, or at its deadline
// rolled back (the previous desired state is put back in force by a
// Rollback event, and the refused file content is held off).
func (r *Reconciler) checkGuard(events chan Event) {
	g := r.cfg.Guard
	if g.Confirmed() {
		r.log.Info("rules-file change confirmed; it stays")
		r.pending = nil
		g.Done()
		return
	}
	if time.Now().Before(r.deadline) {
		return
	}
	if !g.Expire() {
		r.log.Info("rules-file change confirmed at the deadline; it stays")
		r.pending = nil
		g.Done()
		return
	}
	r.refused = fingerprint(r.desired)
	r.desired, r.pending = r.pending, nil
	select {
	case events <- Event{Kind: Rollback, What: "rules-file change not confirmed in time"}:
	default:
		// The queue is full: the reconcile it leads to applies r.desired.
	}
}

// fingerprint prints the owned chains and hooks of desired states, to
// tell whether a file's content changed.
func fingerprint(ds []*policy.Desired) string {
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "%s\n", d.Family)
		for _, dt := range d.Tables {
			fmt.Fprintf(&b, "*%s\n", dt.Table)
			for _, o := range dt.Owned {
				fmt.Fprintf(&b, ":%s\n", o.Name)
				for _, rl := range o.Rules {
					fmt.Fprintf(&b, "%s\n", dt.Text(o.Name, rl))
				}
			}
			for _, h := range dt.Hooks {
				fmt.Fprintf(&b, "%s\n", dt.Text(h.Chain, h.Rule))
				if h.External != nil {
					fmt.Fprintf(&b, "external %q\n", h.External.Patterns)
				}
			}
		}
	}
	return b.String()
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
		if err := r.guardChange(ctx, ds, &res); err != nil {
			return Result{}, nil
		}
	}
	for _, e := range evs {
		if e.Kind == Backend && r.cfg.Redetect != nil {
			moved, err := r.cfg.Redetect(ctx, r.desired)
			if err != nil {
				r.log.Warn("backend re-detection", "why", res.Reasons(), "err", err)
			} else if moved != "" {
				res.Changed = true
				r.scope = "" // the scoped sources watch the new backend
				r.log.Info("backend moved", "what", moved, "why", res.Reasons())
			}
			break
		}
	}
	reps, err := r.cfg.Apply(ctx, r.desired)
	res.Reports, res.Err = reps, err
	for _, rep := range res.Reports {
		for _, tr := range rep.Tables {
			res.Changed = res.Changed || tr.Written
		}
	}
	if ctx.Err() != nil {
		return res, nil
	}
	for _, e := range evs {
		if e.Kind == Rollback && res.Err == nil {
			r.log.Warn("rules-file change rolled back for lack of confirmation: the previous rules are in force until the file changes again", "changes", res.Changes())
			r.cfg.Guard.Done()
			break
		}
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

// guardChange takes newly loaded desired states in: held off when they
// are the content rolled back for lack of confirmation; opening a
// confirm window (Config.Guard) when they change what is in force.
// An error means they are not taken (logged).
func (r *Reconciler) guardChange(ctx context.Context, ds []*policy.Desired, res *Result) error {
	fp := fingerprint(ds)
	if r.refused != "" {
		if fp == r.refused {
			r.log.Warn("the rules files still hold the change rolled back for lack of confirmation; the previous rules stay in force until the file changes again", "why", res.Reasons())
			return nil
		}
		r.refused = ""
	}
	if r.cfg.Guard != nil && r.desired != nil && r.pending == nil && fp != fingerprint(r.desired) {
		deadline, err := r.cfg.Guard.Begin(ctx, ds)
		if err != nil {
			res.Err = err
			r.log.Error("rules-file change not applied: cannot keep the previous rules for its confirm window", "why", res.Reasons(), "err", err)
			r.report(*res)
			return err
		}
		r.pending, r.deadline = r.desired, deadline
		r.log.Warn("rules-file change applied for confirmation: run 'hostwall confirm' before the deadline, or it is rolled back", "deadline", deadline.Format(time.TimeOnly))
	}
	r.desired = ds
	return nil
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
