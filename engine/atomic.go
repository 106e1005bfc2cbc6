package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
)

// An apply is all or nothing, across tables and families, and whatever
// stops it says what the kernel holds:
//
//   - Everything the kernel checks that can be known in advance is
//     checked before the first write (checkPlan): an extension outside
//     its tables or hooks, a loop of jumps.
//   - A signal (a cancelled context) before the first write stops the
//     apply with a StoppedError: nothing written. From the first write
//     on the context is no longer heeded: the writes, their verification
//     and any rollback run to their end.
//   - On nf_tables one transaction holds every family; on x_tables, a
//     table the kernel refuses after others were written has those
//     others put back as they were, counters included.

// StoppedError is an apply stopped before it wrote anything, by its
// context: a signal, or a deadline.
type StoppedError struct {
	// Cause is why the context ended (context.Cause).
	Cause error
	// Tables are the tables the apply would have written, "IPv4 filter".
	Tables []string
	err    error
}

func (e *StoppedError) Error() string {
	return fmt.Sprintf("stopped before writing (%v): nothing was written%s", e.Cause, asTheyWere(e.Tables))
}

// Unwrap is the context's error, context.Canceled for a signal.
func (e *StoppedError) Unwrap() error { return e.err }

// stopped is the error of an apply its context ended before it wrote.
func stopped(ctx context.Context, ds []*policy.Desired) error {
	return &StoppedError{Cause: context.Cause(ctx), Tables: tableNames(ds), err: ctx.Err()}
}

// BeforeWriting is err of a command that failed before it could write
// anything (opening the host, reading the files): a StoppedError when
// ctx had ended, which is why it failed.
func BeforeWriting(ctx context.Context, err error) error {
	if err == nil || ctx.Err() == nil {
		return err
	}
	if _, ok := err.(*StoppedError); ok {
		return err
	}
	return &StoppedError{Cause: context.Cause(ctx), err: ctx.Err()}
}

// nothingWritten is err, from an apply that wrote nothing, saying so;
// or a StoppedError when the apply's context had ended.
func nothingWritten(ctx context.Context, ds []*policy.Desired, err error) error {
	if ctx.Err() != nil {
		return stopped(ctx, ds)
	}
	return fmt.Errorf("%w; nothing was written%s", err, asTheyWere(tableNames(ds)))
}

func asTheyWere(tables []string) string {
	if len(tables) == 0 {
		return ""
	}
	return " (" + strings.Join(tables, ", ") + " as they were)"
}

// tableNames lists the tables the policies manage, "IPv4 filter".
func tableNames(ds []*policy.Desired) []string {
	var out []string
	for _, d := range ds {
		for _, dt := range d.Tables {
			out = append(out, d.Family.String()+" "+dt.Table)
		}
	}
	return out
}

// checkPlan refuses, before anything is written, a plan whose table the
// kernel would refuse (policy.CheckKernel on the whole table to write,
// the hooks of each chain as the plan leaves them), naming the file line
// of the rule; or, for a rule already in the kernel that the plan makes
// reachable from a hook its extension refuses, the chain and rule.
func checkPlan(fam *xtables.Family, dt *policy.DesiredTable, plan *Plan, nf bool) error {
	return checkPlanWith(fam, dt, plan, policy.KernelCheckOptions{NFT: nf, AllLoops: nf})
}

// checkPlanWith is checkPlan with the options of CheckKernel given.
func checkPlanWith(fam *xtables.Family, dt *policy.DesiredTable, plan *Plan, opt policy.KernelCheckOptions) error {
	probs := policy.CheckKernel(plan.Next, opt)
	if len(probs) == 0 {
		return nil
	}
	p := &probs[0]
	if pos, ok := dt.Locate(p.Chain, p.Rule, p.Kind, p.KernelName); ok {
		return &RuleRefusedError{Family: fam, Table: plan.Next.Name, Chain: p.Chain, Pos: pos,
			Rule: plan.Next.RuleText(plan.Next.Chain(p.Chain), p.Rule, false), Err: &policy.Error{Pos: pos, Msg: p.Msg}}
	}
	c := plan.Next.Chain(p.Chain)
	return fmt.Errorf("%s table %s: chain %s rule %d (%s), already in the kernel: %s", fam, plan.Next.Name, p.Chain, p.Index+1,
		plan.Next.RuleText(c, p.Rule, false), p.Msg)
}

// newRulePos is where the file wrote each rule a plan adds that a
// kernel module checks (newRules' suspects, all of them).
func newRulePos(dt *policy.DesiredTable, plan *Plan) []policy.Pos {
	old := map[*xtables.Rule]bool{}
	for _, c := range plan.Current.Chains {
		for _, r := range c.Rules {
			old[r] = true
		}
	}
	var out []policy.Pos
	for _, c := range plan.Next.Chains {
		for _, r := range c.Rules {
			if old[r] || len(r.Matches) == 0 && r.Target.IsStandard() {
				continue
			}
			if pos, ok := dt.Locate(c.Name, r, ext.Target, ""); ok {
				pos.Col = 0
				out = append(out, pos)
			}
		}
	}
	return out
}

// newRules lists where the file wrote the rules a plan adds (owned rules
// and hooks), at most max of them: the suspects when the kernel refuses
// a table without saying which rule.
func newRules(dt *policy.DesiredTable, plan *Plan, max int) (out []string, more int) {
	old := map[*xtables.Rule]bool{}
	for _, c := range plan.Current.Chains {
		for _, r := range c.Rules {
			old[r] = true
		}
	}
	for _, c := range plan.Next.Chains {
		for _, r := range c.Rules {
			if old[r] || len(r.Matches) == 0 && r.Target.IsStandard() {
				continue // a plain jump or verdict: nothing a module checks
			}
			if len(out) == max {
				more++
				continue
			}
			text := plan.Next.RuleText(c, r, false)
			if pos, ok := dt.Locate(c.Name, r, ext.Target, ""); ok {
				pos.Col = 0
				text = pos.String() + " (" + text + ")"
			}
			out = append(out, text)
		}
	}
	return out, more
}
