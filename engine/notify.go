package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/nft"
)

// Watcher is the optional interface of a Backend that can tell when the
// kernel's tables may have moved away from what was applied: nf_tables
// by its change events, x_tables by a cheap periodic probe. Backend
// itself stays one method; Host.Watch finds this one by type assertion.
type Watcher interface {
	// Watch sends a Change on out whenever something in scope may have
	// changed, until ctx is done or it fails.
	Watch(ctx context.Context, scope Scope, out chan<- Change) error
}

// Scope is what a watch looks at: per model table ("filter"), the
// chains whose change matters (owned chains, chains holding hooks,
// DOCKER-USER), and the families.
type Scope struct {
	Families []*xtables.Family
	Chains   map[string][]string
	// Interval is the x_tables probe interval (default 2 s); every
	// FullEvery-th probe (default 30) reads the tables whatever GET_INFO
	// says, since a change that keeps a table's size and entry count
	// leaves GET_INFO as it was.
	Interval  time.Duration
	FullEvery int
}

// ScopeOf is the scope of a set of desired states.
func ScopeOf(ds []*policy.Desired) Scope {
	s := Scope{Chains: map[string][]string{}}
	add := func(table, chain string) {
		if !slices.Contains(s.Chains[table], chain) {
			s.Chains[table] = append(s.Chains[table], chain)
		}
	}
	for _, d := range ds {
		if !slices.Contains(s.Families, d.Family) {
			s.Families = append(s.Families, d.Family)
		}
		for _, dt := range d.Tables {
			for _, o := range dt.Owned {
				add(dt.Table, o.Name)
			}
			for _, h := range dt.Hooks {
				add(dt.Table, h.Chain)
			}
			if dt.Table == "filter" {
				add(dt.Table, "DOCKER-USER")
			}
		}
	}
	return s
}

// Change says that the kernel may differ from what was applied.
type Change struct {
	// Backend is where the change was seen.
	Backend BackendKind
	// What describes it: "IPv4 filter INPUT: delete rule by
	// iptables-nft (pid 42)".
	What string
	// Full means events were lost: anything may have changed.
	Full bool
}

// Watch runs the backend's Watcher until ctx is done. It opens its own
// sockets, so it may run beside Apply.
func (h *Host) Watch(ctx context.Context, scope Scope, out chan<- Change) error {
	var ws []Watcher
	switch h.Backend {
	case NFTBackend:
		ws = append(ws, &NFT{})
	case NativeBackend:
		ws = append(ws, &NFT{form: nativeForm{}})
	default:
		for _, f := range scope.Families {
			c, err := xtables.Open(f)
			if err != nil {
				return err
			}
			defer c.Close()
			ws = append(ws, &legacyWatch{Legacy: &Legacy{Conn: c}, own: &h.own})
		}
	}
	errs := make(chan error, len(ws))
	for _, w := range ws {
		go func() { errs <- w.Watch(ctx, scope, out) }()
	}
	var err error
	for range ws {
		err = errors.Join(err, <-errs)
	}
	return err
}

// Watch implements Watcher with nf_tables' change events (NFNLGRP_NFTABLES):
// a commit that touches a table or chain of the scope, made by another
// process, is one Change; hostwall's own commits are recognised by the
// process id the kernel puts in each commit's new generation.
func (n *NFT) Watch(ctx context.Context, scope Scope, out chan<- Change) error {
	m, err := nft.Listen(nft.Options{})
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { m.Close() })
	defer func() {
		if stop() {
			m.Close()
		}
	}()
	kind := NFTBackend
	if n.form != nil {
		kind = NativeBackend
	}
	self := uint32(os.Getpid())
	var touched []string // what the commit in progress changed in scope
	for {
		evs, err := m.Receive()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, nft.ErrOverrun) {
			touched = nil
			if !send(ctx, out, Change{Backend: kind, What: "nf_tables events lost (ENOBUFS): reading everything", Full: true}) {
				return nil
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("nf_tables events: %w", err)
		}
		for _, ev := range evs {
			if ev.Type == unix.NFT_MSG_NEWGEN {
				if len(touched) > 0 && !ownThread(self, ev.PID) {
					what := strings.Join(firstN(touched, 4), "; ") + fmt.Sprintf(" by %s (pid %d)", ev.Proc, ev.PID)
					if !send(ctx, out, Change{Backend: kind, What: what}) {
						return nil
					}
				}
				touched = nil
				continue
			}
			if d, ok := n.inScope(scope, ev); ok && !slices.Contains(touched, d) {
				touched = append(touched, d)
			}
		}
	}
}

// inScope reports whether an event touches the scope, and describes it.
func (n *NFT) inScope(scope Scope, ev nft.Event) (string, bool) {
	var fam *xtables.Family
	for _, f := range scope.Families {
		if nft.FamilyOf(f) == ev.Family {
			fam = f
		}
	}
	if fam == nil {
		return "", false
	}
	for model, chains := range scope.Chains {
		if ev.Table != n.fm().kernelTable(model) {
			continue
		}
		switch ev.Type {
		case unix.NFT_MSG_NEWTABLE, unix.NFT_MSG_DELTABLE:
			return fmt.Sprintf("%s %s: %s", fam, ev.Table, ev.Verb()), true
		case unix.NFT_MSG_NEWCHAIN, unix.NFT_MSG_DELCHAIN, unix.NFT_MSG_NEWRULE, unix.NFT_MSG_DELRULE:
			if slices.Contains(chains, ev.Chain) {
				return fmt.Sprintf("%s %s %s: %s", fam, ev.Table, ev.Chain, ev.Verb()), true
			}
		}
	}
	return "", false
}

func send(ctx context.Context, out chan<- Change, c Change) bool {
	select {
	case out <- c:
		return true
	case <-ctx.Done():
		return false
	}
}

// Watch implements Watcher for x_tables, which sends no events: every
// scope.Interval it reads the tables' GET_INFO (entry count, size, hook
// offsets: a few hundred bytes, no lock) and reports a Change when it
// moved; the tables themselves are read only by the reconcile that
// follows. Only tables /proc lists are probed: asking for another would
// create it.
func (l *Legacy) Watch(ctx context.Context, scope Scope, out chan<- Change) error {
	return (&legacyWatch{Legacy: l}).Watch(ctx, scope, out)
}

// ownWrites is the GET_INFO of the tables hostwall itself last wrote,
// for the x_tables probe: without it, a change that puts a table back
// as it was before hostwall's write (flush, repair, flush again) would
// look like no change at all.
type ownWrites struct {
	mu   sync.Mutex
	seq  uint64
	info map[string]xtables.Info // family + " " + table
}

// NoteWritten records, after an Apply, the GET_INFO of every x_tables
// table it wrote, so that a watch on this host takes hostwall's own
// write as the new baseline. A no-op on nf_tables, whose watch tells
// hostwall's commits by process.
func (h *Host) NoteWritten(reps []*Report) {
	if h.Backend != LegacyBackend {
		return
	}
	h.own.mu.Lock()
	defer h.own.mu.Unlock()
	for _, rep := range reps {
		c := h.legacy[rep.Family]
		for _, tr := range rep.Tables {
			if !tr.Written || c == nil {
				continue
			}
			if info, err := c.Info(tr.Table); err == nil {
				if h.own.info == nil {
					h.own.info = map[string]xtables.Info{}
				}
				h.own.info[rep.Family.String()+" "+tr.Table] = info
				h.own.seq++
			}
		}
	}
}

func (o *ownWrites) since(seq uint64) (map[string]xtables.Info, uint64) {
	if o == nil {
		return nil, seq
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seq == seq {
		return nil, seq
	}
	return maps.Clone(o.info), o.seq
}

type legacyWatch struct {
	*Legacy
	own *ownWrites
}

func (l *legacyWatch) Watch(ctx context.Context, scope Scope, out chan<- Change) error {
	interval := scope.Interval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	fullEvery := scope.FullEvery
	if fullEvery <= 0 {
		fullEvery = 30
	}
	fam := l.Conn.Family()
	var tables []string
	for t := range scope.Chains {
		tables = append(tables, t)
	}
	slices.Sort(tables)
	last := map[string]xtables.Info{}
	var ownSeq uint64
	probe := func(first bool) (string, error) {
		var own map[string]xtables.Info
		own, ownSeq = l.own.since(ownSeq)
		for t := range last {
			if info, ok := own[fam.String()+" "+t]; ok {
				last[t] = info // hostwall's own write is the baseline
			}
		}
		names, err := xtables.TableNames(fam)
		if err != nil {
			return "", err
		}
		var changed []string
		for _, t := range tables {
			prev, had := last[t]
			if !slices.Contains(names, t) {
				if had {
					delete(last, t)
					changed = append(changed, fmt.Sprintf("%s %s: table gone", fam, t))
				}
				continue
			}
			info, err := l.Conn.Info(t)
			if err != nil {
				return "", err
			}
			last[t] = info
			switch {
			case first:
			case !had:
				changed = append(changed, fmt.Sprintf("%s %s: table created", fam, t))
			case info != prev:
				changed = append(changed, fmt.Sprintf("%s %s: %d entries, %d bytes (was %d, %d)", fam, t, info.NumEntries, info.Size, prev.NumEntries, prev.Size))
			}
		}
		return strings.Join(changed, "; "), nil
	}
	if _, err := probe(true); err != nil {
		return err
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		what, err := probe(false)
		if err != nil {
			return fmt.Errorf("probe %s tables: %w", fam, err)
		}
		switch {
		case what != "":
			if !send(ctx, out, Change{Backend: LegacyBackend, What: what}) {
				return nil
			}
		case n%fullEvery == 0:
			if !send(ctx, out, Change{Backend: LegacyBackend, What: fmt.Sprintf("%s: periodic full check", fam), Full: true}) {
				return nil
			}
		}
	}
}

// ownThread reports whether a commit's process id is hostwall's own:
// the kernel records the committing thread's id, and Go commits from
// whichever thread runs the goroutine.
func ownThread(self, pid uint32) bool {
	if pid == self {
		return true
	}
	_, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", pid))
	return err == nil
}
