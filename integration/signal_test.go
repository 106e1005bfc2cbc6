package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hostwall/hostwall/integration/nstest"
)

// signalPolicy is a policy of both families with a large owned chain,
// so that an apply takes long enough to be interrupted anywhere in it;
// A and B differ in every owned rule.
func signalPolicy(name string, fam4 bool, rules int) string {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FILTERS - [0:0]\n:DOCKER-USER - [0:0]\n-A INPUT -j FILTERS\n")
	for i := 0; i < rules; i++ {
		src := fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)
		if !fam4 {
			src = fmt.Sprintf("2001:db8:%x:%x::/64", i/256, i%256)
		}
		fmt.Fprintf(&b, "-A FILTERS -s %s -p tcp -m tcp --dport %d -m comment --comment \"policy %s rule %d\" -j ACCEPT\n", src, 1024+i%60000, name, i)
	}
	b.WriteString("-A FILTERS -j REJECT\nCOMMIT\n")
	return b.String()
}

// signalRun is one apply sent a signal after a delay.
type signalRun struct {
	delay    time.Duration
	code     int  // exit status; -1 when the signal itself ended the process
	signaled bool // ended by the signal (before hostwall could catch it)
	stderr   string
	elapsed  time.Duration
}

func applySignalled(t *testing.T, ns, backend, v4, v6 string, sig syscall.Signal, delay time.Duration) signalRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, nstest.Bin, "apply", "--backend", backend, "-4", v4, "-6", v6)
	cmd.Env = append(os.Environ(), "XTABLES_LOCKFILE="+filepath.Join(os.TempDir(), "hwtest-"+ns+".lock"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if delay >= 0 {
		time.Sleep(delay - time.Since(start))
		// ip execs hostwall in its place: one PID throughout.
		if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Fatal(err)
		}
	}
	err := cmd.Wait()
	run := signalRun{delay: delay, stderr: stderr.String(), elapsed: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled():
		run.code, run.signaled = -1, true
	case errors.As(err, &ee):
		run.code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return run
}

// TestApplySignals: SIGINT and SIGTERM sent to apply -4 -6 of two
// 1000-rule policies at moments spread over its run, on both backends.
// Every outcome is one of two: hostwall stopped before writing, exited
// 130 (SIGINT) or 143 (SIGTERM), said that nothing was written, and
// both families hold the old policy; or it finished, exited 0, and both
// hold the new one. Never one family of each, never "context canceled".
func TestApplySignals(t *testing.T) {
	nstest.Require(t)
	const rules = 1000
	signals := knob(t, "HOSTWALL_TEST_SIGNALS", 30)
	for _, backend := range []string{"legacy", "nft"} {
		t.Run(backend, func(t *testing.T) {
			save4, save6 := "iptables-legacy-save", "ip6tables-legacy-save"
			if backend == "nft" {
				requireNft(t)
				save4, save6 = "iptables-nft-save", "ip6tables-nft-save"
			}
			ns := nstest.Netns(t)
			dir := t.TempDir()
			var pol [2][2]string // [policy][family]
			for p, name := range []string{"A", "B"} {
				for f, fam4 := range []bool{true, false} {
					pol[p][f] = filepath.Join(dir, fmt.Sprintf("%s.v%d", name, 4+2*f))
					if err := os.WriteFile(pol[p][f], []byte(signalPolicy(name, fam4, rules)), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			state := func() string {
				return nstest.StripComments(nstest.Run(t, ns, nil, save4, "-t", "filter")) + nstest.StripComments(nstest.Run(t, ns, nil, save6, "-t", "filter"))
			}
			// The two states, and the run's duration.
			var want [2]string
			var took []time.Duration
			for i := 0; i < 6; i++ {
				p := i % 2
				run := applySignalled(t, ns, backend, pol[p][0], pol[p][1], 0, -1)
				if run.code != 0 {
					t.Fatalf("apply %d: exit %d\n%s", p, run.code, run.stderr)
				}
				if s := state(); want[p] == "" {
					want[p] = s
				} else if s != want[p] {
					t.Fatalf("apply %d twice gave different tables", p)
				}
				if i >= 2 {
					took = append(took, run.elapsed)
				}
			}
			if want[0] == want[1] || !strings.Contains(want[1], fmt.Sprintf("policy B rule %d", rules-1)) {
				t.Fatal("the two policies give the same tables")
			}
			slices.Sort(took)
			median := took[len(took)/2]
			t.Logf("unsignalled apply of 2 × %d rules: median %v", rules, median.Round(time.Millisecond))

			seed := uint64(time.Now().UnixNano())
			rng := rand.New(rand.NewPCG(seed, 0))
			// A quarter past the median: the part of a legacy apply
			// after its first write (replace, counters, GET_INFO) is
			// short, and a loaded machine stretches the signalled runs.
			span := median + median/4
			cur := 0 // the calibration ended with policy 1
			counts := map[string]int{}
			signal := func(sig syscall.Signal, delay time.Duration) {
				run := applySignalled(t, ns, backend, pol[cur][0], pol[cur][1], sig, delay)
				got := state()
				old, isNew := got == want[1-cur], got == want[cur]
				switch {
				case !old && !isNew:
					t.Fatalf("%v after %v: the tables are neither the old policy nor the new one in both families (seed %d):\n%s", sig, delay, seed, run.stderr)
				case strings.Contains(run.stderr, "context canceled"):
					t.Errorf("%v after %v: %q", sig, delay, run.stderr)
				case run.signaled:
					if !old {
						t.Fatalf("%v after %v ended hostwall, yet the new tables are in place", sig, delay)
					}
					counts["ended by the signal before hostwall caught it (old tables)"]++
				case run.code == 128+int(sig):
					if !old || !strings.Contains(run.stderr, "stopped before writing (interrupted by "+map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[sig]+"): nothing was written") {
						t.Fatalf("%v after %v: exit %d, new tables %v:\n%s", sig, delay, run.code, isNew, run.stderr)
					}
					counts[fmt.Sprintf("stopped before writing, exit %d (old tables)", run.code)]++
				case run.code == 0:
					if !isNew {
						t.Fatalf("%v after %v: exit 0 but the old tables are in place:\n%s", sig, delay, run.stderr)
					}
					counts["finished, exit 0 (new tables)"]++
				default:
					t.Fatalf("%v after %v: exit %d:\n%s", sig, delay, run.code, run.stderr)
				}
				if isNew {
					cur = 1 - cur
				}
			}
			for i := 0; i < signals; i++ {
				sig := syscall.SIGINT
				if i%2 == 1 {
					sig = syscall.SIGTERM
				}
				signal(sig, time.Duration((float64(i)+rng.Float64())/float64(signals)*float64(span)))
			}
			// Signalled runs can be slower than the calibration (an
			// emulated guest, a loaded host): if none got past its write,
			// a few later signals, up to span + 4 medians.
			for k := 1; k <= 8 && counts["finished, exit 0 (new tables)"] == 0; k++ {
				signal(syscall.SIGTERM, span+time.Duration(k)*median/2)
			}
			t.Logf("%d signals over %v (seed %d):", signals, span.Round(time.Millisecond), seed)
			for k, n := range counts {
				t.Logf("  %3d %s", n, k)
			}
			if counts["finished, exit 0 (new tables)"] == 0 || counts["stopped before writing, exit 130 (old tables)"]+counts["stopped before writing, exit 143 (old tables)"] == 0 {
				t.Errorf("the signals did not land on both sides of the write")
			}
		})
	}
}
