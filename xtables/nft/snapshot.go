package nft

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hostwall/hostwall/xtables"
)

// Snapshot is one table of one family as the kernel holds it: its
// chains and rules, read in one generation, with nothing interpreted.
type Snapshot struct {
	Family *xtables.Family
	Name   string
	// Exists is false for a table the kernel does not have; Chains and
	// Rules are then empty.
	Exists bool
	Table  *Table
	// Chains in the kernel's order (creation order).
	Chains []*Chain
	// Rules of each chain, in order.
	Rules map[string][]*Rule
}

// ReadSnapshot reads a whole table in generation gen (0: unchecked).
// A dump made in another generation returns ErrGenChanged: read again.
// Reading creates nothing.
func ReadSnapshot(ctx context.Context, c *Conn, f *xtables.Family, name string, gen uint32) (*Snapshot, error) {
	nf := FamilyOf(f)
	s := &Snapshot{Family: f, Name: name, Rules: map[string][]*Rule{}}
	tables, err := c.Tables(ctx, nf, gen)
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		if t.Name == name {
			s.Table, s.Exists = t, true
		}
	}
	if !s.Exists {
		return s, nil
	}
	if s.Chains, err = c.Chains(ctx, nf, name, gen); err != nil {
		return nil, err
	}
	rules, err := c.Rules(ctx, nf, name, "", gen)
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		s.Rules[r.Chain] = append(s.Rules[r.Chain], r)
	}
	return s, nil
}

// Chain returns the kernel chain of that name, nil if there is none.
func (s *Snapshot) Chain(name string) *Chain {
	for _, c := range s.Chains {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Model is a snapshot as iptables-nft 1.8.9 reads it: the table in the
// shared model, every built-in chain present (faked as ACCEPT [0:0] when
// the kernel has none, as nft_xt_fake_builtin_chains does), and each
// rule tied to the kernel rule it came from.
type Model struct {
	Table *xtables.Table
	// Kernel is the kernel rule of every rule of Table.
	Kernel map[*xtables.Rule]*Rule
	// Foreign says why a rule of Table is a placeholder (IsForeign): it
	// is not in the form iptables-nft 1.8.9 writes and reads back.
	Foreign map[*xtables.Rule]error
	// Faked lists the built-in chains the kernel does not have.
	Faked []string
	// Ignored are chains iptables-nft does not recognise and leaves out
	// of the table: base chains other than its own (a "tainted" table)
	// and plain chains named like a built-in one.
	Ignored []IgnoredChain
}

// IgnoredChain is a kernel chain left out of a Model, with its rules.
type IgnoredChain struct {
	Chain *Chain
	Rules []*Rule
}

// Model interprets the snapshot. It never fails: what iptables-nft
// cannot read is kept as placeholders and ignored chains.
func (s *Snapshot) Model() *Model {
	m := &Model{
		Table:   &xtables.Table{Family: s.Family, Name: s.Name},
		Kernel:  map[*xtables.Rule]*Rule{},
		Foreign: map[*xtables.Rule]error{},
	}
	add := func(xc *xtables.Chain, kc *Chain) {
		for _, kr := range s.Rules[kc.Name] {
			r, err := decodeKernel(s.Family, kr)
			if err != nil {
				r = ForeignRule(kr)
				m.Foreign[r] = err
			}
			m.Kernel[r] = kr
			xc.Rules = append(xc.Rules, r)
		}
	}
	for _, name := range BuiltinNames(s.Name) {
		b, _ := Builtin(s.Name, name)
		xc := &xtables.Chain{Name: name, Hook: int(b.Hook), Policy: xtables.VerdictAccept}
		m.Table.Chains = append(m.Table.Chains, xc)
		kc := s.Chain(name)
		if kc == nil || !IsCompatibleBase(s.Name, kc) {
			m.Faked = append(m.Faked, name)
			continue
		}
		xc.Policy = Policy(kc.Base.Policy)
		if kc.Counters != nil {
			xc.Counters = *kc.Counters
		}
		add(xc, kc)
	}
	var users []*Chain
	for _, kc := range s.Chains {
		switch {
		case kc.Base != nil && IsCompatibleBase(s.Name, kc):
			// a built-in chain, read above
		case kc.Base != nil || IsBuiltinName(s.Name, kc.Name):
			m.Ignored = append(m.Ignored, IgnoredChain{Chain: kc, Rules: s.Rules[kc.Name]})
		default:
			users = append(users, kc)
		}
	}
	// iptables-nft lists user chains sorted by name (strcmp), whatever
	// order the kernel keeps them in.
	slices.SortFunc(users, func(a, b *Chain) int { return strings.Compare(a.Name, b.Name) })
	for _, kc := range users {
		xc := xtables.NewUserChain(kc.Name)
		m.Table.Chains = append(m.Table.Chains, xc)
		add(xc, kc)
	}
	return m
}

// decodeKernel decodes a kernel rule into the model; the error says why
// it is not in iptables-nft's form.
func decodeKernel(f *xtables.Family, kr *Rule) (*xtables.Rule, error) {
	exprs, err := UnmarshalExprs(kr.Family, kr.Exprs)
	if err != nil {
		return nil, fmt.Errorf("%w: expressions unreadable: %v", ErrForeign, err)
	}
	return DecodeRule(f, exprs, kr.UserData)
}
