package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
	"github.com/hostwall/hostwall/xtables/nft"
)

// NFT drives nf_tables in the form iptables-nft 1.8.9 writes (tables
// "ip filter", "ip6 filter", …), so that iptables-nft, Docker and
// kube-proxy keep reading and writing the same chains.
//
// Unlike the legacy backend it never rewrites a table: it reads only the
// chains a plan needs (owned chains, the chains holding hooks, the
// chains owned rules jump to), deletes the rules that go by handle,
// inserts the new ones at their place, and leaves every other rule as it
// is, handle and counters included. Both families go in one batch,
// checked against the generation read before planning.
type NFT struct {
	Conn *nft.Conn
	// form is how model tables are kept in nf_tables: nil for
	// iptables-nft's form, nativeForm for hostwall's own table.
	form nftForm
}

// nftForm is what tells the two nf_tables backends apart, everything
// else (scoped reads, the plan, the diff by handle, the one batch, the
// verify) being shared: the kernel table a model table lives in, and
// how its chains and rules are read and written.
type nftForm interface {
	// kernelTable is the nf_tables table holding the model table.
	kernelTable(model string) string
	// modelChain turns a kernel chain into an empty chain of the model.
	modelChain(model string, kc *nft.Chain) (*xtables.Chain, error)
	// decode reads a kernel rule, or returns its placeholder.
	decode(f *xtables.Family, chain string, kr *nft.Rule) *xtables.Rule
	encode(f *xtables.Family, chain string, r *xtables.Rule) (*nft.NativeRule, error)
	// base says whether a chain of the model is created as a base
	// chain, and which.
	base(model string, c *xtables.Chain) (nft.BaseChain, bool)
	// canonical is the rule as it reads back after being written.
	canonical(f *xtables.Family, chain string, r *xtables.Rule) *xtables.Rule
}

// iptablesForm is iptables-nft 1.8.9's: "ip filter" for *filter, its
// base chains, its rule codec.
type iptablesForm struct{}

func (iptablesForm) kernelTable(model string) string { return model }

func (iptablesForm) modelChain(model string, kc *nft.Chain) (*xtables.Chain, error) {
	return nft.ToXtablesChain(model, kc)
}

func (iptablesForm) decode(f *xtables.Family, _ string, kr *nft.Rule) *xtables.Rule {
	return decodeKernelRule(f, kr)
}

func (iptablesForm) encode(f *xtables.Family, _ string, r *xtables.Rule) (*nft.NativeRule, error) {
	exprs, compat, err := nft.EncodeRule(f, r)
	if err != nil {
		return nil, err
	}
	return &nft.NativeRule{Exprs: exprs, Compat: compat}, nil
}

func (iptablesForm) base(model string, c *xtables.Chain) (nft.BaseChain, bool) {
	if !c.Builtin() {
		return nft.BaseChain{}, false
	}
	b, ok := nft.Builtin(model, c.Name)
	b.Policy = nft.NFPolicy(c.Policy)
	return b, ok
}

func (iptablesForm) canonical(f *xtables.Family, _ string, r *xtables.Rule) *xtables.Rule {
	return canonical(f, r)
}

func (n *NFT) fm() nftForm {
	if n.form == nil {
		return iptablesForm{}
	}
	return n.form
}

func (st *nftState) fm() nftForm {
	if st.form == nil {
		return iptablesForm{}
	}
	return st.form
}

// nftChain is a chain as read for a plan: the kernel chain (nil when it
// does not exist yet) and the handle of each of its rules.
type nftChain struct {
	kernel *nft.Chain
	rules  []*nft.Rule
}

// nftState is what was read of one table for one plan.
type nftState struct {
	family     *xtables.Family
	table      *xtables.Table
	exists     bool
	chains     map[string]*nftChain
	handles    map[*xtables.Rule]uint64
	wholeTable bool
	// kernelTable is the nf_tables table read (table.Name is the
	// model's), form how it is written.
	kernelTable string
	form        nftForm
}

// ApplyAll makes each family's owned chains and hooks what ds say, in
// one nf_tables transaction for all of them.
func (n *NFT) ApplyAll(ctx context.Context, ds []*policy.Desired, opt Options) ([]*Report, error) {
	for attempt := 1; ; attempt++ {
		reps, err := n.applyOnce(ctx, ds, opt, attempt)
		if errors.Is(err, nft.ErrGenChanged) && retryAfterGenChange(ctx, attempt) {
			continue // another writer got in: read again and plan again
		}
		return reps, err
	}
}

func (n *NFT) applyOnce(ctx context.Context, ds []*policy.Desired, opt Options, attempt int) ([]*Report, error) {
	gen, err := n.Conn.GenID(ctx)
	if err != nil {
		return nil, nothingWritten(ctx, ds, err)
	}
	var (
		b      nft.Batch
		reps   []*Report
		states []*nftState
		trs    []*TableReport
		// native tables deleted whole (Options.Remove)
		dropped []*TableReport
	)
	for _, d := range ds {
		rep := &Report{Family: d.Family}
		reps = append(reps, rep)
		for _, dt := range d.Tables {
			dt = canonicalTable(n.fm(), d.Family, dt)
			st, err := n.read(ctx, d.Family, dt, gen)
			if err != nil {
				return nil, nothingWritten(ctx, ds, fmt.Errorf("%s table %s: %w", d.Family, dt.Table, err))
			}
			plan, err := planFor(st.table, dt, opt.Remove)
			if err != nil {
				return nil, nothingWritten(ctx, ds, err) // names the file line
			}
			if plan.Changed() {
				// What the kernel would refuse, through nft_compat as
				// through x_tables: refused before the batch is sent.
				if err := checkPlan(d.Family, dt, plan, true); err != nil {
					return nil, nothingWritten(ctx, ds, err)
				}
			}
			tr := &TableReport{Table: dt.Table, Plan: plan, Attempts: attempt}
			rep.Tables = append(rep.Tables, tr)
			if plan.Changed() && opt.Remove && n.form != nil {
				// The native table is hostwall's alone: delete it.
				b.DelTable(nft.FamilyOf(d.Family), st.kernelTableName())
				dropped = append(dropped, tr)
				continue
			}
			if plan.Changed() {
				if err := st.diff(&b, plan, d, dt); err != nil {
					return nil, nothingWritten(ctx, ds, fmt.Errorf("%s table %s: %w", d.Family, dt.Table, err))
				}
				states = append(states, st)
				trs = append(trs, tr)
			}
		}
	}
	if opt.DryRun || b.Empty() {
		return reps, nil
	}
	if ctx.Err() != nil {
		return reps, stopped(ctx, ds)
	}
	// From here on the apply runs to its end, whatever the signals: the
	// one transaction of every family, then its verification.
	ctx = context.WithoutCancel(ctx)
	if err := n.Conn.Commit(ctx, &b, gen); err != nil {
		return reps, nothingWritten(ctx, ds, asRuleRefused(err)) // one transaction: all or nothing
	}
	for _, tr := range dropped {
		tr.Written = true
	}
	for i, st := range states {
		trs[i].Written = true
		trs[i].CountersKept = st.countersKept(trs[i].Plan)
	}
	// Verify what was written with a read as scoped as the plan's.
	for i, st := range states {
		if err := n.verify(ctx, st, trs[i].Plan); err != nil {
			return reps, fmt.Errorf("%s table %s: %w", st.family, st.table.Name, err)
		}
	}
	return reps, nil
}

// read reads the chains of one table that a plan for dt needs.
func (n *NFT) read(ctx context.Context, fam *xtables.Family, dt *policy.DesiredTable, gen uint32) (*nftState, error) {
	nf := nft.FamilyOf(fam)
	kt := n.fm().kernelTable(dt.Table)
	st := &nftState{
		family:      fam,
		table:       &xtables.Table{Family: fam, Name: dt.Table},
		chains:      map[string]*nftChain{},
		handles:     map[*xtables.Rule]uint64{},
		kernelTable: kt,
		form:        n.form,
	}
	tables, err := n.Conn.Tables(ctx, nf, gen)
	if err != nil {
		return nil, err
	}
	st.exists = slices.ContainsFunc(tables, func(t *nft.Table) bool { return t.Name == kt })

	// The chains a plan touches or looks at: owned chains, chains holding
	// the file's hooks, chains owned rules jump to, and DOCKER-USER. Not
	// the other built-in chains: a stale hook there shows in the owned
	// chain's use count, and only then is the rest read.
	var names []string
	add := func(s string) {
		if !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	for _, o := range dt.Owned {
		add(o.Name)
		for _, r := range o.Rules {
			if r.Target.IsStandard() && r.Target.Chain != "" {
				add(r.Target.Chain)
			}
		}
	}
	for _, h := range dt.Hooks {
		add(h.Chain)
	}
	add("DOCKER-USER")
	if !st.exists {
		for _, name := range nft.BuiltinNames(dt.Table) {
			st.addAbsentBuiltin(name)
		}
		st.table.SortChains()
		return st, nil
	}
	for _, name := range names {
		if err := n.readChain(ctx, st, nf, kt, name, gen); err != nil {
			return nil, err
		}
	}
	// A hook to an owned chain may sit in a chain not read: the owned
	// chain's reference count tells. Then read the whole table, once.
	if st.unaccountedRefs(dt) {
		if err := n.readWholeTable(ctx, st, nf, kt, gen); err != nil {
			return nil, err
		}
	}
	st.table.SortChains()
	return st, nil
}

// addAbsentBuiltin puts a built-in chain that does not exist in the
// kernel into the model, empty and ACCEPT, as iptables-nft would create
// it on the first rule.
func (st *nftState) addAbsentBuiltin(name string) {
	b, _ := nft.Builtin(st.table.Name, name)
	st.table.Chains = append(st.table.Chains, &xtables.Chain{Name: name, Hook: int(b.Hook), Policy: xtables.VerdictAccept})
	st.chains[name] = &nftChain{}
}

func (n *NFT) readChain(ctx context.Context, st *nftState, nf byte, table, name string, gen uint32) error {
	kc, err := n.Conn.Chain(ctx, nf, table, name)
	if err != nil {
		return err
	}
	if kc == nil {
		if nft.IsBuiltinName(st.table.Name, name) {
			st.addAbsentBuiltin(name)
		}
		return nil
	}
	rules, err := n.Conn.Rules(ctx, nf, table, name, gen)
	if err != nil {
		return err
	}
	return st.addChain(table, kc, rules)
}

func (st *nftState) addChain(table string, kc *nft.Chain, rules []*nft.Rule) error {
	xc, err := st.fm().modelChain(st.table.Name, kc)
	if err != nil {
		return err
	}
	for _, kr := range rules {
		r := st.fm().decode(st.family, kc.Name, kr)
		st.handles[r] = kr.Handle
		xc.Rules = append(xc.Rules, r)
	}
	st.table.Chains = append(st.table.Chains, xc)
	st.chains[kc.Name] = &nftChain{kernel: kc, rules: rules}
	return nil
}

// decodeKernelRule decodes a kernel rule into the model, or returns the
// placeholder of a rule that is not in iptables-nft's form.
func decodeKernelRule(f *xtables.Family, kr *nft.Rule) *xtables.Rule {
	exprs, err := nft.UnmarshalExprs(kr.Family, kr.Exprs)
	if err != nil {
		return nft.ForeignRule(kr)
	}
	r, err := nft.DecodeRule(f, exprs, kr.UserData)
	if err != nil {
		return nft.ForeignRule(kr)
	}
	return r
}

// unaccountedRefs reports whether an owned chain is referenced from a
// rule outside the chains read: a hook the plan would otherwise miss.
func (st *nftState) unaccountedRefs(dt *policy.DesiredTable) bool {
	for _, o := range dt.Owned {
		c := st.chains[o.Name]
		if c == nil || c.kernel == nil {
			continue
		}
		refs := int(c.kernel.Use) - len(c.rules)
		found := 0
		for _, xc := range st.table.Chains {
			for _, r := range xc.Rules {
				if r.Target.IsStandard() && r.Target.Chain == o.Name {
					found++
				}
			}
		}
		if refs > found {
			return true
		}
	}
	return false
}

func (n *NFT) readWholeTable(ctx context.Context, st *nftState, nf byte, table string, gen uint32) error {
	chains, err := n.Conn.Chains(ctx, nf, table, gen)
	if err != nil {
		return err
	}
	rules, err := n.Conn.Rules(ctx, nf, table, "", gen)
	if err != nil {
		return err
	}
	byChain := map[string][]*nft.Rule{}
	for _, r := range rules {
		byChain[r.Chain] = append(byChain[r.Chain], r)
	}
	for _, kc := range chains {
		if c := st.chains[kc.Name]; c != nil && c.kernel != nil {
			continue
		}
		if err := st.addChain(table, kc, byChain[kc.Name]); err != nil {
			return err
		}
	}
	st.wholeTable = true
	return nil
}

// diff adds to b the messages that turn the chains read into plan.Next.
func (st *nftState) diff(b *nft.Batch, plan *Plan, d *policy.Desired, dt *policy.DesiredTable) error {
	nf := nft.FamilyOf(st.family)
	table := st.kernelTableName()
	if !st.exists {
		b.AddTable(nf, table)
	}
	cur := map[string]*xtables.Chain{}
	for _, c := range plan.Current.Chains {
		cur[c.Name] = c
	}
	// Chains first, so that rules of the batch can jump to them.
	for _, c := range plan.Next.Chains {
		kc := st.chains[c.Name]
		if kc != nil && kc.kernel != nil {
			continue
		}
		if base, ok := st.fm().base(st.table.Name, c); ok {
			if len(c.Rules) == 0 {
				continue // no rule needs it: create nothing
			}
			b.AddBaseChain(nf, table, c.Name, base, nil)
		} else {
			b.AddChain(nf, table, c.Name)
		}
	}
	for _, c := range plan.Next.Chains {
		old := cur[c.Name]
		var oldRules []*xtables.Rule
		if old != nil {
			oldRules = old.Rules
		}
		kept := map[*xtables.Rule]bool{}
		for _, r := range c.Rules {
			if _, ok := st.handles[r]; ok {
				kept[r] = true
			}
		}
		// Kept rules must keep their order: a plan only removes and
		// inserts around them.
		var keptOrder []*xtables.Rule
		for _, r := range oldRules {
			if kept[r] {
				keptOrder = append(keptOrder, r)
			}
		}
		i := 0
		for _, r := range c.Rules {
			if kept[r] {
				if keptOrder[i] != r {
					return fmt.Errorf("chain %s: the plan reorders rules it keeps", c.Name)
				}
				i++
			}
		}
		for _, r := range oldRules {
			if !kept[r] {
				b.DelRule(nf, table, c.Name, st.handles[r], "deletion in chain "+c.Name)
			}
		}
		for j, r := range c.Rules {
			if kept[r] {
				continue
			}
			enc, err := st.fm().encode(st.family, c.Name, r)
			if err != nil {
				return fmt.Errorf("%s: %w", ruleOrigin(d, dt, c.Name, r), err)
			}
			raw, err := nft.MarshalExprs(nf, enc.Exprs)
			if err != nil {
				return fmt.Errorf("%s: %w", ruleOrigin(d, dt, c.Name, r), err)
			}
			at := nft.Placement{Append: true}
			for _, later := range c.Rules[j+1:] {
				if kept[later] {
					at = nft.Placement{Before: st.handles[later]}
					break
				}
			}
			// Named only if the kernel refuses it: finding a rule's line
			// is a scan of its chain, for every rule an apply adds.
			added := addedRule{d, dt, c.Name, r}
			b.AddRule(nft.NewRule{Family: nf, Table: table, Chain: c.Name, Exprs: raw, Compat: enc.Compat, UserData: enc.UserData, At: at,
				Where: added, Ref: added})
		}
	}
	// Chains the plan takes away (Options.Remove): their rules, then
	// the chains, once nothing jumps to them.
	for _, c := range plan.Current.Chains {
		kc := st.chains[c.Name]
		if plan.Next.Chain(c.Name) != nil || kc == nil || kc.kernel == nil {
			continue
		}
		for _, r := range c.Rules {
			b.DelRule(nf, table, c.Name, st.handles[r], "deletion in chain "+c.Name)
		}
	}
	for _, c := range plan.Current.Chains {
		if kc := st.chains[c.Name]; plan.Next.Chain(c.Name) == nil && kc != nil && kc.kernel != nil {
			b.DelChain(nf, table, c.Name)
		}
	}
	return nil
}

// refusedRule is the RuleRefusedError of a rule the plan adds, but for
// its Err: the nft.NewRule's Ref, made whole by asRuleRefused when the
// kernel refuses the rule.
func refusedRule(d *policy.Desired, dt *policy.DesiredTable, chain string, r *xtables.Rule) *RuleRefusedError {
	e := &RuleRefusedError{Family: d.Family, Table: dt.Table, Chain: chain, Rule: dt.Text(chain, r)}
	e.Pos, _ = dt.Locate(chain, r, ext.Target, "")
	e.Pos.Col = 0
	return e
}

// addedRule is a rule an apply adds, as its batch message's name and
// reference, worked out only when the kernel refuses it.
type addedRule struct {
	d     *policy.Desired
	dt    *policy.DesiredTable
	chain string
	r     *xtables.Rule
}

func (a addedRule) String() string { return ruleOrigin(a.d, a.dt, a.chain, a.r) }

// asRuleRefused is err, a *RuleRefusedError when it is the kernel
// refusing a rule of the batch (an *nft.RefusedError with a Ref).
func asRuleRefused(err error) error {
	var re *nft.RefusedError
	if !errors.As(err, &re) {
		return err
	}
	a, ok := re.Ref.(addedRule)
	if !ok {
		return err
	}
	e := refusedRule(a.d, a.dt, a.chain, a.r)
	e.Err = err
	return e
}

// ruleOrigin names a rule of the plan by where the rules file wrote it,
// for an error about it (the kernel refusing it, say).
func ruleOrigin(d *policy.Desired, dt *policy.DesiredTable, chain string, r *xtables.Rule) string {
	for _, o := range dt.Owned {
		if o.Name != chain {
			continue
		}
		for i, or := range o.Rules {
			if or.SameAs(r) {
				return fmt.Sprintf("rule at %s (%s)", o.RulePos[i], dt.Text(chain, r))
			}
		}
	}
	for _, h := range dt.Hooks {
		if h.Chain == chain && h.Rule.SameAs(r) {
			return fmt.Sprintf("rule at %s (%s)", h.Pos, dt.Text(chain, r))
		}
	}
	return fmt.Sprintf("rule of %s in chain %s", d.File, chain)
}

// kernelTableName is the nf_tables table the state was read from.
func (st *nftState) kernelTableName() string {
	if st.kernelTable == "" {
		return st.table.Name
	}
	return st.kernelTable
}

// countersKept counts the rules of the chains changed whose non-zero
// counters survive because the rules were left in place.
func (st *nftState) countersKept(plan *Plan) int {
	n := 0
	for _, c := range plan.Next.Chains {
		for _, r := range c.Rules {
			if _, ok := st.handles[r]; ok && r.Counters != (xtables.Counters{}) {
				n++
			}
		}
	}
	return n
}

// verify reads back the chains the plan changed and requires them to be
// what it wrote: the kept rules with their handles, the new ones equal
// to the plan's.
func (n *NFT) verify(ctx context.Context, st *nftState, plan *Plan) error {
	nf := nft.FamilyOf(st.family)
	cur := map[string]*xtables.Chain{}
	for _, c := range plan.Current.Chains {
		cur[c.Name] = c
	}
	for _, c := range plan.Next.Chains {
		if old := cur[c.Name]; old != nil && slices.Equal(old.Rules, c.Rules) && st.chains[c.Name].kernel != nil {
			continue // untouched
		}
		if _, base := st.fm().base(st.table.Name, c); base && len(c.Rules) == 0 && (st.chains[c.Name] == nil || st.chains[c.Name].kernel == nil) {
			continue // not created
		}
		rules, err := n.Conn.Rules(ctx, nf, st.kernelTableName(), c.Name, 0)
		if err != nil {
			return fmt.Errorf("read back: %w", err)
		}
		if len(rules) != len(c.Rules) {
			return fmt.Errorf("read back after writing: chain %s has %d rules, hostwall wrote %d (another writer got in?)", c.Name, len(rules), len(c.Rules))
		}
		for i, kr := range rules {
			want := c.Rules[i]
			if h, ok := st.handles[want]; ok {
				if kr.Handle != h {
					return fmt.Errorf("read back after writing: chain %s rule %d is handle %d, want %d", c.Name, i+1, kr.Handle, h)
				}
				continue
			}
			if got := st.fm().decode(st.family, c.Name, kr); !got.SameAs(st.fm().canonical(st.family, c.Name, want)) {
				return fmt.Errorf("read back after writing: chain %s rule %d differs from what hostwall wrote: %s", c.Name, i+1, plan.Next.RuleText(c, want, false))
			}
		}
	}
	return nil
}

// canonical is the rule as it reads back from nf_tables: encoding and
// decoding again drops what iptables-nft's form cannot hold.
func canonical(f *xtables.Family, r *xtables.Rule) *xtables.Rule {
	exprs, _, err := nft.EncodeRule(f, r)
	if err != nil {
		return r
	}
	d, err := nft.DecodeRule(f, exprs, nil)
	if err != nil {
		return r
	}
	return d
}

// canonicalTable is dt with every rule in the form it reads back from
// nf_tables, so that an unchanged rule compares equal to the kernel's.
func canonicalTable(form nftForm, f *xtables.Family, dt *policy.DesiredTable) *policy.DesiredTable {
	c := *dt
	c.Owned = nil
	for _, o := range dt.Owned {
		no := *o
		no.Rules = make([]*xtables.Rule, len(o.Rules))
		for i, r := range o.Rules {
			no.Rules[i] = form.canonical(f, o.Name, r)
		}
		c.Owned = append(c.Owned, &no)
	}
	c.Hooks = nil
	for _, h := range dt.Hooks {
		nh := *h
		nh.Rule = form.canonical(f, h.Chain, h.Rule)
		c.Hooks = append(c.Hooks, &nh)
	}
	return &c
}
