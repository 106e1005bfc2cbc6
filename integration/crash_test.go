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
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/integration/nstest"
	"github.com/hostwall/hostwall/xtables"
)

// crashKills is how many times TestApplyCrashSafety kills hostwall apply;
// HOSTWALL_CRASH_KILLS overrides it (make vm-test: 50, each kill still in
// its own slice of the run and the kills still required on both sides of
// the replace).
const crashKills = 200

// crashBase is a filter table of about 10,000 foreign rules shaped like
// kube-proxy's and Docker's (comments, conntrack, many user chains), with
// the DOCKER-USER chain the policies hook into.
func crashBase() (text string, rules int) {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	b.WriteString(":DOCKER-USER - [0:0]\n:KUBE-SERVICES - [0:0]\n")
	const chains, perChain = 100, 99
	for c := 0; c < chains; c++ {
		fmt.Fprintf(&b, ":KUBE-SVC-%04d - [0:0]\n", c)
	}
	b.WriteString("-A INPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n")
	b.WriteString("-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -j RETURN\n")
	rules = 3
	for c := 0; c < chains; c++ {
		fmt.Fprintf(&b, "-A KUBE-SERVICES -d 10.96.%d.%d/32 -p tcp -m comment --comment \"ns%d/svc%d:http cluster IP\" -m tcp --dport 80 -j KUBE-SVC-%04d\n",
			c/250, c%250+1, c, c, c)
		rules++
		for r := 0; r < perChain; r++ {
			fmt.Fprintf(&b, "-A KUBE-SVC-%04d -s 10.%d.%d.%d/32 -p tcp -m comment --comment \"ns%d/svc%d endpoint %d\" -m tcp --dport %d -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT\n",
				c, 64+c/250, c%250, r+1, c, c, r, 1024+r)
			rules++
		}
	}
	b.WriteString("COMMIT\n")
	return b.String(), rules
}

// crashPolicy is a FILTERS policy; A and B differ in their rules, their
// rule count and their hooks, so every old and new state is distinct.
func crashPolicy(name string, ports int, dockerHook bool) string {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FILTERS - [0:0]\n:DOCKER-USER - [0:0]\n")
	b.WriteString("-A INPUT -j FILTERS\n")
	if dockerHook {
		b.WriteString("-A DOCKER-USER -i eth0 -j FILTERS\n")
	}
	b.WriteString("-A FILTERS -i lo -j ACCEPT\n-A FILTERS -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n")
	for i := 0; i < ports; i++ {
		fmt.Fprintf(&b, "-A FILTERS -p tcp -m tcp --dport %d -m comment --comment \"policy %s port %d\" -j ACCEPT\n", 2000+i, name, i)
	}
	b.WriteString("-A FILTERS -j REJECT\nCOMMIT\n")
	return b.String()
}

// crashRun is one hostwall apply, killed or not, timed from just before
// its start.
type crashRun struct {
	killed  bool          // SIGKILL found the process still running
	killAt  time.Duration // when the kill was sent; 0 when not sent
	swapAt  time.Duration // when the new table was first seen; -1 never
	elapsed time.Duration // until the process was reaped
}

// applyKilled runs hostwall apply of policy in ns and sends it SIGKILL
// after delay (never, when delay < 0). A goroutine polls the table's
// entry count (GET_INFO, which reads no rules and takes no lock) to see
// the moment the replace lands: the count is newEntries only after it.
func applyKilled(t *testing.T, ns, lockPath, policy string, conn *xtables.Conn, newEntries uint32, delay time.Duration) crashRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, nstest.Bin, "apply", "--backend", "legacy", "-4", policy)
	cmd.Env = append(os.Environ(), "XTABLES_LOCKFILE="+lockPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr

	var (
		wg      sync.WaitGroup
		swapped time.Time
		pollErr error
	)
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			info, err := conn.Info("filter")
			if err != nil {
				pollErr = err
				return
			}
			if info.NumEntries == newEntries {
				swapped = time.Now()
				return
			}
			// Poll gently: GET_INFO takes the mutex the replace takes
			// for every match it looks up, and there are 2 cores.
			time.Sleep(50 * time.Microsecond)
		}
	}()

	run := crashRun{swapAt: -1}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("start hostwall apply: %v", err)
	}
	if delay >= 0 {
		time.Sleep(delay - time.Since(start))
		run.killAt = time.Since(start)
		// The process started is ip, which executes hostwall in its
		// place: the same PID throughout.
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Fatalf("kill %d: %v", cmd.Process.Pid, err)
		}
	}
	err := cmd.Wait()
	run.elapsed = time.Since(start)
	close(stop)
	wg.Wait()
	if pollErr != nil {
		t.Fatalf("poll the filter table: %v", pollErr)
	}
	if !swapped.IsZero() {
		run.swapAt = swapped.Sub(start)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL:
		run.killed = true
	default:
		t.Fatalf("hostwall apply %s (kill after %v): %v\n%s", policy, delay, err, stderr.String())
	}
	return run
}

// lockFree reports whether nobody holds the xtables lock: a non-blocking
// exclusive flock succeeds (and is dropped at once).
func lockFree(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false
	}
	if err != nil {
		t.Fatalf("flock %s: %v", path, err)
	}
	return true
}

func saveText(t *testing.T, tbl *xtables.Table) string {
	t.Helper()
	var b strings.Builder
	if err := xtables.Save(&b, tbl, xtables.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestApplyCrashSafety: hostwall apply is killed with SIGKILL 200 times
// at moments spread over its run, switching a 10k-rule filter table
// between two policies. After every kill the table holds exactly the
// old rules or exactly the new ones (counters aside), and the xtables
// lock is free. It logs where the kills landed: before the replace (old
// table), during it (kill sent before the new table was seen, which the
// kernel completes anyway), after it (new table seen first), or after
// hostwall had already exited.
func TestApplyCrashSafety(t *testing.T) {
	nstest.Require(t)
	began := time.Now()
	kills := knob(t, "HOSTWALL_CRASH_KILLS", crashKills)
	ns := nstest.Netns(t)
	base, baseRules := crashBase()
	nstest.Run(t, ns, []byte(base), "iptables-legacy-restore")

	dir := t.TempDir()
	lockPath := filepath.Join(dir, "xtables.lock")
	const portsA, portsB = 20, 45
	policies := [2]string{filepath.Join(dir, "a.v4"), filepath.Join(dir, "b.v4")}
	for i, text := range []string{crashPolicy("A", portsA, true), crashPolicy("B", portsB, false)} {
		if err := os.WriteFile(policies[i], []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	var conn *xtables.Conn
	var openErr error
	nstest.InNetns(t, ns, func() { conn, openErr = xtables.Open(xtables.IPv4) })
	if openErr != nil {
		t.Fatal(openErr)
	}
	defer conn.Close()
	read := func() (*xtables.Table, uint32) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		info, blob, err := conn.ReadRaw(ctx, "filter")
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := xtables.Decode(xtables.IPv4, info, blob)
		if err != nil {
			t.Fatal(err)
		}
		return tbl, info.NumEntries
	}
	countRules := func(tbl *xtables.Table) (n int) {
		for _, c := range tbl.Chains {
			n += len(c.Rules)
		}
		return n
	}
	if _, n := read(); n < 10000 {
		t.Fatalf("base table has %d entries, want a 10k-rule table", n)
	}

	// Calibration: unkilled applies A, B, A, B, ... give the two states
	// and the run's timing.
	var (
		want    [2]*xtables.Table
		entries [2]uint32
		calib   []crashRun
	)
	for i := 0; i < 9; i++ {
		p := i % 2
		next := entries[p]
		if next == 0 {
			next = ^uint32(0) // not known yet: the poller never matches
		}
		run := applyKilled(t, ns, lockPath, policies[p], conn, next, -1)
		got, n := read()
		if want[p] == nil {
			want[p], entries[p] = got, n
		} else if !got.SameAs(want[p]) {
			t.Fatalf("apply of policy %d twice gave different tables: %s", p, nstest.FirstDiff(saveText(t, got), saveText(t, want[p])))
		} else {
			calib = append(calib, run)
		}
	}
	if want[0].SameAs(want[1]) || entries[0] == entries[1] {
		t.Fatal("the two policies give the same table: the test could not tell old from new")
	}
	for p, ports := range []int{portsA, portsB} {
		owned := want[p].Chain("FILTERS")
		hooks := 1 + 1 - p // A also hooks DOCKER-USER
		if owned == nil || len(owned.Rules) != ports+3 || countRules(want[p]) != baseRules+ports+3+hooks {
			t.Fatalf("policy %d: table has %d rules, want %d foreign + %d owned + %d hooks", p, countRules(want[p]), baseRules, ports+3, hooks)
		}
	}
	var total, swap []time.Duration
	for _, r := range calib {
		total = append(total, r.elapsed)
		swap = append(swap, r.swapAt)
	}
	slices.Sort(total)
	slices.Sort(swap)
	median := total[len(total)/2]
	t.Logf("unkilled apply on %d entries: median %v (of %v), new table seen at median %v (of %v)",
		entries[0], median.Round(time.Microsecond), total, swap[len(swap)/2].Round(time.Microsecond), swap)

	// Kill delays: one in each of kills equal slices of [0, 1.1 ×
	// the median run], at a random point of its slice, in random order.
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill delays from seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	span := median + median/10
	delays := make([]time.Duration, kills)
	for i := range delays {
		delays[i] = time.Duration((float64(i) + rng.Float64()) / float64(kills) * float64(span))
	}
	rng.Shuffle(len(delays), func(i, j int) { delays[i], delays[j] = delays[j], delays[i] })

	type landing struct {
		name   string
		delays []time.Duration
	}
	before, during, after, exited := &landing{name: "before the replace (old table)"},
		&landing{name: "during the replace (kill sent before the new table was seen; new table)"},
		&landing{name: "after the replace (new table seen before the kill)"},
		&landing{name: "after hostwall exited (new table)"}
	cur := 1 // the calibration ended with policy 0 applied: next is 1
	for i, delay := range delays {
		old := 1 - cur
		run := applyKilled(t, ns, lockPath, policies[cur], conn, entries[cur], delay)
		got, _ := read()
		isOld, isNew := got.SameAs(want[old]), got.SameAs(want[cur])
		switch {
		case !isOld && !isNew:
			t.Fatalf("kill %d after %v: the table is neither the old nor the new state:\n%s", i, run.killAt,
				nstest.FirstDiff(saveText(t, got), saveText(t, want[cur])))
		case !run.killed:
			if !isNew {
				t.Fatalf("kill %d: hostwall exited normally but the table is the old one", i)
			}
			exited.delays = append(exited.delays, run.killAt)
		case isOld:
			if run.swapAt >= 0 {
				t.Fatalf("kill %d after %v: the new table was seen at %v, yet the old one is back", i, run.killAt, run.swapAt)
			}
			before.delays = append(before.delays, run.killAt)
		case run.swapAt >= 0 && run.swapAt < run.killAt:
			after.delays = append(after.delays, run.killAt)
		default:
			during.delays = append(during.delays, run.killAt)
		}
		if !lockFree(t, lockPath) {
			t.Fatalf("kill %d after %v: the xtables lock is still held", i, run.killAt)
		}
		if isNew {
			cur = old
		}
	}

	// The table the kills left is one iptables-legacy reads as well.
	save := nstest.Run(t, ns, nil, "iptables-legacy-save", "-t", "filter")
	if !strings.Contains(save, "-A FILTERS -j REJECT --reject-with icmp-port-unreachable\n") {
		t.Errorf("iptables-legacy-save does not show FILTERS after the kills:\n%.2000s", save)
	}

	for _, l := range []*landing{before, during, after, exited} {
		if len(l.delays) == 0 {
			t.Logf("%3d kills %s", 0, l.name)
			continue
		}
		slices.Sort(l.delays)
		t.Logf("%3d kills %s: sent %v .. %v after start", len(l.delays), l.name,
			l.delays[0].Round(time.Microsecond), l.delays[len(l.delays)-1].Round(time.Microsecond))
	}
	if len(before.delays) == 0 || len(during.delays)+len(after.delays)+len(exited.delays) == 0 {
		t.Errorf("the kills did not land on both sides of the replace: the delays do not span the apply")
	}
	t.Logf("%d kills in %v", kills, time.Since(began).Round(time.Millisecond))
}
