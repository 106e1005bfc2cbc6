package watch

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
)

// fake is a kernel and rules files the reconciler drives: drift says
// whether the next apply has something to write.
type fake struct {
	mu      sync.Mutex
	loads   int
	applies int
	writes  int
	drift   bool
	loadErr error
	events  chan Event
}

func (f *fake) load(context.Context) ([]*policy.Desired, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads++
	if f.loadErr != nil {
		return nil, f.loadErr
	}
	return []*policy.Desired{{Family: xtables.IPv4}}, nil
}

func (f *fake) apply(context.Context, []*policy.Desired) ([]*engine.Report, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applies++
	written := f.drift || f.applies == 1
	if written {
		f.writes++
	}
	f.drift = false
	return []*engine.Report{{Family: xtables.IPv4, Tables: []*engine.TableReport{{Table: "filter", Written: written, Plan: &engine.Plan{Diff: []string{"+ -A INPUT -j FILTERS"}}}}}}, nil
}

func (f *fake) counts() (loads, applies, writes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loads, f.applies, f.writes
}

// kernelChange is another program undoing hostwall's hook.
func (f *fake) kernelChange() {
	f.mu.Lock()
	f.drift = true
	f.mu.Unlock()
	f.events <- Event{Kind: Kernel, What: "IPv4 filter INPUT: delete rule by iptables (pid 1)"}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(t *testing.T, f *fake, lim Limits) (*syncBuf, *atomic.Int64, func()) {
	t.Helper()
	f.events = make(chan Event)
	var logs syncBuf
	var results atomic.Int64
	r := New(Config{
		Load: f.load, Apply: f.apply,
		Sources: []Source{SourceFunc(func(ctx context.Context, out chan<- Event) error {
			for {
				select {
				case <-ctx.Done():
					return nil
				case e := <-f.events:
					out <- e
				}
			}
		})},
		Log:         slog.New(slog.NewTextHandler(&logs, nil)),
		OnReconcile: func(Result) { results.Add(1) },
		Limits:      lim,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	return &logs, &results, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStartFilesKernel(t *testing.T) {
	f := &fake{}
	logs, _, stop := start(t, f, Limits{})
	defer stop()
	eventually(t, "first apply", func() bool { _, a, _ := f.counts(); return a == 1 })
	// A burst of file events is one reload and one apply.
	for i := 0; i < 10; i++ {
		f.events <- Event{Kind: Files, What: "rules.v4: rename"}
	}
	eventually(t, "reload", func() bool { l, a, _ := f.counts(); return l == 2 && a == 2 })
	time.Sleep(300 * time.Millisecond)
	if l, a, _ := f.counts(); l != 2 || a != 2 {
		t.Errorf("burst of file events: %d loads, %d applies, want 2 and 2", l, a)
	}
	// A kernel change applies without reloading, and is a repair.
	f.kernelChange()
	eventually(t, "repair", func() bool { _, _, w := f.counts(); return w == 2 })
	if l, _, _ := f.counts(); l != 2 {
		t.Errorf("kernel change reloaded the files")
	}
	eventually(t, "log", func() bool { return strings.Contains(logs.String(), "repair=true") })
	if !strings.Contains(logs.String(), "delete rule by iptables") || !strings.Contains(logs.String(), "+ -A INPUT -j FILTERS") {
		t.Errorf("log does not say what and why:\n%s", logs)
	}
	// SIGHUP reloads.
	f.events <- Event{Kind: Signal, What: "SIGHUP"}
	eventually(t, "SIGHUP reload", func() bool { l, _, _ := f.counts(); return l == 3 })
}

// TestConflictBounded: another program undoing the hook every 10 ms for
// 1.5 s gets a bounded number of repairs, a conflict in the log, and
// the hook back after it stops.
func TestConflictBounded(t *testing.T) {
	f := &fake{}
	lim := Limits{Debounce: 5 * time.Millisecond, Threshold: 3, Window: time.Second, Min: 100 * time.Millisecond, Max: 400 * time.Millisecond}
	logs, _, stop := start(t, f, lim)
	defer stop()
	eventually(t, "first apply", func() bool { _, a, _ := f.counts(); return a == 1 })
	end := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(end) {
		f.kernelChange()
		time.Sleep(10 * time.Millisecond)
	}
	_, _, w := f.counts()
	repairs := w - 1
	// 3 before the conflict, then at most one per back-off: 100, 200,
	// 400, 400… ms in 1.5 s.
	if repairs > 10 {
		t.Errorf("%d repairs in 1.5 s of conflict, want at most 10", repairs)
	}
	if !strings.Contains(logs.String(), "conflict") {
		t.Errorf("no conflict logged:\n%s", logs)
	}
	// After the other program stops, the last change is repaired.
	eventually(t, "recovery", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return !f.drift
	})
	t.Logf("%d repairs in 1.5 s", repairs)
}

func TestLoadErrorKeepsLastGood(t *testing.T) {
	f := &fake{}
	logs, _, stop := start(t, f, Limits{FileDebounce: time.Millisecond})
	defer stop()
	eventually(t, "first apply", func() bool { _, a, _ := f.counts(); return a == 1 })
	f.mu.Lock()
	f.loadErr = errors.New("rules.v4:3:1: bad rule")
	f.mu.Unlock()
	f.events <- Event{Kind: Files, What: "rules.v4: write"}
	eventually(t, "failed load logged", func() bool { return strings.Contains(logs.String(), "bad rule") })
	// Still repairs from the last good desired state.
	f.kernelChange()
	eventually(t, "repair", func() bool { _, _, w := f.counts(); return w == 2 })
}

func TestFirstLoadErrorEndsRun(t *testing.T) {
	f := &fake{loadErr: errors.New("no such file")}
	r := New(Config{Load: f.load, Apply: f.apply})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Run(ctx); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("Run = %v", err)
	}
}

func TestLoopbackDefault(t *testing.T) {
	for in, want := range map[string]string{"9101": "127.0.0.1:9101", ":9101": "127.0.0.1:9101", "0.0.0.0:9101": "0.0.0.0:9101", "[::1]:1": "[::1]:1"} {
		if got := LoopbackDefault(in); got != want {
			t.Errorf("LoopbackDefault(%q) = %q, want %q", in, got, want)
		}
	}
}
