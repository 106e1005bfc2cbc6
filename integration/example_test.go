package integration

// Runnable examples of the engine's embedding API (package engine's
// documentation points here). Each runs against the real kernel, in a
// network namespace of its own made and removed by inExampleNetns, and
// its output is checked: they run with the rest of the integration suite
// (make integration, make vm-test). An example cannot skip: without root
// or ip(8) they are left out (TestMain, gateExamples), except under
// CI=true, where they run and fail, so a green CI run means they ran.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/integration/nstest"
	"github.com/hostwall/hostwall/xtables"
)

// rulesV4 is a rules file as iptables-save writes it: hostwall owns
// FILTERS and the INPUT hook that jumps to it, and nothing else.
const rulesV4 = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:FILTERS - [0:0]
-A INPUT -j FILTERS
-A FILTERS -i lo -j ACCEPT
-A FILTERS -p tcp --dport 22 -j ACCEPT
-A FILTERS -j DROP
COMMIT
`

// Apply a policy from a string: the owned chain and its hook are
// created; everything else in the kernel is left as it was.
func Example_applyPolicy() {
	inExampleNetns(func() {
		ctx := context.Background()
		h, err := engine.Open(ctx, engine.OpenOptions{Backend: engine.NFTBackend})
		if err != nil {
			fmt.Println(err)
			return
		}
		defer h.Close()
		reps, err := h.ApplyPolicy(ctx, engine.Options{},
			engine.Policy{Family: xtables.IPv4, Name: "rules.v4", Data: []byte(rulesV4)})
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, rep := range reps {
			for _, tr := range rep.Tables {
				p := tr.Plan
				fmt.Printf("%s %s: written %v, owned rules +%d, hooks +%d\n", rep.Family, tr.Table, tr.Written, p.Added, len(p.HooksInserted))
			}
		}
	})
	// Output:
	// IPv4 filter: written true, owned rules +3, hooks +1
}

// Read a table back into the rule model, here after an apply through
// x_tables (iptables-legacy's kernel interface).
func Example_readTable() {
	inExampleNetns(func() {
		ctx := context.Background()
		h, err := engine.Open(ctx, engine.OpenOptions{Backend: engine.LegacyBackend, Families: []*xtables.Family{xtables.IPv4}})
		if err != nil {
			fmt.Println(err)
			return
		}
		defer h.Close()
		if _, err := h.ApplyPolicy(ctx, engine.Options{}, engine.Policy{Family: xtables.IPv4, Data: []byte(rulesV4)}); err != nil {
			fmt.Println(err)
			return
		}
		t, err := h.ReadTable(ctx, xtables.IPv4, "filter")
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, name := range []string{"INPUT", "FILTERS"} {
			c := t.Chain(name)
			for _, r := range c.Rules {
				fmt.Println(t.RuleText(c, r, false))
			}
		}
	})
	// Output:
	// -A INPUT -j FILTERS
	// -A FILTERS -i lo -j ACCEPT
	// -A FILTERS -p tcp -m tcp --dport 22 -j ACCEPT
	// -A FILTERS -j DROP
}

// Dry-run a plan: what an apply would change, as +/- lines, with
// nothing written.
func Example_dryRun() {
	inExampleNetns(func() {
		ctx := context.Background()
		h, err := engine.Open(ctx, engine.OpenOptions{Backend: engine.NFTBackend})
		if err != nil {
			fmt.Println(err)
			return
		}
		defer h.Close()
		reps, err := h.ApplyPolicy(ctx, engine.Options{DryRun: true}, engine.Policy{Family: xtables.IPv4, Data: []byte(rulesV4)})
		if err != nil {
			fmt.Println(err)
			return
		}
		tr := reps[0].Tables[0]
		fmt.Println("written:", tr.Written)
		for _, l := range tr.Plan.Diff {
			fmt.Println(l)
		}
	})
	// Output:
	// written: false
	// + -N FILTERS
	// + -A FILTERS -i lo -j ACCEPT
	// + -A FILTERS -p tcp -m tcp --dport 22 -j ACCEPT
	// + -A FILTERS -j DROP
	// + -A INPUT -j FILTERS   (inserted at the top)
}

// A rule the kernel refuses (a conntrack helper no module provides) is
// an ErrRuleRefused; errors.As gives where the file wrote it. Nothing
// was written.
func Example_ruleRefused() {
	inExampleNetns(func() {
		ctx := context.Background()
		h, err := engine.Open(ctx, engine.OpenOptions{Backend: engine.NFTBackend})
		if err != nil {
			fmt.Println(err)
			return
		}
		defer h.Close()
		file := "*raw\n:PREROUTING ACCEPT [0:0]\n:FILTERS - [0:0]\n-A PREROUTING -j FILTERS\n-A FILTERS -p tcp -j CT --helper nosuchhelper\nCOMMIT\n"
		_, err = h.ApplyPolicy(ctx, engine.Options{}, engine.Policy{Family: xtables.IPv4, Name: "rules.v4", Data: []byte(file)})
		var re *engine.RuleRefusedError
		if errors.As(err, &re) {
			fmt.Println(errors.Is(err, engine.ErrRuleRefused), re.Pos.File, re.Pos.Line, re.Table, re.Rule)
		}
	})
	// Output:
	// true rules.v4 5 raw -A FILTERS -p tcp -j CT --helper nosuchhelper
}

// inExampleNetns runs fn in a network namespace made for it, on a thread
// locked in that namespace (engine.Open binds to the calling thread's),
// and removes the namespace afterwards. It panics, failing the example,
// when the namespace cannot be made.
func inExampleNetns(fn func()) {
	b := make([]byte, 4)
	rand.Read(b)
	ns := "hw-ex-" + hex.EncodeToString(b)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		panic(fmt.Sprintf("ip netns add %s: %v: %s", ns, err, out))
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	var failure any
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		defer func() {
			if r := recover(); r != nil {
				failure = r
			}
		}()
		f, err := os.Open("/run/netns/" + ns)
		if err != nil {
			panic(err)
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			panic(err)
		}
		fn()
	}()
	<-done
	if failure != nil {
		panic(fmt.Sprintf("in netns %s: %v", ns, failure))
	}
}

// gateExamples leaves the examples out of a run that lacks what they
// need (root, ip), since an example cannot skip; under CI=true it keeps
// them, and they fail.
func gateExamples() {
	missing := nstest.MissingTools("ip")
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	if len(missing) == 0 || os.Getenv("CI") == "true" {
		return
	}
	fmt.Fprintf(os.Stderr, "integration: examples left out: they need %v\n", missing)
	if err := flag.Set("test.skip", "^Example"); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}
