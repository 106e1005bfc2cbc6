package policy

import (
	"errors"
	"fmt"
	"slices"

	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
)

// BuildOptions say how a block is applied, like iptables-restore's flags.
type BuildOptions struct {
	Family *xtables.Family
	// Base is the table as it is now. Without NoFlush only its built-in
	// policies are kept (iptables-restore flushes the rest); nil starts
	// from an empty table with ACCEPT policies.
	Base *xtables.Table
	// NoFlush is iptables-restore -n: keep Base's chains and rules; a
	// declared user chain that exists is flushed.
	NoFlush bool
	// Counters is iptables-restore -c: take counters from the file.
	Counters bool
	// Supported probes the kernel for extension revisions; nil assumes
	// the highest.
	Supported func(kind ext.Kind, kernelName string, rev uint8) (bool, error)
	// Names resolves service, user, group, name-map and ipset names in
	// rule options; nil is the host's (xtables/hostnames.System), so
	// `check` and `apply` build the same rules from one file.
	Names ext.Names
	// Origins, when set, records the command each new rule came from.
	Origins map[*xtables.Rule]*Command
}

// errNoFamily is the error of options without a Family: a rules file
// means different rules in IPv4 and IPv6, so there is no default.
var errNoFamily = errors.New("policy: no Family in the options (xtables.IPv4 or xtables.IPv6)")

// Build applies a block to a table the way iptables-restore would and
// returns the resulting table. It writes nothing; every error names the
// file, line and column.
func Build(b *Block, opt BuildOptions) (*xtables.Table, error) {
	f := opt.Family
	if f == nil {
		return nil, errNoFamily
	}
	t, err := startTable(b, opt)
	if err != nil {
		return nil, err
	}
	if opt.Names != nil {
		t.Names = opt.Names
	}
	for _, d := range b.Chains {
		c := t.Chain(d.Name)
		switch {
		case c != nil && c.Builtin():
			if d.Policy == "-" {
				return nil, errAt(d.Pos, "built-in chain %s needs a policy, ACCEPT or DROP", d.Name)
			}
			c.Policy = policyVerdict(d.Policy)
			if opt.Counters {
				c.Counters = d.Counters
			}
		case d.Policy != "-":
			return nil, errAt(d.Pos, "%s is not a built-in chain of table %s: a user chain is declared with \"-\", not a policy", d.Name, b.Table)
		case c != nil:
			c.Rules = nil // -n: a declared user chain is flushed
		default:
			if err := checkChainName(d.Name); err != nil {
				return nil, errAt(d.Pos, "%v", err)
			}
			t.Chains = append(t.Chains, &xtables.Chain{Name: d.Name, Hook: -1, Policy: xtables.VerdictReturn})
		}
	}
	parser := &xtables.RuleParser{
		Family:    f,
		Supported: opt.Supported,
		Names:     opt.Names,
		IsChain: func(name string) bool {
			c := t.Chain(name)
			return c != nil && !c.Builtin()
		},
	}
	for i := range b.Commands {
		if err := apply(t, parser, &b.Commands[i], opt); err != nil {
			return nil, err
		}
	}
	t.SortChains()
	return t, nil
}

func startTable(b *Block, opt BuildOptions) (*xtables.Table, error) {
	if opt.Base != nil && opt.NoFlush {
		return opt.Base.Clone(), nil
	}
	if xtables.TableHooks(b.Table) == nil {
		return nil, errAt(b.Pos, "unknown table %q", b.Table)
	}
	// iptables-restore without -n flushes the table but keeps the
	// built-in chains' policies.
	t := xtables.EmptyTable(opt.Family, b.Table)
	if opt.Base != nil {
		for _, c := range t.Chains {
			if old := opt.Base.Chain(c.Name); old != nil && old.Builtin() {
				c.Policy = old.Policy
			}
		}
	}
	return t, nil
}

func policyVerdict(p string) int32 {
	if p == "DROP" {
		return xtables.VerdictDrop
	}
	return xtables.VerdictAccept
}

func checkChainName(name string) error {
	if name == "" || len(name) > xtables.MaxChainName {
		return fmt.Errorf("chain name %q must be 1 to %d characters", name, xtables.MaxChainName)
	}
	if xtables.IsStandardVerdictName(name) {
		return fmt.Errorf("chain name %q is a built-in target", name)
	}
	return nil
}

func apply(t *xtables.Table, p *xtables.RuleParser, c *Command, opt BuildOptions) error {
	chainPos := c.Pos
	var ch *xtables.Chain
	if c.Chain != "" && c.Op != "-N" {
		ch = t.Chain(c.Chain)
		if ch == nil {
			return errAt(chainPos, "%s %s: no chain %s in table %s (declare it with \":%s - [0:0]\")", c.Op, c.Chain, c.Chain, t.Name, c.Chain)
		}
	}
	switch c.Op {
	case "-A", "-I":
		rules, err := p.Parse(c.Args)
		if err != nil {
			var re *xtables.RuleError
			if errors.As(err, &re) {
				return errAt(c.ArgPos(re.Token), "%v (near %q)", re.Err, tokenAt(c, re.Token))
			}
			return errAt(c.Pos, "%v", err)
		}
		for _, r := range rules {
			if opt.Origins != nil {
				opt.Origins[r] = c
			}
			if opt.Counters && c.Counters != nil {
				r.Counters = *c.Counters
			} else if !opt.Counters {
				r.Counters = xtables.Counters{}
			}
		}
		if c.Op == "-A" {
			ch.Rules = append(ch.Rules, rules...)
			return nil
		}
		at := 0
		if c.InsertIndex > 0 {
			at = c.InsertIndex - 1
		}
		if at > len(ch.Rules) {
			return errAt(c.Pos, "-I %s %d: the chain has only %d rules", c.Chain, c.InsertIndex, len(ch.Rules))
		}
		ch.Rules = slices.Insert(ch.Rules, at, rules...)
	case "-F":
		if ch != nil {
			ch.Rules = nil
			return nil
		}
		for _, x := range t.Chains {
			x.Rules = nil
		}
	case "-N":
		if t.Chain(c.Chain) != nil {
			return errAt(c.Pos, "-N %s: chain already exists", c.Chain)
		}
		if err := checkChainName(c.Chain); err != nil {
			return errAt(c.Pos, "%v", err)
		}
		t.Chains = append(t.Chains, &xtables.Chain{Name: c.Chain, Hook: -1, Policy: xtables.VerdictReturn})
	case "-X":
		var del []*xtables.Chain
		if ch != nil {
			if ch.Builtin() {
				return errAt(c.Pos, "-X %s: a built-in chain cannot be deleted", c.Chain)
			}
			del = []*xtables.Chain{ch}
		} else {
			for _, x := range t.Chains {
				if !x.Builtin() {
					del = append(del, x)
				}
			}
		}
		for _, x := range del {
			if len(x.Rules) > 0 {
				return errAt(c.Pos, "-X: chain %s is not empty", x.Name)
			}
			// The chains being deleted are empty, so every reference
			// comes from a chain that stays.
			if refs := references(t, x.Name); refs > 0 {
				return errAt(c.Pos, "-X: chain %s is still the target of %d rule(s)", x.Name, refs)
			}
		}
		t.Chains = slices.DeleteFunc(t.Chains, func(x *xtables.Chain) bool { return slices.Contains(del, x) })
	case "-P":
		if !ch.Builtin() {
			return errAt(c.Pos, "-P %s: only built-in chains have a policy", c.Chain)
		}
		ch.Policy = policyVerdict(c.Args[0])
	}
	return nil
}

func tokenAt(c *Command, i int) string {
	if i >= 0 && i < len(c.Args) {
		return clip(c.Args[i])
	}
	return ""
}

// references counts the rules that jump or go to a chain.
func references(t *xtables.Table, name string) int {
	n := 0
	for _, c := range t.Chains {
		for _, r := range c.Rules {
			if r.Target.IsStandard() && r.Target.Chain == name {
				n++
			}
		}
	}
	return n
}
