package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
)

// chainList is a repeatable --chain option.
type chainList []string

func (c *chainList) String() string { return strings.Join(*c, ",") }
func (c *chainList) Type() string   { return "name" }
func (c *chainList) Set(s string) error {
	if s == "" || len(s) > xtables.MaxChainName {
		return fmt.Errorf("chain name %q must be 1 to %d characters", s, xtables.MaxChainName)
	}
	*c = append(*c, s)
	return nil
}

// Default rules files, as iptables-persistent keeps them.
var defaultFiles = map[*xtables.Family]string{
	xtables.IPv4: "/etc/iptables/rules.v4",
	xtables.IPv6: "/etc/iptables/rules.v6",
}

// stdin is what a FILE of "-" reads; tests replace it.
var stdin io.Reader = os.Stdin

// stdinName names standard input in messages (file:line:column).
const stdinName = "<stdin>"

type policyFlags struct {
	v4, v6                   string
	chains, chains4, chains6 chainList
}

func (p *policyFlags) register(fs *cmdFlags) {
	fs.StringVarP(&p.v4, "ipv4", "4", "", "IPv4 rules `FILE`, - for standard input (default\n/etc/iptables/rules.v4 if it exists)")
	fs.StringVarP(&p.v6, "ipv6", "6", "", "IPv6 rules `FILE`, - for standard input (default\n/etc/iptables/rules.v6 if it exists)")
	fs.Var(&p.chains, "chain", "own chain `NAME` in both families (repeatable; default FILTERS)")
	fs.Var(&p.chains4, "chain4", "own chain `NAME` in IPv4 only (repeatable)")
	fs.Var(&p.chains6, "chain6", "own chain `NAME` in IPv6 only (repeatable)")
}

// owned is the owned chains of a family: every --chain and the family's
// own --chain4 or --chain6; nil (FILTERS) when there are none.
func (p *policyFlags) owned(fam *xtables.Family) []string {
	own := p.chains4
	if fam == xtables.IPv6 {
		own = p.chains6
	}
	var out []string
	for _, c := range append(slices.Clone(p.chains), own...) {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// allOwned is every chain owned in any of the families, for detection.
func (p *policyFlags) allOwned(fams []*xtables.Family) []string {
	var out []string
	for _, f := range fams {
		for _, c := range p.owned(f) {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// files returns the rules file of each family to use.
func (p *policyFlags) files() (map[*xtables.Family]string, error) {
	out := map[*xtables.Family]string{}
	if p.v4 != "" {
		out[xtables.IPv4] = p.v4
	}
	if p.v6 != "" {
		out[xtables.IPv6] = p.v6
	}
	if p.v4 == "-" && p.v6 == "-" {
		return nil, usagef("-4 - and -6 -: standard input can be only one of the files")
	}
	if len(out) > 0 {
		return out, nil
	}
	for _, fam := range []*xtables.Family{xtables.IPv4, xtables.IPv6} {
		if _, err := os.Stat(defaultFiles[fam]); err == nil {
			out[fam] = defaultFiles[fam]
		}
	}
	if len(out) == 0 {
		return nil, usagef("no rules file: give -4 FILE and/or -6 FILE (neither %s nor %s exists)", defaultFiles[xtables.IPv4], defaultFiles[xtables.IPv6])
	}
	return out, nil
}

// families lists the families present in files, IPv4 first.
func families(files map[*xtables.Family]string) []*xtables.Family {
	var out []*xtables.Family
	for _, f := range []*xtables.Family{xtables.IPv4, xtables.IPv6} {
		if _, ok := files[f]; ok {
			out = append(out, f)
		}
	}
	return out
}

// outputFlags are -q, -v: how much of the report to print.
type outputFlags struct{ quiet, verbose bool }

func (o *outputFlags) register(fs *cmdFlags) {
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "print nothing on standard output (warnings and errors still go to\nstandard error)")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, fmt.Sprintf("print every line of the report (by default at most %d per list,\nthen \"… N more\")", summaryLines))
}

func (o *outputFlags) check() error {
	if o.quiet && o.verbose {
		return usagef("-q and -v exclude each other")
	}
	return nil
}

// limit is how many lines of a list to print: all with -v.
func (o *outputFlags) limit() int {
	if o.verbose {
		return math.MaxInt
	}
	return summaryLines
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", "[-4 FILE] [-6 FILE] [--chain[4|6] NAME]... [--strict] [-q|-v]",
		"Validate rules files offline, as apply would, without touching the kernel\n"+
			"and without privileges. Prints what apply would manage and what it would\n"+
			"leave alone, and warns on stderr about what would pass but leave the host\n"+
			"open or cut traffic off: an owned chain nothing jumps to, a DOCKER-USER\n"+
			"hook without -i. Interfaces named by -i/-o are not looked up (the machine\n"+
			"checking is not the one written); apply warns about those its network\n"+
			"namespace lacks.", stdout)
	var pf policyFlags
	pf.register(fs)
	strict := fs.Bool("strict", false, "exit 1 when there is a warning")
	var of outputFlags
	of.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if err := of.check(); err != nil {
		return err
	}
	files, err := pf.files()
	if err != nil {
		return err
	}
	if of.quiet {
		stdout = io.Discard
	}
	warned := 0
	for _, fam := range families(files) {
		d, err := readDesired(files[fam], fam, pf.owned(fam), nil)
		if err != nil {
			return err
		}
		for _, dt := range d.Tables {
			for _, o := range dt.Owned {
				fmt.Fprintf(stdout, "%s: %s table %s: chain %s, %d rules\n", d.File, fam, dt.Table, o.Name, len(o.Rules))
			}
			for _, h := range dt.Hooks {
				fmt.Fprintf(stdout, "%s: %s table %s: hook %s\n", h.Pos, fam, dt.Table, dt.Text(h.Chain, h.Rule))
			}
		}
		printUnmanaged(stdout, d, of.limit())
		// Offline, the file's own nat table is all there is to learn
		// the published ports from.
		ws := engine.PolicyWarnings(d, nil)
		for _, dt := range d.Tables {
			ws = append(ws, engine.PublishedPortWarnings(dt, d.FileTables["nat"])...)
		}
		warn(stderr, ws)
		warned += len(ws)
	}
	if *strict && warned > 0 {
		return fmt.Errorf("%d warning(s), and --strict", warned)
	}
	return nil
}

func warn(w io.Writer, warnings []string) {
	for _, s := range warnings {
		fmt.Fprintf(w, "hostwall: warning: %s\n", s)
	}
}

// kernelNat reads the family's nat table if it exists (never creating it).
// Where the tables cannot be listed it returns nil and no error: without
// /proc (a bare chroot), or in a network namespace made together with its
// user namespace (unshare --user --map-root-user --net), whose
// /proc/net/ip_tables_names belongs to the real root. The warnings it
// feeds are advice, not worth refusing an apply for.
func kernelNat(ctx context.Context, h *engine.Host, fam *xtables.Family) (*xtables.Table, error) {
	t, err := h.ReadTable(ctx, fam, "nat")
	if errors.Is(err, xtables.ErrNoProc) || errors.Is(err, os.ErrPermission) || errors.Is(err, engine.ErrNoTable) {
		return nil, nil
	}
	return t, err
}

func printUnmanaged(w io.Writer, d *policy.Desired, limit int) {
	if len(d.Unmanaged) == 0 {
		return
	}
	fmt.Fprintf(w, "%s: %d line(s) not managed by hostwall (never applied):\n", d.File, len(d.Unmanaged))
	n := shown(len(d.Unmanaged), limit)
	for _, u := range d.Unmanaged[:n] {
		fmt.Fprintf(w, "  %s: %s\n", u.Pos, u.Text)
	}
	printMore(w, len(d.Unmanaged)-n)
}

type supportedFunc = func(ext.Kind, string, uint8) (bool, error)

func readDesired(path string, fam *xtables.Family, chains []string, supported supportedFunc) (*policy.Desired, error) {
	name, data, err := readNamed(path)
	if err != nil {
		return nil, err
	}
	return policy.ReadDesired(name, data, policy.DesiredOptions{Family: fam, Chains: chains, Supported: supported})
}

// hostDesired reads a rules file as the engine's embedders do
// (Host.ReadPolicy): extension revisions probed through h's backend.
func hostDesired(ctx context.Context, h *engine.Host, path string, fam *xtables.Family, chains []string) (*policy.Desired, error) {
	name, data, err := readNamed(path)
	if err != nil {
		return nil, err
	}
	return h.ReadPolicy(ctx, engine.Policy{Family: fam, Name: name, Data: data, Chains: chains})
}

// lockWait is -w as engine's LockWait: -w 0 tries the lock once, which
// the engine's zero value does not (it waits its default).
func (w *waitValue) lockWait() time.Duration {
	if w.d == 0 {
		return engine.NoLockWait
	}
	return w.d
}

// backendFlag registers --backend on a command that touches the kernel.
func backendFlag(fs *cmdFlags) *string {
	return fs.String("backend", "auto", "`BACKEND`: auto (detect what the host uses), legacy (x_tables, as\niptables-legacy), nft (nf_tables, as iptables-nft) or native\n(hostwall's own nf_tables tables)")
}

// openHost opens the firewall through the backend asked for, or the
// one detected, and says which and why on stderr.
func openHost(ctx context.Context, backend string, owned []string, fams []*xtables.Family, stderr io.Writer) (*engine.Host, error) {
	kind, err := engine.ParseBackend(backend)
	if err != nil {
		return nil, usagef("%v", err)
	}
	h, err := engine.Open(ctx, engine.OpenOptions{Backend: kind, Owned: owned, Families: fams})
	if err != nil {
		return nil, err
	}
	if d := h.Detection; d != nil {
		warn(stderr, d.Warnings)
	}
	if err := prepareLockDir(h, stderr); err != nil { // lockdir.go
		h.Close()
		return nil, err
	}
	return h, nil
}

// backendLine says which backend is in use and why.
func backendLine(h *engine.Host) string {
	if h.Detection == nil {
		return fmt.Sprintf("backend %s (as asked)", h.Backend)
	}
	return fmt.Sprintf("backend %s (detected: %s)", h.Backend, h.Detection.Reason)
}

func runApply(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("apply", "[-4 FILE] [-6 FILE] [--chain[4|6] NAME]... [--backend BACKEND]\n"+
		"                      [--dry-run] [-w [SECONDS]] [-q|-v|--json] [--detailed-exitcode]",
		"Make the kernel's owned chains (FILTERS by default) and the hooks that\n"+
			"jump to them what the rules files say, and change nothing else: every\n"+
			"other chain, rule, policy and counter stays as it is, and rules that\n"+
			"survive keep their counters. On x_tables each family is written in one\n"+
			"atomic replace; on nf_tables all of it in one transaction, rules kept\n"+
			"in place. Nothing is written when nothing changes. All files are\n"+
			"checked before anything is written.\n\n"+
			"Prints the backend, then per family and table what changed, with at\n"+
			"most "+fmt.Sprint(summaryLines)+" lines of its diff (-v: all of them). Exit status 0 on success,\n"+
			"1 on an error, 2 on a usage mistake; with --detailed-exitcode, 3 when\n"+
			"something was written (with --dry-run: would be).", stdout)
	var pf policyFlags
	pf.register(fs)
	backend := backendFlag(fs)
	dryRun := fs.Bool("dry-run", false, "print the plan as +/- lines and what is not managed; write\nnothing (needs no more privilege than apply)")
	wait := waitFlag(fs, " (x_tables only)")
	var of outputFlags
	of.register(fs)
	jsonOut := fs.Bool("json", false, "print the report as one JSON document (see README); warnings\nstay on standard error")
	detailed := fs.Bool("detailed-exitcode", false, "exit 3 when something was written (with --dry-run: would be),\n0 when nothing changed")
	confirmWin := fs.Duration("confirm", 0, "lockout guard: put the previous owned chains and hooks back after\n`DURATION` unless 'hostwall confirm' runs (or yes is typed) first")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if err := of.check(); err != nil {
		return err
	}
	if *jsonOut && of.quiet {
		return usagef("--json and -q exclude each other")
	}
	files, err := pf.files()
	if err != nil {
		return err
	}
	if _, err := engine.ParseBackend(*backend); err != nil {
		return usagef("%v", err)
	}
	fams := families(files)
	var jr *jsonReport
	if *jsonOut {
		jr = newJSONReport(*dryRun)
		// One document on stdout whatever happens past the options.
		defer func() { jr.write(stdout) }()
	}
	fail := func(err error) error {
		if jr != nil {
			jr.Error = err.Error()
		}
		return err
	}
	h, err := openHost(ctx, *backend, pf.allOwned(fams), fams, stderr)
	if err != nil {
		return fail(engine.BeforeWriting(ctx, err))
	}
	defer h.Close()
	gcOn := noGC(h)
	defer gcOn()
	if jr != nil {
		jr.setHost(h)
	}
	var ds []*policy.Desired
	ifaces, err := engine.Interfaces() // of this network namespace, for -i/-o
	if err != nil {
		warn(stderr, []string{fmt.Sprintf("%v: -i and -o not looked up", err)})
	}
	for _, fam := range fams {
		d, err := hostDesired(ctx, h, files[fam], fam, pf.owned(fam))
		if err != nil {
			return fail(engine.BeforeWriting(ctx, err)) // a signal: says nothing was written
		}
		ds = append(ds, d)
		warn(stderr, engine.PolicyWarnings(d, ifaces))
		nat, err := kernelNat(ctx, h, fam)
		if err != nil {
			return fail(engine.BeforeWriting(ctx, err))
		}
		for _, dt := range d.Tables {
			warn(stderr, engine.PublishedPortWarnings(dt, nat))
		}
	}
	out := stdout
	if of.quiet || jr != nil {
		out = io.Discard
	}
	fmt.Fprintf(out, "hostwall: %s\n", backendLine(h))
	g, err := startGuard(ctx, h, ds, *confirmWin, *dryRun) // confirm.go
	if err != nil {
		return fail(err)
	}
	reps, err := h.Apply(ctx, ds, engine.Options{DryRun: *dryRun, LockWait: wait.lockWait()})
	if jr != nil {
		jr.fill(ds, reps)
	}
	for _, rep := range reps {
		printReport(out, rep, *dryRun, of.limit())
	}
	if err != nil {
		if g != nil {
			g.abandon()
		}
		return fail(err)
	}
	if *dryRun {
		for _, d := range ds {
			printUnmanaged(out, d, of.limit())
		}
	}
	if g != nil {
		gcOn() // the guard waits, and may apply again
		if err := g.wait(ctx, stderr); err != nil {
			return fail(err)
		}
	}
	if *detailed && changed(reps, *dryRun) {
		return errChanged
	}
	return nil
}

// noGC turns the garbage collector off for a legacy apply, from reading
// the rules files to the write, and returns what turns it on again: the
// memory of such an apply is the rules and the table read, decoded and
// written, all live until the write, so a collection finds next to
// nothing to free and only costs time (at 50k rules, a tenth of the
// apply; with a FILTERS of 1000 rules, a tenth of reading them).
func noGC(h *engine.Host) func() {
	if h.Backend != engine.LegacyBackend {
		return func() {}
	}
	old := debug.SetGCPercent(-1)
	return sync.OnceFunc(func() { debug.SetGCPercent(old) })
}

// changed reports whether the apply wrote anything (a dry run: would).
func changed(reps []*engine.Report, dryRun bool) bool {
	for _, rep := range reps {
		for _, tr := range rep.Tables {
			if tr.Written || dryRun && tr.Plan.Changed() {
				return true
			}
		}
	}
	return false
}

// summaryLines is how many lines of a list (a table's diff, the lines
// not managed) the report prints without -v.
const summaryLines = 10

// shown is how many of n lines to print: all up to limit+1 (a line
// saying "… 1 more" would be no shorter), else limit.
func shown(n, limit int) int {
	if n <= limit || n-limit == 1 {
		return n
	}
	return limit
}

// printMore says how many lines were left out, if any.
func printMore(w io.Writer, n int) {
	if n > 0 {
		fmt.Fprintf(w, "  … %d more (-v prints all)\n", n)
	}
}

func printReport(w io.Writer, rep *engine.Report, dryRun bool, limit int) {
	for _, tr := range rep.Tables {
		p := tr.Plan
		head := fmt.Sprintf("%s %s", rep.Family, tr.Table)
		switch {
		case !p.Changed():
			fmt.Fprintf(w, "%s: no change, nothing written\n", head)
			continue
		case dryRun:
			fmt.Fprintf(w, "%s: plan (dry run, nothing written): %s\n", head, counts(p))
		case tr.RolledBack:
			fmt.Fprintf(w, "%s: written, then put back as it was (counters included): %s\n", head, counts(p))
		case !tr.Written:
			fmt.Fprintf(w, "%s: not written: %s\n", head, counts(p))
		default:
			fmt.Fprintf(w, "%s: written: %s, %d counters kept", head, counts(p), tr.CountersKept)
			switch tr.Attempts {
			case 0, 1:
			case 2:
				fmt.Fprint(w, " (planned again once: another writer got in)")
			default:
				fmt.Fprintf(w, " (planned again %d times: other writers got in)", tr.Attempts-1)
			}
			fmt.Fprintln(w)
		}
		n := shown(len(p.Diff), limit)
		for _, l := range p.Diff[:n] {
			fmt.Fprintf(w, "  %s\n", l)
		}
		printMore(w, len(p.Diff)-n)
	}
}

// counts summarises a plan: owned rules and hooks added and removed,
// chains created.
func counts(p *engine.Plan) string {
	s := fmt.Sprintf("owned rules +%d -%d, hooks +%d -%d", p.Added, p.Removed, len(p.HooksInserted), len(p.HooksRemoved))
	if len(p.ChainsCreated) > 0 {
		s += ", chains created " + strings.Join(p.ChainsCreated, " ")
	}
	return s
}
