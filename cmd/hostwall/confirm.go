package main

// The lockout guard: apply --confirm DURATION records the owned chains
// and hooks as they are, applies, and then stays as the guard: unless
// "hostwall confirm" runs (or "yes" is typed at its prompt) within
// DURATION, it puts the recorded chains and hooks back. The guard is the
// apply process itself (hostwall never starts another program): it
// outlives the terminal — a hangup (the SSH connection the new rules
// cut) and a closed output are ignored — and SIGINT, SIGTERM or an
// answer other than yes put the previous rules back at once. Only
// SIGKILL leaves the new rules unguarded; 'hostwall confirm' then says
// the guard is gone.
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

// errPutBack ends an apply --confirm whose rules were put back.
var errPutBack = errors.New("the previous owned chains and hooks are back")

// guard is a pending confirmation, started by startGuard; this process
// is its guard.
type guard struct {
	host   *engine.Host // the apply's, which the rollback writes through
	state  *guardState
	window time.Duration
	logf   *os.File
	log    *slog.Logger
	usr1   chan os.Signal
}

// startGuard records the previous owned chains and hooks of ds, before
// anything is written, and makes this process the guard: hangups and
// broken pipes no longer stop it. nil when window is 0.
func startGuard(ctx context.Context, h *engine.Host, ds []*policy.Desired, window time.Duration, dryRun bool) (*guard, error) {
	if window <= 0 {
		return nil, nil
	}
	if dryRun {
		return nil, usagef("--confirm and --dry-run exclude each other")
	}
	if err := otherGuardPending(); err != nil {
		return nil, err
	}
	st, err := recordPrevious(ctx, h, ds)
	if err != nil {
		return nil, err
	}
	st.Deadline, st.GuardPID = time.Now().Add(window), os.Getpid()
	logf, err := os.OpenFile(guardLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open the guard's log: %w", err)
	}
	if err := writeGuard(guardFile(), st); err != nil {
		logf.Close()
		return nil, fmt.Errorf("write the guard's state: %w", err)
	}
	// The admin's terminal may go away with the connection the new rules
	// cut: its hangup must not end the guard, nor writes to it fail it.
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	g := &guard{host: h, state: st, window: window, logf: logf, usr1: make(chan os.Signal, 1),
		log: slog.New(slog.NewTextHandler(logf, nil)).With("pid", os.Getpid())}
	signal.Notify(g.usr1, syscall.SIGUSR1)
	g.log.Info("guard waiting", "deadline", st.Deadline)
	return g, nil
}

// otherGuardPending refuses a second confirm window while another
// process's guard waits (this process's own, a watcher's earlier one, is
// replaced).
func otherGuardPending() error {
	if s, err := readGuard(guardFile()); err == nil && alive(s.GuardPID) && s.GuardPID != os.Getpid() {
		return fmt.Errorf("a confirmation is pending already (guard pid %d, until %s): run 'hostwall confirm' first", s.GuardPID, s.Deadline.Format(time.TimeOnly))
	}
	return nil
}

// recordPrevious is a guard's state without its deadline and pid: the
// owned chains and hooks of ds as the kernel has them now.
func recordPrevious(ctx context.Context, h *engine.Host, ds []*policy.Desired) (*guardState, error) {
	st := &guardState{Backend: string(h.Backend)}
	for _, d := range ds {
		prev, err := previousRules(ctx, h, d)
		if err != nil {
			return nil, fmt.Errorf("record the rules to roll back to: %w", err)
		}
		st.Families = append(st.Families, prev)
	}
	return st, nil
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

// wait ends apply --confirm: it waits for the confirmation — "yes"
// typed at the prompt on a terminal, or 'hostwall confirm' from anywhere
// — until the deadline, and puts the previous rules back unless it came.
// A signal (ctx) or another answer puts them back at once.
func (g *guard) wait(ctx context.Context, stdout io.Writer) error {
	defer g.close()
	fmt.Fprintf(stdout, "hostwall: the new rules stay only if confirmed by %s (%v): type yes here or run 'hostwall confirm'; otherwise this process (pid %d) puts the previous owned chains and hooks back (a hangup does not stop it; Ctrl-C or SIGTERM puts them back now)\n",
		g.state.Deadline.Format(time.TimeOnly), g.window, g.state.GuardPID)
	answer := make(chan string, 1)
	if _, err := unix.IoctlGetTermios(int(os.Stdin.Fd()), unix.TCGETS); err == nil {
		fmt.Fprint(stdout, "Type yes to keep them: ")
		go func() {
			// A hung-up terminal reads as an error: no answer, the
			// deadline decides.
			if line, err := bufio.NewReader(os.Stdin).ReadString('\n'); err == nil {
				answer <- strings.TrimSpace(line)
			}
		}()
	}
	deadline := time.NewTimer(time.Until(g.state.Deadline))
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case a := <-answer:
			if a == "yes" {
				g.log.Info("confirmed at the prompt; the new rules stay")
				return confirm(stdout)
			}
			return g.expire(ctx, stdout, fmt.Sprintf("not confirmed (answer %q)", a))
		case <-ctx.Done():
			fmt.Fprintln(stdout)
			return g.expire(ctx, stdout, context.Cause(ctx).Error())
		case <-deadline.C:
			fmt.Fprintln(stdout)
			return g.expire(ctx, stdout, "not confirmed in time")
		case <-g.usr1:
		case <-tick.C:
		}
		if _, err := os.Stat(guardFile()); errors.Is(err, fs.ErrNotExist) {
			g.log.Info("confirmed; the new rules stay")
			fmt.Fprintln(stdout, "\nhostwall: confirmed; the new rules stay")
			return nil
		}
	}
}

// expire claims the rollback (a confirm that took the state file first
// wins) and puts the previous rules back, whatever ctx says.
func (g *guard) expire(ctx context.Context, stdout io.Writer, why string) error {
	if err := os.Rename(guardFile(), rollbackFile()); err != nil {
		g.log.Info("confirmed just before the rollback; the new rules stay", "err", err)
		fmt.Fprintln(stdout, "hostwall: confirmed; the new rules stay")
		return nil
	}
	defer os.Remove(rollbackFile())
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := rollback(rctx, g.host, g.state); err != nil {
		g.log.Error("roll back failed", "why", why, "err", err)
		return fmt.Errorf("%s, and putting the previous owned chains and hooks back failed: %w", why, err)
	}
	g.log.Info(why + ": " + errPutBack.Error())
	return fmt.Errorf("%s: %w", why, errPutBack)
}

// abandon ends a guard whose apply failed: the engine left the kernel
// as it was, so there is nothing to guard.
func (g *guard) abandon() {
	os.Remove(guardFile())
	g.log.Info("apply failed; nothing to guard")
	g.close()
}

func (g *guard) close() {
	signal.Stop(g.usr1)
	g.logf.Close()
}

func runConfirm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("confirm", "",
		"Keep the rules of a pending 'hostwall apply --confirm DURATION' (or of\n"+
			"'hostwall watch --confirm'): tell its guard not to put the previous\n"+
			"owned chains and hooks back. Fails when nothing is pending or the\n"+
			"guard already rolled back.", stdout)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
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
	// fails, and it ends without touching anything.
	if err := os.Remove(guardFile()); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("too late: the guard is rolling back")
		}
		return err
	}
	switch {
	case s.GuardPID == os.Getpid():
	case alive(s.GuardPID):
		syscall.Kill(s.GuardPID, syscall.SIGUSR1)
	default:
		fmt.Fprintf(stdout, "hostwall: the guard (pid %d) had ended before its deadline without rolling back (killed?)\n", s.GuardPID)
	}
	fmt.Fprintln(stdout, "hostwall: confirmed; the new rules stay")
	return nil
}

// rollback applies the recorded previous owned chains and hooks through
// h, the host the apply wrote to.
func rollback(ctx context.Context, h *engine.Host, st *guardState) error {
	var ds []*policy.Desired
	for _, p := range st.Families {
		fam := familyNamed(p.Family)
		d, err := policy.ReadDesired("previous "+p.Family+" rules", []byte(p.Rules),
			policy.DesiredOptions{Family: fam, Chains: p.Owned, Supported: h.Supported(ctx, fam)})
		if err != nil {
			return err
		}
		ds = append(ds, d)
	}
	_, err := h.Apply(ctx, ds, engine.Options{LockWait: time.Minute})
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
	if err := otherGuardPending(); err != nil {
		return time.Time{}, err
	}
	st, err := g.record(ctx, next)
	if err != nil {
		return time.Time{}, err
	}
	st.Deadline, st.GuardPID = time.Now().Add(g.window), os.Getpid()
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
