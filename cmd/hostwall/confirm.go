package main

// The lockout guard: apply --confirm DURATION records the owned chains
// and hooks as they are, starts a guard process that does not depend on
// the terminal (its own session, SIGHUP ignored, no terminal file
// descriptors), applies, and leaves the rest to the guard: unless
// "hostwall confirm" runs (or "yes" is typed at apply's prompt) within
// DURATION, the guard puts the recorded chains and hooks back.
//
// The state file ($HOSTWALL_RUN_DIR or /run/hostwall, guard.json) is
// written before the first change. Whoever renames it first wins: the
// confirm (guard.json → removed) or the guard at its deadline
// (guard.json → guard.rollback.json), so a late confirm is told it was
// too late rather than believing it kept the rules.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/engine/watch"
	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
)

// guardState is what the guard restores, and until when it waits.
type guardState struct {
	Backend  string          `json:"backend"`
	Deadline time.Time       `json:"deadline"`
	GuardPID int             `json:"guard_pid"`
	ApplyPID int             `json:"apply_pid"`
	Families []guardPrevious `json:"families"`
}

// guardPrevious is one family's owned chains and hooks before the
// apply, as a rules file.
type guardPrevious struct {
	Family string   `json:"family"` // "IPv4", "IPv6"
	Owned  []string `json:"owned"`
	Rules  string   `json:"rules"`
}

func guardFile() string    { return filepath.Join(watch.RunDir(), "guard.json") }
func rollbackFile() string { return filepath.Join(watch.RunDir(), "guard.rollback.json") }
func guardLog() string     { return filepath.Join(watch.RunDir(), "guard.log") }

// guard is a pending confirmation, started by startGuard.
type guard struct {
	state  *guardState
	window time.Duration
}

// startGuard records the previous owned chains and hooks of ds and
// starts the guard process, before anything is written. nil when
// window is 0.
func startGuard(ctx context.Context, h *engine.Host, ds []*policy.Desired, window time.Duration, dryRun bool) (*guard, error) {
	if window <= 0 {
		return nil, nil
	}
	if dryRun {
		return nil, usagef("--confirm and --dry-run exclude each other")
	}
	if s, err := readGuard(guardFile()); err == nil && alive(s.GuardPID) {
		return nil, fmt.Errorf("a confirmation is pending already (guard pid %d, until %s): run 'hostwall confirm' first", s.GuardPID, s.Deadline.Format(time.TimeOnly))
	}
	st := &guardState{Backend: string(h.Backend), Deadline: time.Now().Add(window), ApplyPID: os.Getpid()}
	for _, d := range ds {
		prev, err := previousRules(ctx, h, d)
		if err != nil {
			return nil, fmt.Errorf("record the rules to roll back to: %w", err)
		}
		st.Families = append(st.Families, prev)
	}
	if err := writeGuard(guardFile(), st); err != nil {
		return nil, fmt.Errorf("write the guard's state: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		os.Remove(guardFile())
		return nil, err
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		os.Remove(guardFile())
		return nil, err
	}
	defer null.Close()
	logf, err := os.OpenFile(guardLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		os.Remove(guardFile())
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(self, "confirm", "--guard", guardFile())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, logf, logf
	// Its own session: no controlling terminal, so a hangup of the
	// admin's terminal never reaches it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		os.Remove(guardFile())
		return nil, fmt.Errorf("start the guard: %w", err)
	}
	st.GuardPID = cmd.Process.Pid
	cmd.Process.Release()
	if err := writeGuard(guardFile(), st); err != nil {
		return nil, err
	}
	return &guard{state: st, window: window}, nil
}

// previousRules writes one family's owned chains and hooks, as the
// kernel has them, as a rules file.
func previousRules(ctx context.Context, h *engine.Host, d *policy.Desired) (guardPrevious, error) {
	p := guardPrevious{Family: d.Family.String()}
	var b strings.Builder
	for _, dt := range d.Tables {
		var decl, rules []string
		for _, o := range dt.Owned {
			p.Owned = append(p.Owned, o.Name)
			decl = append(decl, ":"+o.Name+" - [0:0]")
		}
		t, err := h.ReadTable(ctx, d.Family, dt.Table)
		if err != nil && !errors.Is(err, engine.ErrNoTable) {
			return p, err
		}
		if t != nil {
			for _, c := range t.Chains {
				owned := dt.Owns(c.Name)
				for _, r := range c.Rules {
					if owned || r.Target.IsStandard() && dt.Owns(r.Target.Chain) {
						rules = append(rules, t.RuleText(c, r, false))
						if d := ":" + c.Name + " - [0:0]"; !owned && !c.Builtin() && !slices.Contains(decl, d) {
							decl = append(decl, d)
						}
					}
				}
			}
		}
		fmt.Fprintf(&b, "*%s\n%s\n", dt.Table, strings.Join(decl, "\n"))
		for _, r := range rules {
			b.WriteString(r + "\n")
		}
		b.WriteString("COMMIT\n")
	}
	p.Rules = b.String()
	return p, nil
}

// wait ends apply --confirm: on a terminal it asks for "yes" until the
// deadline; elsewhere it says how to confirm, and leaves it to the guard.
func (g *guard) wait(ctx context.Context, stdout io.Writer) error {
	fmt.Fprintf(stdout, "hostwall: the new rules stay only if confirmed by %s (%v): run 'hostwall confirm'; otherwise the guard (pid %d) puts the previous owned chains and hooks back\n",
		g.state.Deadline.Format(time.TimeOnly), g.window, g.state.GuardPID)
	if _, err := unix.IoctlGetTermios(int(os.Stdin.Fd()), unix.TCGETS); err != nil {
		return nil // not a terminal
	}
	fmt.Fprint(stdout, "Type yes to keep them: ")
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		answer <- strings.TrimSpace(line)
	}()
	select {
	case a := <-answer:
		if a != "yes" {
			fmt.Fprintln(stdout, "not confirmed: the guard rolls back at the deadline")
			return nil
		}
		return confirm(stdout)
	case <-time.After(time.Until(g.state.Deadline)):
		fmt.Fprintln(stdout, "\nnot confirmed in time: the guard rolls back")
		return nil
	case <-ctx.Done():
		return nil
	}
}

func runConfirm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("confirm", "",
		"Keep the rules of a pending 'hostwall apply --confirm DURATION': stop its\n"+
			"guard before it puts the previous owned chains and hooks back. Fails\n"+
			"when nothing is pending or the guard already rolled back.", stdout)
	guardPath := fs.String("guard", "", "")
	fs.MarkHidden("guard")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *guardPath != "" {
		return runGuard(ctx, *guardPath)
	}
	return confirm(stdout)
}

// confirm takes the state file away from the guard.
func confirm(stdout io.Writer) error {
	s, err := readGuard(guardFile())
	if errors.Is(err, fs.ErrNotExist) {
		if _, rerr := os.Stat(rollbackFile()); rerr == nil {
			return fmt.Errorf("too late: the guard is rolling back")
		}
		return fmt.Errorf("nothing to confirm (no %s)", guardFile())
	}
	if err != nil {
		return err
	}
	// Removing the file is the confirmation: the guard's rename then
	// fails, and it exits without touching anything.
	if err := os.Remove(guardFile()); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("too late: the guard is rolling back")
		}
		return err
	}
	if s.GuardPID > 0 {
		syscall.Kill(s.GuardPID, syscall.SIGUSR1)
	}
	fmt.Fprintln(stdout, "hostwall: confirmed; the new rules stay")
	return nil
}

// runGuard is the guard process: it waits for the deadline, and rolls
// back unless the state file was taken away (confirmed) first.
func runGuard(ctx context.Context, path string) error {
	// The terminal's hangup, and the SIGTERM/SIGINT of whoever killed the
	// apply's process group, must not stop it.
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE)
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	st, err := readGuard(path)
	if err != nil {
		return err
	}
	log.Info("guard waiting", "deadline", st.Deadline, "apply_pid", st.ApplyPID)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(st.Deadline) {
		select {
		case <-usr1:
		case <-tick.C:
		}
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			log.Info("confirmed; the new rules stay")
			return nil
		}
	}
	if err := os.Rename(path, rollbackFile()); err != nil {
		log.Info("confirmed at the deadline; the new rules stay", "err", err)
		return nil
	}
	defer os.Remove(rollbackFile())
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := rollback(ctx, st); err != nil {
		log.Error("roll back failed", "err", err)
		return err
	}
	log.Info("not confirmed in time: the previous owned chains and hooks are back")
	return nil
}

// rollback applies the recorded previous owned chains and hooks.
func rollback(ctx context.Context, st *guardState) error {
	kind, err := engine.ParseBackend(st.Backend)
	if err != nil {
		return err
	}
	var fams []*xtables.Family
	for _, p := range st.Families {
		fams = append(fams, familyNamed(p.Family))
	}
	h, err := engine.Open(ctx, engine.OpenOptions{Backend: kind, Families: fams})
	if err != nil {
		return err
	}
	defer h.Close()
	var ds []*policy.Desired
	for i, p := range st.Families {
		d, err := policy.ReadDesired("previous "+p.Family+" rules", []byte(p.Rules),
			policy.DesiredOptions{Family: fams[i], Chains: p.Owned, Supported: h.Supported(ctx, fams[i])})
		if err != nil {
			return err
		}
		ds = append(ds, d)
	}
	_, err = h.Apply(ctx, ds, engine.Options{LockWait: time.Minute})
	return err
}

func familyNamed(name string) *xtables.Family {
	if name == xtables.IPv6.String() {
		return xtables.IPv6
	}
	return xtables.IPv4
}

func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) != syscall.ESRCH }

func readGuard(path string) (*guardState, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s guardState
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

func writeGuard(path string, s *guardState) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return watch.WriteFileAtomic(path, data)
}

// watchGuard is watch --confirm's confirm window: the watcher is its own
// guard. The state file is the one apply --confirm writes (guard.json,
// with the watcher's pid as the guard's), so 'hostwall confirm' works
// the same; at the deadline the watcher claims the rollback by the same
// rename, and puts the previous rules back itself.
type watchGuard struct {
	window time.Duration
	record func(context.Context, []*policy.Desired) (*guardState, error)
	wake   chan struct{}
}

func newWatchGuard(window time.Duration, usr1 <-chan os.Signal, record func(context.Context, []*policy.Desired) (*guardState, error)) *watchGuard {
	g := &watchGuard{window: window, record: record, wake: make(chan struct{}, 1)}
	go func() {
		for range usr1 {
			select {
			case g.wake <- struct{}{}:
			default:
			}
		}
	}()
	return g
}

func (g *watchGuard) Begin(ctx context.Context, next []*policy.Desired) (time.Time, error) {
	if s, err := readGuard(guardFile()); err == nil && alive(s.GuardPID) && s.GuardPID != os.Getpid() {
		return time.Time{}, fmt.Errorf("a confirmation is pending already (guard pid %d, until %s): run 'hostwall confirm' first", s.GuardPID, s.Deadline.Format(time.TimeOnly))
	}
	st, err := g.record(ctx, next)
	if err != nil {
		return time.Time{}, err
	}
	st.Deadline, st.GuardPID, st.ApplyPID = time.Now().Add(g.window), os.Getpid(), os.Getpid()
	if err := writeGuard(guardFile(), st); err != nil {
		return time.Time{}, fmt.Errorf("write the guard's state: %w", err)
	}
	return st.Deadline, nil
}

func (g *watchGuard) Confirmed() bool {
	_, err := os.Stat(guardFile())
	return errors.Is(err, fs.ErrNotExist)
}

func (g *watchGuard) Expire() bool          { return os.Rename(guardFile(), rollbackFile()) == nil }
func (g *watchGuard) Done()                 { os.Remove(rollbackFile()) }
func (g *watchGuard) Wake() <-chan struct{} { return g.wake }
