package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
)

// chainList is the repeatable --chain flag.
type chainList []string

func (c *chainList) String() string { return strings.Join(*c, ",") }
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

type policyFlags struct {
	v4, v6 string
	chains chainList
}

func (p *policyFlags) register(fs *cmdFlags) {
	fs.StringVar(&p.v4, "4", "", "IPv4 rules `FILE` (default /etc/iptables/rules.v4 if it exists)")
	fs.StringVar(&p.v6, "6", "", "IPv6 rules `FILE` (default /etc/iptables/rules.v6 if it exists)")
	fs.Var(&p.chains, "chain", "own chain `NAME` (repeatable; default FILTERS)")
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

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", "[-4 FILE] [-6 FILE] [--chain NAME]...",
		"Validate rules files offline, as apply would, without touching the kernel\n"+
			"and without privileges. Prints what apply would manage and what it would\n"+
			"leave alone.", stdout)
	var pf policyFlags
	pf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	files, err := pf.files()
	if err != nil {
		return err
	}
	for _, fam := range families(files) {
		d, err := readDesired(files[fam], fam, pf.chains, nil)
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
		printUnmanaged(stdout, d)
		// Offline, the file's own nat table is all there is to learn
		// the published ports from.
		for _, dt := range d.Tables {
			warn(stderr, engine.PublishedPortWarnings(dt, d.FileTables["nat"]))
		}
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
func kernelNat(ctx context.Context, conn *xtables.Conn) (*xtables.Table, error) {
	names, err := xtables.TableNames(conn.Family())
	if errors.Is(err, xtables.ErrNoProc) || errors.Is(err, os.ErrPermission) {
		return nil, nil
	}
	if err != nil || !slices.Contains(names, "nat") {
		return nil, err
	}
	return conn.Read(ctx, "nat")
}

func printUnmanaged(w io.Writer, d *policy.Desired) {
	if len(d.Unmanaged) == 0 {
		return
	}
	fmt.Fprintf(w, "%s: %d line(s) not managed by hostwall (never applied):\n", d.File, len(d.Unmanaged))
	for _, u := range d.Unmanaged {
		fmt.Fprintf(w, "  %s: %s\n", u.Pos, u.Text)
	}
}

func readDesired(path string, fam *xtables.Family, chains []string, conn *xtables.Conn) (*policy.Desired, error) {
	data, err := readFileLimited(path)
	if err != nil {
		return nil, err
	}
	opt := policy.DesiredOptions{Family: fam, Chains: chains}
	if conn != nil {
		opt.Supported = func(k ext.Kind, n string, rev uint8) (bool, error) { return conn.Revision(k == ext.Target, n, rev) }
	}
	return policy.ReadDesired(path, data, opt)
}

func runApply(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("apply", "[-4 FILE] [-6 FILE] [--chain NAME]... [--dry-run] [-w DURATION]",
		"Make the kernel's owned chains (FILTERS by default) and the hooks that\n"+
			"jump to them what the rules files say, and change nothing else: every\n"+
			"other chain, rule, policy and counter stays as it is, and rules that\n"+
			"survive keep their counters. Each family is written in one atomic\n"+
			"replace, and not at all when nothing changes. All files are checked\n"+
			"before anything is written.", stdout)
	var pf policyFlags
	pf.register(fs)
	dryRun := fs.Bool("dry-run", false, "print the plan as +/- lines and what is not managed; write nothing")
	wait := fs.Duration("w", 10*time.Second, "how long to wait for the xtables lock")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	files, err := pf.files()
	if err != nil {
		return err
	}
	type job struct {
		conn    *xtables.Conn
		desired *policy.Desired
	}
	var jobs []job
	defer func() {
		for _, j := range jobs {
			j.conn.Close()
		}
	}()
	for _, fam := range families(files) {
		conn, err := xtables.Open(fam)
		if err != nil {
			return err
		}
		jobs = append(jobs, job{conn: conn})
		d, err := readDesired(files[fam], fam, pf.chains, conn)
		if err != nil {
			return err
		}
		jobs[len(jobs)-1].desired = d
		nat, err := kernelNat(ctx, conn)
		if err != nil {
			return err
		}
		for _, dt := range d.Tables {
			warn(stderr, engine.PublishedPortWarnings(dt, nat))
		}
	}
	var failed error
	for _, j := range jobs {
		backend := &engine.Legacy{Conn: j.conn}
		rep, err := backend.Apply(ctx, j.desired, engine.Options{DryRun: *dryRun, LockWait: *wait})
		if rep != nil {
			printReport(stdout, rep, *dryRun)
		}
		if err != nil {
			failed = errors.Join(failed, err)
			continue
		}
		if *dryRun {
			printUnmanaged(stdout, j.desired)
		}
	}
	return failed
}

func printReport(w io.Writer, rep *engine.Report, dryRun bool) {
	for _, tr := range rep.Tables {
		p := tr.Plan
		head := fmt.Sprintf("%s %s", rep.Family, tr.Table)
		switch {
		case !p.Changed():
			fmt.Fprintf(w, "%s: no change, nothing written\n", head)
			continue
		case dryRun:
			fmt.Fprintf(w, "%s: plan (dry run, nothing written):\n", head)
			for _, l := range p.Diff {
				fmt.Fprintf(w, "  %s\n", l)
			}
			continue
		}
		fmt.Fprintf(w, "%s: written: owned rules +%d -%d, hooks +%d -%d", head, p.Added, p.Removed, len(p.HooksInserted), len(p.HooksRemoved))
		if len(p.ChainsCreated) > 0 {
			fmt.Fprintf(w, ", chains created %s", strings.Join(p.ChainsCreated, " "))
		}
		fmt.Fprintf(w, ", %d counters kept", tr.CountersKept)
		if tr.Attempts > 1 {
			fmt.Fprintf(w, " (re-planned %d times: another writer got in)", tr.Attempts-1)
		}
		fmt.Fprintln(w)
		for _, l := range p.Diff {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
}
