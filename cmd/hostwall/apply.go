package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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
func kernelNat(ctx context.Context, h *engine.Host, fam *xtables.Family) (*xtables.Table, error) {
	t, err := h.ReadTable(ctx, fam, "nat")
	if errors.Is(err, xtables.ErrNoProc) || errors.Is(err, os.ErrPermission) || errors.Is(err, engine.ErrNoTable) {
		return nil, nil
	}
	return t, err
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

type supportedFunc = func(ext.Kind, string, uint8) (bool, error)

func readDesired(path string, fam *xtables.Family, chains []string, supported supportedFunc) (*policy.Desired, error) {
	data, err := readFileLimited(path)
	if err != nil {
		return nil, err
	}
	return policy.ReadDesired(path, data, policy.DesiredOptions{Family: fam, Chains: chains, Supported: supported})
}

// backendFlag registers --backend on a command that touches the kernel.
func backendFlag(fs *cmdFlags) *string {
	return fs.String("backend", "auto", "`BACKEND`: auto (detect what the host uses), legacy (x_tables, as\niptables-legacy) or nft (nf_tables, as iptables-nft)")
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
	fs := newFlags("apply", "[-4 FILE] [-6 FILE] [--chain NAME]... [--backend BACKEND] [--dry-run] [-w DURATION]",
		"Make the kernel's owned chains (FILTERS by default) and the hooks that\n"+
			"jump to them what the rules files say, and change nothing else: every\n"+
			"other chain, rule, policy and counter stays as it is, and rules that\n"+
			"survive keep their counters. On x_tables each family is written in one\n"+
			"atomic replace; on nf_tables all of it in one transaction, rules kept\n"+
			"in place. Nothing is written when nothing changes. All files are\n"+
			"checked before anything is written.", stdout)
	var pf policyFlags
	pf.register(fs)
	backend := backendFlag(fs)
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
	h, err := openHost(ctx, *backend, pf.chains, families(files), stderr)
	if err != nil {
		return err
	}
	defer h.Close()
	var ds []*policy.Desired
	for _, fam := range families(files) {
		d, err := readDesired(files[fam], fam, pf.chains, h.Supported(ctx, fam))
		if err != nil {
			return err
		}
		ds = append(ds, d)
		nat, err := kernelNat(ctx, h, fam)
		if err != nil {
			return err
		}
		for _, dt := range d.Tables {
			warn(stderr, engine.PublishedPortWarnings(dt, nat))
		}
	}
	fmt.Fprintf(stdout, "hostwall: %s\n", backendLine(h))
	reps, err := h.Apply(ctx, ds, engine.Options{DryRun: *dryRun, LockWait: *wait})
	for _, rep := range reps {
		printReport(stdout, rep, *dryRun)
	}
	if err != nil {
		return err
	}
	if *dryRun {
		for _, d := range ds {
			printUnmanaged(stdout, d)
		}
	}
	return nil
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
