package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
	"github.com/hostwall/hostwall/xtables/nft"
)

// nftWorker measures the nf_tables backend at one size, inside the
// network namespace it was started in, against iptables-nft 1.8.9.
//
// Unlike the legacy rows, nothing resets the table between runs: the
// FILTERS chain alternates between two policies (one rule differs), so
// every changing apply, recipe and restore -n writes something.
type nftWorker struct {
	*worker
	files    [2]string // the two policies
	filtered [2][]byte // their recipe lines
	want     [2]string // iptables-nft-save of the table holding each one
	whole    string    // the whole table (foreign rules, hooks, policy 0) as iptables-nft-save prints it
	state    int       // which policy FILTERS holds now
	// rules are FILTERS' rules in each policy, and diffAt the index of
	// the one rule in which they differ: what commitAlone sends.
	rules  [2][]*xtables.Rule
	diffAt int
}

func nftWorkerMain(w *worker, nForeign, nPolicy, runs int) (*result, error) {
	ctx := context.Background()
	if out, err := exec.Command("nft", "list", "tables").Output(); err != nil {
		return nil, fmt.Errorf("nft list tables: %w", err)
	} else if len(bytes.TrimSpace(out)) > 0 {
		return nil, fmt.Errorf("refusing to run: the namespace already has nf_tables tables:\n%s", out)
	}
	n := &nftWorker{worker: w}
	base, err := genBase(nForeign)
	if err != nil {
		return nil, err
	}
	for v := range 2 {
		pol, err := genPolicy(nPolicy, v)
		if err != nil {
			return nil, err
		}
		n.files[v] = filepath.Join(w.dir, fmt.Sprintf("policy%d.v4", v))
		if err := os.WriteFile(n.files[v], []byte(pol), 0o644); err != nil {
			return nil, err
		}
		n.filtered[v] = recipeLines(pol)
		d, err := policy.ReadDesired(n.files[v], []byte(pol), policy.DesiredOptions{Family: xtables.IPv4})
		if err != nil {
			return nil, err
		}
		for _, o := range d.Tables[0].Owned {
			if o.Name == "FILTERS" {
				n.rules[v] = o.Rules
			}
		}
	}
	n.diffAt = -1
	for i := range min(len(n.rules[0]), len(n.rules[1])) {
		if !n.rules[0][i].SameAs(n.rules[1][i]) {
			n.diffAt = i
			break
		}
	}
	if n.diffAt < 0 || len(n.rules[0]) != len(n.rules[1]) {
		return nil, fmt.Errorf("the two policies do not differ in exactly one FILTERS rule")
	}
	conn, err := nft.Dial(nft.Options{})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var wholeFile *policy.File

	// The host before the measured reloads: foreign rules with counters
	// and the article's boot-time setup, through iptables-nft.
	if _, err := w.run(ctx, []byte(base), io.Discard, "iptables-nft-restore", "-c"); err != nil {
		return nil, err
	}
	for _, a := range recipeSetup {
		if _, err := w.run(ctx, nil, io.Discard, "iptables-nft", append([]string{"-w"}, a...)...); err != nil {
			return nil, err
		}
	}
	// The end states, as iptables-nft's recipe leaves them; policy 0
	// last, whose whole table is what the restores load.
	for _, v := range []int{1, 0} {
		if _, err := n.recipe(ctx, v); err != nil {
			return nil, err
		}
		s, err := n.iptSave(ctx)
		if err != nil {
			return nil, err
		}
		n.want[v] = s
	}
	n.state = 0
	n.whole = filepath.Join(w.dir, "whole.v4")
	if err := os.WriteFile(n.whole, []byte(n.want[0]), 0o644); err != nil {
		return nil, err
	}
	if wholeFile, err = policy.Parse(n.whole, []byte(n.want[0])); err != nil {
		return nil, err
	}
	// hostwall save prints what iptables-nft-save prints.
	// A hostwall save or restore that fails is recorded, not measured
	// again, and the size goes on.
	res := &result{Backend: "nft", Foreign: nForeign, Policy: nPolicy, Entries: uint32(strings.Count(n.want[0], "\n-A ")),
		Bytes: uint32(len(n.want[0])), Samples: map[string][]float64{}, Failed: map[string]string{}}
	var hs, is bytes.Buffer
	if _, err := w.run(ctx, nil, &hs, w.hostwall, "save", "--backend", "nft", "-t", "filter"); err != nil {
		res.Failed["save"] = err.Error()
	}
	if _, err := w.run(ctx, nil, &is, "iptables-nft-save", "-t", "filter"); err != nil {
		return nil, err
	}
	if a, b := stripComments(hs.String()), stripComments(is.String()); res.Failed["save"] == "" && a != b {
		return nil, fmt.Errorf("hostwall save --backend nft differs from iptables-nft-save: %s", firstDiff(a, b))
	}
	add := func(k string, v float64) { res.Samples[k] = append(res.Samples[k], v) }
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()

	for i := range runs {
		check := i == 0
		// hostwall apply of the other policy, then again (no change).
		to := 1 - n.state
		var out bytes.Buffer
		ru, err := w.run(ctx, nil, &out, w.hostwall, "apply", "--backend", "nft", "-4", n.files[to])
		if err != nil {
			return nil, err
		}
		if !strings.Contains(out.String(), "written") {
			return nil, fmt.Errorf("hostwall apply --backend nft wrote nothing:\n%s", out.String())
		}
		n.state = to
		add("apply", ru.Wall)
		add("user", ru.User)
		add("sys", ru.Sys)
		add("rss", float64(ru.MaxRSS))
		if check {
			if err := n.checkEnd(ctx, "hostwall apply --backend nft"); err != nil {
				return nil, err
			}
		}
		out.Reset()
		if ru, err = w.run(ctx, nil, &out, w.hostwall, "apply", "--backend", "nft", "-4", n.files[to]); err != nil {
			return nil, err
		}
		if !strings.Contains(out.String(), "no change") {
			return nil, fmt.Errorf("second hostwall apply --backend nft was not a no-op:\n%s", out.String())
		}
		add("nochange", ru.Wall)

		// The article's reload through iptables-nft, and its restore -n
		// alone, each to the other policy.
		to = 1 - n.state
		if ru, err = n.recipe(ctx, to); err != nil {
			return nil, err
		}
		n.state = to
		add("recipe", ru.Wall)
		if check {
			if err := n.checkEnd(ctx, "iptables-nft recipe"); err != nil {
				return nil, err
			}
		}
		to = 1 - n.state
		if ru, err = w.run(ctx, n.filtered[to], io.Discard, "iptables-nft-restore", "-n"); err != nil {
			return nil, err
		}
		n.state = to
		add("restore", ru.Wall)
		if check {
			if err := n.checkEnd(ctx, "iptables-nft-restore -n"); err != nil {
				return nil, err
			}
		}

		// The kernel's commit alone of the batch an apply of the other
		// policy sends (the floor of a changing apply at this size).
		to = 1 - n.state
		d, err := n.commitAlone(ctx, conn, to)
		if err != nil {
			return nil, err
		}
		n.state = to
		add("commit", d)
		if check {
			if err := n.checkEnd(ctx, "the batch of an apply sent alone"); err != nil {
				return nil, err
			}
		}

		if res.Failed["save"] == "" {
			if ru, err = w.run(ctx, nil, devnull, w.hostwall, "save", "--backend", "nft", "-t", "filter"); err != nil {
				res.Failed["save"] = err.Error()
			} else {
				add("save", ru.Wall)
			}
		}
		if ru, err = w.run(ctx, nil, devnull, "iptables-nft-save", "-t", "filter"); err != nil {
			return nil, err
		}
		add("iptsave", ru.Wall)

		// Restores of the whole table into a table deleted first; the
		// two tools take turns going first.
		restores := []struct {
			key  string
			name string
			args []string
		}{
			{"hwrestore", w.hostwall, []string{"restore", "--backend", "nft", "-4", n.whole}},
			{"iptrestore", "iptables-nft-restore", []string{n.whole}},
		}
		if i%2 == 1 {
			restores[0], restores[1] = restores[1], restores[0]
		}
		for _, r := range restores {
			if res.Failed[r.key] != "" {
				continue
			}
			if _, err := w.run(ctx, nil, io.Discard, "nft", "delete", "table", "ip", "filter"); err != nil {
				return nil, err
			}
			if ru, err = w.run(ctx, nil, io.Discard, r.name, r.args...); err != nil {
				if r.key != "hwrestore" {
					return nil, err
				}
				res.Failed[r.key] = err.Error()
				// Put the table back for the next runs.
				if _, err := w.run(ctx, nil, io.Discard, "nft", "delete", "table", "ip", "filter"); err != nil {
					return nil, err
				}
				if _, err := w.run(ctx, nil, io.Discard, "iptables-nft-restore", n.whole); err != nil {
					return nil, err
				}
				n.state = 0
				continue
			}
			n.state = 0
			add(r.key, ru.Wall)
			if check {
				if err := n.checkEnd(ctx, r.name+" of the whole table"); err != nil {
					return nil, err
				}
			}
		}
		// hostwall restore's two parts in this process: building the
		// batch (read, plan, encode) and the kernel's commit of it.
		if _, err := w.run(ctx, nil, io.Discard, "nft", "delete", "table", "ip", "filter"); err != nil {
			return nil, err
		}
		build, commit, err := restoreParts(ctx, conn, wholeFile)
		if err != nil {
			return nil, err
		}
		n.state = 0
		add("rsbuild", build)
		add("rscommit", commit)
		if check {
			if err := n.checkEnd(ctx, "hostwall restore's batch sent alone"); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

// commitAlone sends the batch an apply from the other policy to policy
// v sends (FILTERS' differing rule deleted by handle, the new one
// inserted before the next rule), built from the kernel's handles, and
// returns the time of the commit alone (sendmsg to the last answer):
// what the kernel costs a change of FILTERS at this size.
func (n *nftWorker) commitAlone(ctx context.Context, c *nft.Conn, v int) (float64, error) {
	gen, err := c.GenID(ctx)
	if err != nil {
		return 0, err
	}
	kr, err := c.Rules(ctx, nft.IPv4, "filter", "FILTERS", gen)
	if err != nil {
		return 0, err
	}
	k := n.diffAt
	if len(kr) != len(n.rules[v]) {
		return 0, fmt.Errorf("FILTERS has %d rules, the policy %d", len(kr), len(n.rules[v]))
	}
	exprs, compat, err := nft.EncodeRule(xtables.IPv4, n.rules[v][k])
	if err != nil {
		return 0, err
	}
	raw, err := nft.MarshalExprs(nft.IPv4, exprs)
	if err != nil {
		return 0, err
	}
	var b nft.Batch
	b.DelRule(nft.IPv4, "filter", "FILTERS", kr[k].Handle, "the old rule")
	at := nft.Placement{Append: true}
	if k+1 < len(kr) {
		at = nft.Placement{Before: kr[k+1].Handle}
	}
	b.AddRule(nft.NewRule{Family: nft.IPv4, Table: "filter", Chain: "FILTERS", Exprs: raw, Compat: compat, At: at, What: "the new rule"})
	start := time.Now()
	if err := c.Commit(ctx, &b, gen); err != nil {
		return 0, err
	}
	return time.Since(start).Seconds(), nil
}

// restoreParts builds the batch of hostwall restore --backend nft of
// file (engine.BuildNFTRestore: read, plan, encode) and commits it,
// timing each.
func restoreParts(ctx context.Context, c *nft.Conn, file *policy.File) (build, commit float64, err error) {
	supported := func(k ext.Kind, name string, rev uint8) (bool, error) {
		return c.Revision(ctx, nft.IPv4, k == ext.Target, name, rev)
	}
	start := time.Now()
	gen, err := c.GenID(ctx)
	if err != nil {
		return 0, 0, err
	}
	b, err := engine.BuildNFTRestore(ctx, c, xtables.IPv4, file, engine.RestoreOptions{}, supported, gen)
	if err != nil {
		return 0, 0, err
	}
	build = time.Since(start).Seconds()
	start = time.Now()
	if err := c.Commit(ctx, b, gen); err != nil {
		return 0, 0, err
	}
	return build, time.Since(start).Seconds(), nil
}

func (n *nftWorker) recipe(ctx context.Context, v int) (usage, error) {
	script := fmt.Sprintf(`egrep '%s' "$1" | iptables-nft-restore -n`, recipePattern)
	return n.run(ctx, nil, io.Discard, "sh", "-c", script, "sh", n.files[v])
}

var counterRE = regexp.MustCompile(`\[[0-9]+:[0-9]+\]`)

// iptSave is iptables-nft-save of the filter table without comments and
// with every counter zeroed: the state to compare.
func (n *nftWorker) iptSave(ctx context.Context) (string, error) {
	var out bytes.Buffer
	if _, err := n.run(ctx, nil, &out, "iptables-nft-save", "-t", "filter"); err != nil {
		return "", err
	}
	return counterRE.ReplaceAllString(stripComments(out.String()), "[0:0]"), nil
}

// checkEnd requires the table to hold what iptables-nft's recipe leaves
// for the policy FILTERS should hold now.
func (n *nftWorker) checkEnd(ctx context.Context, who string) error {
	got, err := n.iptSave(ctx)
	if err != nil {
		return err
	}
	if got != n.want[n.state] {
		return fmt.Errorf("%s left a different table than iptables-nft's recipe: %s", who, firstDiff(got, n.want[n.state]))
	}
	return nil
}

func writeNftTables(w io.Writer, rs []*result, runs, runs50k int) {
	fmt.Fprintf(w, "## nft times (ms, median of %d; %d at 50k foreign rules)\n\n", runs, runs50k)
	fmt.Fprintln(w, "| foreign rules | FILTERS rules | rules in table | save KiB | apply (CLI) | iptables-nft recipe | iptables-nft-restore -n alone | kernel commit of the change alone | no-change apply | hostwall restore | its batch built (in process) | its batch's commit alone | iptables-nft-restore | hostwall save | iptables-nft-save | apply max RSS (MiB) |")
	fmt.Fprintln(w, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %d | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.1f |\n",
			r.Foreign, r.Policy, r.Entries, r.Bytes/1024,
			ms(r.med("apply")), ms(r.med("recipe")), ms(r.med("restore")), ms(r.med("commit")), ms(r.med("nochange")),
			ms(r.med("hwrestore")), ms(r.med("rsbuild")), ms(r.med("rscommit")), ms(r.med("iptrestore")), ms(r.med("save")), ms(r.med("iptsave")), r.med("rss")/1024)
	}
	fmt.Fprintf(w, "\n## nft ratios and CPU (medians)\n\n")
	fmt.Fprintln(w, "| foreign rules | FILTERS rules | apply / recipe | apply / restore -n alone | apply / apply at 1k | no-change / apply | hostwall restore / iptables-nft-restore | hostwall save / iptables-nft-save | apply user CPU (ms) | apply system (ms) |")
	fmt.Fprintln(w, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	at1k := map[int]*result{}
	for _, r := range rs {
		if r.Foreign == 1000 {
			at1k[r.Policy] = r
		}
	}
	vs1k := func(r *result) string {
		if b := at1k[r.Policy]; b != nil {
			return ratio(r.med("apply"), b.med("apply"))
		}
		return "-"
	}
	for _, r := range rs {
		fmt.Fprintf(w, "| %d | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Foreign, r.Policy,
			ratio(r.med("apply"), r.med("recipe")), ratio(r.med("apply"), r.med("restore")), vs1k(r),
			ratio(r.med("nochange"), r.med("apply")), ratio(r.med("hwrestore"), r.med("iptrestore")),
			ratio(r.med("save"), r.med("iptsave")), ms(r.med("user")), ms(r.med("sys")))
	}
	for _, r := range rs {
		for _, k := range []string{"save", "hwrestore"} {
			if msg := r.Failed[k]; msg != "" {
				fmt.Fprintf(w, "\nAt %d foreign, FILTERS %d, hostwall %s failed (not measured, shown as 0): `%s`\n",
					r.Foreign, r.Policy, strings.TrimPrefix(k, "hw"), msg)
			}
		}
	}
	fmt.Fprintf(w, "\n## nft goals (measured, not asserted)\n\n")
	goal := func(ok bool, text string) {
		mark := "met"
		if !ok {
			mark = "NOT met"
		}
		fmt.Fprintf(w, "- %s: %s\n", text, mark)
	}
	for _, r := range rs {
		if r.Foreign != 50000 {
			continue
		}
		q := r.med("apply") / r.med("recipe")
		goal(q <= 1, fmt.Sprintf("50k foreign, FILTERS %d: apply that changes FILTERS no slower than the iptables-nft recipe (%.2fx; %.2fx of iptables-nft-restore -n alone; the kernel's commit of the change alone is %s ms of the apply's %s)",
			r.Policy, q, r.med("apply")/r.med("restore"), ms(r.med("commit")), ms(r.med("apply"))))
		if b := at1k[r.Policy]; b != nil {
			q = r.med("apply") / b.med("apply")
			goal(q <= 1.5, fmt.Sprintf("50k foreign, FILTERS %d: apply within 1.5x of its cost at 1k foreign (%s vs %s ms: %.2fx; the kernel's commit of the change alone grows %s -> %s ms, +%s of the apply's +%s; the recipe's growth %.2fx, +%s ms)",
				r.Policy, ms(r.med("apply")), ms(b.med("apply")), q, ms(b.med("commit")), ms(r.med("commit")),
				ms(r.med("commit")-b.med("commit")), ms(r.med("apply")-b.med("apply")),
				r.med("recipe")/b.med("recipe"), ms(r.med("recipe")-b.med("recipe"))))
		}
		q = r.med("nochange") / r.med("apply")
		goal(q <= 0.5, fmt.Sprintf("50k foreign, FILTERS %d: no-change apply at most half of a changing one (%.2f)", r.Policy, q))
		q = r.med("hwrestore") / r.med("iptrestore")
		if r.Failed["hwrestore"] != "" {
			q = 0
			fmt.Fprintf(w, "- 50k foreign, FILTERS %d: hostwall restore --backend nft of the whole table at most half of iptables-nft-restore (it failed): NOT met\n", r.Policy)
			continue
		}
		goal(q <= 0.5, fmt.Sprintf("50k foreign, FILTERS %d: hostwall restore --backend nft of the whole table at most half of iptables-nft-restore (%.2f; its batch's commit alone takes the kernel %s ms, %.2fx of iptables-nft-restore's whole run, building it %s ms)",
			r.Policy, q, ms(r.med("rscommit")), r.med("rscommit")/r.med("iptrestore"), ms(r.med("rsbuild"))))
	}
}

const nftLegend = `
## What the nft rows measure

Each size is a fresh network namespace holding the same synthetic
Docker and kube-proxy filter table as the legacy rows, loaded with
counters by iptables-nft-restore -c, then the seed article's setup
through iptables-nft (-N FILTERS, -I INPUT -j FILTERS, -I DOCKER-USER
-i eth0 -j FILTERS). Nothing resets the table between runs: FILTERS
alternates between two policies that differ in one rule, so every
changing apply, recipe and restore -n writes something. In the first
run at each size, every path is checked to leave the table that
iptables-nft's recipe leaves for that policy (iptables-nft-save without
comments, counters zeroed), and before it hostwall save --backend nft to
print what iptables-nft-save prints.

- **apply (CLI)**: ` + "`hostwall apply --backend nft -4 FILE`" + ` to the other policy,
  wall time of the process; **no-change apply** the same command again.
- **iptables-nft recipe**: ` + "`sh -c \"egrep '^(-[A-Z] FILTERS|COMMIT|\\*)' FILE | iptables-nft-restore -n\"`" + `;
  **iptables-nft-restore -n alone** is fed the already filtered lines.
- **hostwall restore** / **iptables-nft-restore**: ` + "`hostwall restore --backend nft -4 FILE`" + ` and
  ` + "`iptables-nft-restore FILE`" + ` of the whole table (what iptables-nft-save
  printed after the setup and a policy: every foreign rule, the hooks,
  FILTERS), each into a namespace whose ip filter table was deleted
  just before (` + "`nft delete table ip filter`" + `, not timed); the two take
  turns going first.
- **kernel commit of the change alone**: the batch a changing apply
  sends (FILTERS' one differing rule deleted by handle, the new one
  inserted before the next), built in the benchmark's process from the
  kernel's handles and timed from sendmsg to the last answer: the
  kernel's part of any tool's change of FILTERS at this size (nf_tables
  validates the whole table on a commit that adds a rule with a verdict:
  nft_table_validate walks every rule reachable from its base chains).
- **its batch built** / **its batch's commit alone**: hostwall restore's
  two parts, in the benchmark's process (engine.BuildNFTRestore: read,
  plan, encode; then the commit of that batch into a deleted table).
- **hostwall save** / **iptables-nft-save**: ` + "`-t filter`" + ` to /dev/null.
- **rules in table** counts the -A lines iptables-nft-save prints;
  **save KiB** is the size of that text.
`
