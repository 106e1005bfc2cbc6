package engine

import (
	"context"
	"errors"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
)

// RuleCounters is one kernel rule of hostwall's with its counters: a
// rule of an owned chain, or a hook.
type RuleCounters struct {
	Family *xtables.Family
	Table  string
	Chain  string
	// Index is the rule's 1-based position in its chain.
	Index int
	// Hook: a rule of another chain jumping to an owned one.
	Hook     bool
	Text     string
	Counters xtables.Counters
}

// OwnedCounters reads the counters of every owned rule and hook the
// kernel holds for ds (owned chains as the kernel has them, which is what
// ds say once applied). A table that does not exist has none.
func (h *Host) OwnedCounters(ctx context.Context, ds []*policy.Desired) ([]RuleCounters, error) {
	var out []RuleCounters
	for _, d := range ds {
		for _, dt := range d.Tables {
			t, err := h.ReadTable(ctx, d.Family, dt.Table)
			if errors.Is(err, ErrNoTable) {
				continue
			}
			if err != nil {
				return out, err
			}
			for _, c := range t.Chains {
				owned := dt.Owns(c.Name)
				for i, r := range c.Rules {
					hook := !owned && r.Target.IsStandard() && dt.Owns(r.Target.Chain)
					if !owned && !hook {
						continue
					}
					out = append(out, RuleCounters{Family: d.Family, Table: dt.Table, Chain: c.Name, Index: i + 1, Hook: hook,
						Text: t.RuleText(c, r, false), Counters: r.Counters})
				}
			}
		}
	}
	return out, nil
}
