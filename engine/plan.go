package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
)

// Plan is the table to write for one desired table, and what changes.
type Plan struct {
	Current *xtables.Table
	Next    *xtables.Table
	// Owned-chain rules added and removed; rules kept keep their
	// counters.
	Added, Removed int
	// Hook rules inserted and removed, in save syntax.
	HooksInserted, HooksRemoved []string
	ChainsCreated               []string
	// Diff lists the changes as "+"/"-" lines in save syntax.
	Diff []string
}

// Changed reports whether writing the plan would change the kernel:
// whether Next and Current differ as Table.SameAs compares them.
func (p *Plan) Changed() bool { return !sameTable(p.Next, p.Current) }

// sameTable is a.SameAs(b), quicker for tables that share rules: a rule
// is the same as itself, and a plan copies most rules by pointer.
func sameTable(a, b *xtables.Table) bool {
	if a.Name != b.Name || a.Family != b.Family || len(a.Chains) != len(b.Chains) {
		return false
	}
	for i, c := range a.Chains {
		d := b.Chains[i]
		if c.Name != d.Name || c.Hook != d.Hook || c.Policy != d.Policy || len(c.Rules) != len(d.Rules) {
			return false
		}
		for j, r := range c.Rules {
			if r != d.Rules[j] && !r.SameAs(d.Rules[j]) {
				return false
			}
		}
	}
	return true
}

// PlanTable computes the table that holds want's owned chains and hooks
// and is otherwise cur, rule for rule. Rules that survive are the same
// *Rule values as in cur, which is how their counters are carried over.
func PlanTable(cur *xtables.Table, want *policy.DesiredTable) (*Plan, error) {
	p := &Plan{Current: cur}
	next := &xtables.Table{Family: cur.Family, Name: cur.Name}
	for _, c := range cur.Chains {
		nc := *c
		nc.Rules = slices.Clone(c.Rules)
		next.Chains = append(next.Chains, &nc)
	}
	p.Next = next

	// Owned chains: created when missing, their rules replaced. A rule
	// equal to an old one, in the same relative order, is the old one.
	for _, o := range want.Owned {
		c := next.Chain(o.Name)
		if c == nil {
			c = xtables.NewUserChain(o.Name)
			next.Chains = append(next.Chains, c)
			p.ChainsCreated = append(p.ChainsCreated, o.Name)
			p.Diff = append(p.Diff, fmt.Sprintf("+ -N %s", o.Name))
		}
		kept := matchRules(c.Rules, o.Rules)
		newRules := make([]*xtables.Rule, len(o.Rules))
		used := map[int]bool{}
		for i, r := range o.Rules {
			if j, ok := kept[i]; ok {
				newRules[i] = c.Rules[j]
				used[j] = true
				continue
			}
			nr := r.Clone()
			nr.Counters = xtables.Counters{}
			newRules[i] = nr
			p.Added++
			p.Diff = append(p.Diff, "+ "+cur.RuleText(c, nr, false))
		}
		for j, r := range c.Rules {
			if !used[j] {
				p.Removed++
				p.Diff = append(p.Diff, "- "+cur.RuleText(c, r, false))
			}
		}
		c.Rules = newRules
	}

	// Hooks: each desired hook present exactly once, kept where it is;
	// hooks to an owned chain that the file no longer has are removed.
	// A missing hook goes right after the hook the file has before it in
	// the same chain, or, when it is the first, to the top of the chain:
	// so the hooks of a chain are in the order the file gives them.
	for _, c := range next.Chains {
		if want.Owns(c.Name) {
			continue
		}
		var hooks []*policy.Hook
		for _, h := range want.Hooks {
			if h.Chain == c.Name {
				hooks = append(hooks, h)
			}
		}
		found := make([]*xtables.Rule, len(hooks))
		var rules []*xtables.Rule
		for _, r := range c.Rules {
			if !r.Target.IsStandard() || !want.Owns(r.Target.Chain) {
				rules = append(rules, r)
				continue
			}
			i := slices.IndexFunc(hooks, func(h *policy.Hook) bool { return h.Rule.SameAs(r) })
			if i >= 0 && found[i] == nil {
				found[i] = r
				rules = append(rules, r)
				continue
			}
			text := cur.RuleText(c, r, false)
			p.HooksRemoved = append(p.HooksRemoved, text)
			p.Diff = append(p.Diff, "- "+text)
		}
		at := 0 // where the next missing hook goes: the top, at first
		for i, h := range hooks {
			if r := found[i]; r != nil {
				at = slices.Index(rules, r) + 1
				continue
			}
			nr := h.Rule.Clone()
			nr.Counters = xtables.Counters{}
			rules = slices.Insert(rules, at, nr)
			at++
			text := cur.RuleText(c, nr, false)
			p.HooksInserted = append(p.HooksInserted, text)
			where := "at the top"
			if at > 1 {
				where = "after the hook before it in the file"
			}
			p.Diff = append(p.Diff, "+ "+text+"   (inserted "+where+")")
		}
		c.Rules = rules
	}
	// A hook in a user chain that does not exist yet (DOCKER-USER before
	// Docker ran) creates the chain, as iptables -N would, with every
	// hook the file has in it, in file order.
	for _, h := range want.Hooks {
		c := next.Chain(h.Chain)
		if c == nil {
			if slices.Contains(xtables.BuiltinNames(cur.Name), h.Chain) {
				return nil, &policy.Error{Pos: h.Pos, Msg: fmt.Sprintf("table %s has no built-in chain %s", cur.Name, h.Chain)}
			}
			c = xtables.NewUserChain(h.Chain)
			next.Chains = append(next.Chains, c)
			p.ChainsCreated = append(p.ChainsCreated, h.Chain)
			p.Diff = append(p.Diff, "+ -N "+h.Chain)
		} else if cur.Chain(h.Chain) != nil {
			continue // placed above
		}
		nr := h.Rule.Clone()
		nr.Counters = xtables.Counters{}
		c.Rules = append(c.Rules, nr)
		text := cur.RuleText(c, nr, false)
		p.HooksInserted = append(p.HooksInserted, text)
		p.Diff = append(p.Diff, "+ "+text)
	}
	// Every jump from an owned chain must land on a chain that exists.
	for _, o := range want.Owned {
		for i, r := range next.Chain(o.Name).Rules {
			if t := r.Target.Chain; t != "" {
				if c := next.Chain(t); c == nil || c.Builtin() {
					return nil, jumpError(cur.Name, want, o, i, t)
				}
			}
		}
	}
	next.SortChains()
	return p, nil
}

// planFor is PlanTable, or with remove the plan that takes want's owned
// chains and every hook to them away and changes nothing else.
func planFor(cur *xtables.Table, want *policy.DesiredTable, remove bool) (*Plan, error) {
	if !remove {
		return PlanTable(cur, want)
	}
	empty := &policy.DesiredTable{Table: want.Table}
	for _, o := range want.Owned {
		empty.Owned = append(empty.Owned, &policy.OwnedChain{Name: o.Name, Pos: o.Pos})
	}
	p, err := PlanTable(cur, empty)
	if err != nil {
		return nil, err
	}
	p.ChainsCreated = nil
	p.Diff = slices.DeleteFunc(p.Diff, func(l string) bool { return strings.HasPrefix(l, "+ -N ") })
	p.Next.Chains = slices.DeleteFunc(p.Next.Chains, func(c *xtables.Chain) bool {
		if !want.Owns(c.Name) {
			return false
		}
		if cur.Chain(c.Name) != nil {
			p.Diff = append(p.Diff, "- -X "+c.Name)
		}
		return true
	})
	return p, nil
}

// matchRules pairs new rules with equal old ones, keeping order: the
// longest common subsequence of the two lists, so that inserting or
// deleting one rule keeps every other rule (and its counters).
// It returns new index -> old index.
func matchRules(old, new []*xtables.Rule) map[int]int {
	n, m := len(new), len(old)
	// lcs[i][j] = LCS length of new[i:], old[j:]. Owned chains are
	// policy-sized (thousands of rules at most), so O(n*m) is fine;
	// equal prefixes and suffixes are trimmed first to keep it cheap.
	out := map[int]int{}
	lo := 0
	for lo < n && lo < m && new[lo].SameAs(old[lo]) {
		out[lo] = lo
		lo++
	}
	hiN, hiM := n, m
	for hiN > lo && hiM > lo && new[hiN-1].SameAs(old[hiM-1]) {
		hiN--
		hiM--
		out[hiN] = hiM
	}
	a, b := new[lo:hiN], old[lo:hiM]
	lcs := make([][]int32, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i].SameAs(b[j]) {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i].SameAs(b[j]):
			out[lo+i] = lo + j
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			i++
		default:
			j++
		}
	}
	return out
}

// jumpError is the error for an owned chain's rule that jumps to a chain
// the kernel's table does not have. It names the file line of the jump;
// when the file declares the chain, the likely mistake is a forgotten
// --chain, and it says so.
func jumpError(table string, want *policy.DesiredTable, o *policy.OwnedChain, i int, target string) error {
	pos := o.Pos
	if i < len(o.RulePos) {
		pos = o.RulePos[i]
	}
	fc := want.FileTable().Chain(target)
	if fc == nil || fc.Builtin() {
		return &policy.Error{Pos: pos, Msg: fmt.Sprintf("%s jumps to %s, which is not a user chain of the kernel's %s table", o.Name, target, table)}
	}
	var flags []string
	for _, oc := range want.Owned {
		flags = append(flags, "--chain "+oc.Name)
	}
	flags = append(flags, "--chain "+target)
	return &policy.Error{Pos: pos, Msg: fmt.Sprintf("%s jumps to %s, which the kernel's %s table does not have: the file declares %s, "+
		"but hostwall applies only the chains it owns (%s); to own %s too, give %s",
		o.Name, target, table, target, ownedNames(want), target, strings.Join(flags, " "))}
}

func ownedNames(want *policy.DesiredTable) string {
	var names []string
	for _, o := range want.Owned {
		names = append(names, o.Name)
	}
	return strings.Join(names, ", ")
}
