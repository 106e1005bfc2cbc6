package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
	"github.com/hostwall/hostwall/xtables/nft"
)

// RestoreOptions are iptables-restore's flags.
type RestoreOptions struct {
	// NoFlush is -n: keep what the file does not name.
	NoFlush bool
	// Counters is -c: take rule and policy counters from the file.
	Counters bool
	// LockWait bounds the wait for the xtables lock (x_tables only:
	// iptables-nft takes no lock either, nf_tables batches are atomic):
	// zero waits DefaultLockWait, NoLockWait (negative) not at all.
	LockWait time.Duration
	// Test is -t: read and build every table as a restore would, check
	// what the kernel can check before a write, and write nothing.
	Test bool
}

// Restore loads a parsed rules file into a family's tables, leaving the
// kernel as iptables-restore 1.8.9 of the backend in use would. Every
// table of the file is built before anything is written, so a mistake
// anywhere changes nothing.
//
// On x_tables each table is one atomic replace, as
// iptables-legacy-restore does. On nf_tables the whole file is one
// transaction, where iptables-nft-restore sends one per COMMIT: the end
// state is the same, and a failure leaves every table as it was.
func (h *Host) Restore(ctx context.Context, f *xtables.Family, file *policy.File, opt RestoreOptions) error {
	switch h.Backend {
	case NFTBackend:
		return h.restoreNFT(ctx, f, file, opt)
	case NativeBackend:
		// hostwall's own table holds only what apply puts there: owned
		// chains and their hooks. A whole iptables-restore file has no
		// place in it.
		return fmt.Errorf("restore: %w with --backend native (hostwall's own table is written by apply only); use --backend nft or legacy", ErrNotSupported)
	}
	return h.restoreLegacy(ctx, f, file, opt)
}

func (h *Host) restoreLegacy(ctx context.Context, f *xtables.Family, file *policy.File, opt RestoreOptions) error {
	conn := h.legacy[f]
	if conn == nil {
		return fmt.Errorf("no %s socket open", f)
	}
	if !opt.Test { // a test writes nothing: no lock to take
		lockCtx, cancel := context.WithTimeout(ctx, lockWait(opt.LockWait))
		defer cancel()
		lock, err := xtables.AcquireLock(lockCtx, xtables.LockFile())
		if err != nil {
			return err
		}
		defer lock.Release()
	}
	existing, err := xtables.TableNames(f)
	if err != nil {
		return err
	}
	supported := h.Supported(ctx, f)
	var tables []*xtables.Table
	for _, b := range file.Tables {
		var base *xtables.Table
		if slices.Contains(existing, b.Table) {
			if base, err = conn.Read(ctx, b.Table); err != nil {
				return err
			}
		}
		t, err := policy.Build(b, policy.BuildOptions{Family: f, Base: base, NoFlush: opt.NoFlush, Counters: opt.Counters, Supported: supported})
		if err != nil {
			return err
		}
		tables = append(tables, t)
	}
	if opt.Test {
		return nil
	}
	for _, t := range tables {
		if err := conn.Restore(ctx, t); err != nil {
			return err // names the family and the table
		}
	}
	return nil
}

func (h *Host) restoreNFT(ctx context.Context, f *xtables.Family, file *policy.File, opt RestoreOptions) error {
	supported := h.Supported(ctx, f)
	for attempt := 1; ; attempt++ {
		gen, err := h.nft.GenID(ctx)
		if err != nil {
			return err
		}
		b, err := BuildNFTRestore(ctx, h.nft, f, file, opt, supported, gen)
		if err != nil || opt.Test {
			return err
		}
		err = h.nft.Commit(ctx, b, gen)
		if errors.Is(err, nft.ErrGenChanged) && retryAfterGenChange(ctx, attempt) {
			continue // another writer got in: read and build again
		}
		if err != nil {
			return err // a refused rule names its file:line already
		}
		return nil
	}
}

// memoSupported asks the kernel about each extension revision once.
func memoSupported(probe func(ext.Kind, string, uint8) (bool, error)) func(ext.Kind, string, uint8) (bool, error) {
	type key struct {
		k    ext.Kind
		name string
		rev  uint8
	}
	seen := map[key]bool{}
	return func(k ext.Kind, name string, rev uint8) (bool, error) {
		if ok, found := seen[key{k, name, rev}]; found {
			return ok, nil
		}
		ok, err := probe(k, name, rev)
		if err == nil {
			seen[key{k, name, rev}] = ok
		}
		return ok, err
	}
}

// BuildNFTRestore reads the tables a rules file names (in generation
// gen) and returns the one batch that leaves nf_tables as
// iptables-nft-restore 1.8.9 would (iptables/nft.c, measured):
//
//   - Without -n a table is deleted and made again from the file: only
//     the objects the file creates exist afterwards. A table with nothing
//     in it is not created; a block that is empty deletes its table.
//   - A built-in chain exists if the file declares it (":INPUT DROP
//     [p:b]"), sets its policy (-P) or adds a rule to it. Declared, it
//     gets policy counters: the file's with -c, [0:0] without; -P sets
//     them to [0:0]; one made only for a rule has none, as 1.8.9's
//     nft_chain_builtin_add makes it.
//   - With -n the table is kept; a declared user chain is flushed, a
//     declared built-in chain keeps its rules but takes the policy and
//     counters above, and rules are added around the existing ones,
//     which keep their handles and counters. Rules 1.8.9 cannot read
//     (another tool's) stay where they are unless their chain is
//     flushed.
//
// Rule counters come from the file with -c, for IPv6 too (ip6tables-nft
// 1.8.9 drops them; hostwall does what the file says).
func BuildNFTRestore(ctx context.Context, c *nft.Conn, f *xtables.Family, file *policy.File,
	opt RestoreOptions, supported func(ext.Kind, string, uint8) (bool, error), gen uint32) (*nft.Batch, error) {
	snaps := map[string]*nft.Snapshot{}
	for _, blk := range file.Tables {
		if snaps[blk.Table] != nil {
			continue
		}
		snap, err := nft.ReadSnapshot(ctx, c, f, blk.Table, gen)
		if err != nil {
			return nil, fmt.Errorf("%s table %s: %w", f, blk.Table, err)
		}
		snaps[blk.Table] = snap
	}
	// Each extension revision is asked about once per build, whoever
	// calls (the restore, the bench).
	b, _, err := planNFTRestore(snaps, file, opt, memoSupported(supported))
	return b, err
}

// planNFTRestore is BuildNFTRestore on tables already read: snaps holds
// the kernel's copy of every table the file names.
func planNFTRestore(snaps map[string]*nft.Snapshot, file *policy.File, opt RestoreOptions,
	supported func(ext.Kind, string, uint8) (bool, error)) (*nft.Batch, []*restoreTable, error) {
	var order []*restoreTable
	byName := map[string]*restoreTable{}
	for _, blk := range file.Tables {
		st := byName[blk.Table]
		if st == nil {
			st = newRestoreTable(snaps[blk.Table], opt.NoFlush)
			byName[blk.Table] = st
			order = append(order, st)
		}
		if err := st.apply(blk, opt, supported); err != nil {
			return nil, nil, err
		}
	}
	b := &nft.Batch{}
	for _, st := range order {
		if err := st.emit(b); err != nil {
			return nil, nil, err
		}
	}
	return b, order, nil
}

// restoreTable follows one table through the blocks of a file: the
// kernel's table, and the model it is to become.
type restoreTable struct {
	snap *nft.Snapshot
	// deleted: a block without -n deletes the kernel's table first.
	deleted bool
	// table is the model after the blocks applied so far; nil before
	// the first when the kernel's table is not kept.
	table *xtables.Table
	// kernel maps each rule of table that is still the kernel's to it;
	// every other rule of table is new.
	kernel map[*xtables.Rule]*nft.Rule
	// origins gives the file line of each new rule.
	origins map[*xtables.Rule]*policy.Command
	// builtins says which built-in chains exist afterwards and what
	// becomes of their policy counters.
	builtins map[string]*builtinState
}

type builtinState struct {
	present bool
	// counters, when set, are written; otherwise an existing chain's
	// are left alone and a new chain gets none.
	counters *xtables.Counters
}

func newRestoreTable(snap *nft.Snapshot, noflush bool) *restoreTable {
	st := &restoreTable{snap: snap, kernel: map[*xtables.Rule]*nft.Rule{}, origins: map[*xtables.Rule]*policy.Command{}, builtins: map[string]*builtinState{}}
	for _, name := range nft.BuiltinNames(snap.Name) {
		st.builtins[name] = &builtinState{}
	}
	if noflush && snap.Exists {
		m := snap.Model()
		st.table, st.kernel = m.Table, m.Kernel
		for _, name := range nft.BuiltinNames(snap.Name) {
			st.builtins[name].present = !slices.Contains(m.Faked, name)
		}
	}
	return st
}

// apply builds one block on the table as it stands after the blocks
// before it.
func (st *restoreTable) apply(blk *policy.Block, opt RestoreOptions, supported func(ext.Kind, string, uint8) (bool, error)) error {
	f := st.snap.Family
	origins := map[*xtables.Rule]*policy.Command{}
	bo := policy.BuildOptions{Family: f, NoFlush: opt.NoFlush, Counters: opt.Counters, Supported: supported, Origins: origins}
	if opt.NoFlush {
		bo.Base = st.table
	}
	next, err := policy.Build(blk, bo)
	if err != nil {
		return err
	}
	kernel := map[*xtables.Rule]*nft.Rule{}
	if !opt.NoFlush {
		st.deleted = st.deleted || st.snap.Exists
		for _, b := range st.builtins {
			*b = builtinState{}
		}
	} else if st.table != nil {
		// Build copies the base table; the rules it did not add are the
		// base's, in their order: all of a chain's, or none if the block
		// flushed it (a restore file cannot delete single rules).
		for _, c := range next.Chains {
			var kept []*xtables.Rule
			for _, r := range c.Rules {
				if origins[r] == nil {
					kept = append(kept, r)
				}
			}
			if len(kept) == 0 {
				continue
			}
			old := st.table.Chain(c.Name)
			if old == nil || len(old.Rules) != len(kept) {
				return fmt.Errorf("%s: chain %s: %d rules kept that were not there before (internal error)", blk.Pos, c.Name, len(kept))
			}
			for i, r := range kept {
				if kr := st.kernel[old.Rules[i]]; kr != nil {
					kernel[r] = kr
				} else {
					origins[r] = st.origins[old.Rules[i]] // new in an earlier block
				}
			}
		}
	}
	st.table, st.kernel, st.origins = next, kernel, origins
	st.builtinEvents(blk, opt.Counters)
	return nil
}

// builtinEvents replays, in file order, what the block's lines do to the
// built-in chains' existence and policy counters.
func (st *restoreTable) builtinEvents(blk *policy.Block, withCounters bool) {
	type event struct {
		line  int
		chain string
		set   *xtables.Counters // counters written; nil: only made to exist
	}
	var evs []event
	for _, d := range blk.Chains {
		if _, ok := st.builtins[d.Name]; ok {
			ctr := xtables.Counters{}
			if withCounters {
				ctr = d.Counters
			}
			evs = append(evs, event{d.Pos.Line, d.Name, &ctr})
		}
	}
	for _, c := range blk.Commands {
		if _, ok := st.builtins[c.Chain]; !ok {
			continue
		}
		switch c.Op {
		case "-P":
			evs = append(evs, event{c.Pos.Line, c.Chain, &xtables.Counters{}})
		case "-A", "-I":
			evs = append(evs, event{c.Pos.Line, c.Chain, nil})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].line < evs[j].line })
	for _, e := range evs {
		b := st.builtins[e.chain]
		b.present = true
		if e.set != nil {
			b.counters = e.set
		}
	}
}

// emit adds to the batch what turns the kernel's table into the model.
func (st *restoreTable) emit(b *nft.Batch) error {
	f, name := st.snap.Family, st.snap.Name
	nf := nft.FamilyOf(f)
	if st.deleted {
		b.DelTable(nf, name)
	}
	exists := st.snap.Exists && !st.deleted
	var final []*xtables.Chain
	if st.table != nil {
		for _, c := range st.table.Chains {
			if !c.Builtin() || st.builtins[c.Name].present {
				final = append(final, c)
			}
		}
	}
	if !exists && len(final) == 0 {
		return nil // iptables-nft creates a table only to put something in it
	}
	if !exists {
		b.AddTable(nf, name)
	}
	inKernel := func(chain string) *nft.Chain {
		if !exists {
			return nil
		}
		kc := st.snap.Chain(chain)
		if kc == nil || (nft.IsBuiltinName(name, chain) && !nft.IsCompatibleBase(name, kc)) {
			return nil
		}
		return kc
	}
	finalByName := map[string]*xtables.Chain{}
	for _, c := range final {
		finalByName[c.Name] = c
	}
	// Deletions first: rules, then the chains -X removed (rules jumping
	// to them are among the rules deleted).
	if exists {
		for _, kc := range st.snap.Chains {
			if inKernel(kc.Name) == nil || (kc.Base != nil && !nft.IsBuiltinName(name, kc.Name)) {
				continue // a chain iptables-nft ignores is left alone
			}
			keep := map[uint64]bool{}
			if c := finalByName[kc.Name]; c != nil {
				for _, r := range c.Rules {
					if kr := st.kernel[r]; kr != nil {
						keep[kr.Handle] = true
					}
				}
			}
			rules := st.snap.Rules[kc.Name]
			switch {
			case len(keep) == len(rules):
			case len(keep) == 0:
				b.FlushChain(nf, name, kc.Name)
			default:
				for _, kr := range rules {
					if !keep[kr.Handle] {
						b.DelRule(nf, name, kc.Name, kr.Handle, fmt.Sprintf("deletion of rule %d in chain %s", kr.Handle, kc.Name))
					}
				}
			}
		}
		for _, kc := range st.snap.Chains {
			if kc.Base == nil && inKernel(kc.Name) != nil && finalByName[kc.Name] == nil {
				b.DelChain(nf, name, kc.Name)
			}
		}
	}
	// Chains before rules, so that every jump finds its chain.
	for _, c := range final {
		kc := inKernel(c.Name)
		if !c.Builtin() {
			if kc == nil {
				b.AddChain(nf, name, c.Name)
			}
			continue
		}
		bs := st.builtins[c.Name]
		base, _ := nft.Builtin(name, c.Name)
		base.Policy = nft.NFPolicy(c.Policy)
		if kc != nil && bs.counters == nil && kc.Base.Policy == base.Policy {
			continue // untouched
		}
		b.AddBaseChain(nf, name, c.Name, base, bs.counters)
	}
	inTable := func(r *xtables.Rule) (uint64, bool) {
		if kr := st.kernel[r]; kr != nil {
			return kr.Handle, true
		}
		return 0, false
	}
	for _, c := range final {
		at := placements(c.Rules, inTable)
		for i, r := range c.Rules {
			if st.kernel[r] != nil {
				continue
			}
			what := restoredRule{chain: c.Name, cmd: st.origins[r]}
			exprs, compat, err := nft.EncodeRule(f, r)
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			raw, err := nft.MarshalExprs(nf, exprs)
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			b.AddRule(nft.NewRule{Family: nf, Table: name, Chain: c.Name, Exprs: raw, Compat: compat, At: at[i], Where: what})
		}
	}
	return nil
}

// restoredRule names a rule of a restore in an error: where the file
// wrote it. It is a Stringer so that the name is made only for an error.
type restoredRule struct {
	chain string
	cmd   *policy.Command
}

func (w restoredRule) String() string {
	if w.cmd != nil {
		return fmt.Sprintf("rule at %s", w.cmd.Pos)
	}
	return fmt.Sprintf("rule of chain %s", w.chain)
}
