package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
)

// DefaultChain is the chain hostwall owns unless told otherwise.
const DefaultChain = "FILTERS"

// Desired is what a rules file asks hostwall to manage in one family:
// the owned chains' rules and the hooks that reach them, per table.
// Everything else in the file is listed in Unmanaged and never applied.
type Desired struct {
	Family    *xtables.Family
	File      string
	Tables    []*DesiredTable
	Unmanaged []Unmanaged
	// FileTables are all tables the file describes, by name, as
	// iptables-restore would build them: for checks that need the
	// unmanaged parts too (which ports a nat table publishes).
	FileTables map[string]*xtables.Table
}

// DesiredTable is the managed part of one table.
type DesiredTable struct {
	Table string
	Owned []*OwnedChain
	Hooks []*Hook
	// fileTable is the whole table the file describes, for printing rules.
	fileTable *xtables.Table
	// cmds are the file's rule commands by position, for Locate.
	cmds map[Pos]*Command
}

// OwnedChain is a chain hostwall replaces as a whole.
type OwnedChain struct {
	Name  string
	Rules []*xtables.Rule
	// RulePos is where each rule was written.
	RulePos []Pos
	Pos     Pos
}

// Hook is a rule in a chain hostwall does not own that jumps or goes to
// an owned chain (-A INPUT -j FILTERS).
type Hook struct {
	Chain string
	Rule  *xtables.Rule
	Pos   Pos
	// External is set on a hook marked "# hostwall: external-interfaces"
	// (see external.go): it stands for one hook per external interface.
	External *External
}

// FileTable is the whole table the file describes, managed or not.
func (d *DesiredTable) FileTable() *xtables.Table { return d.fileTable }

// Unmanaged is a line of the file hostwall does not apply.
type Unmanaged struct {
	Pos  Pos
	Text string
}

// Text prints a rule of the table in save syntax.
func (d *DesiredTable) Text(chain string, r *xtables.Rule) string {
	c := d.fileTable.Chain(chain)
	if c == nil {
		c = &xtables.Chain{Name: chain, Hook: -1}
	}
	return d.fileTable.RuleText(c, r, false)
}

// Locate finds where the file wrote a rule of the managed part (an owned
// chain's rule or a hook, or a rule equal to one), pointing at the -m or
// -j naming the extension kind/kernelName when the rule names it.
func (d *DesiredTable) Locate(chain string, r *xtables.Rule, kind ext.Kind, kernelName string) (Pos, bool) {
	var pos Pos
	found := false
	for _, o := range d.Owned {
		if o.Name != chain {
			continue
		}
		for i, or := range o.Rules {
			if i < len(o.RulePos) && (or == r || or.SameAs(r)) {
				pos, found = o.RulePos[i], true
				break
			}
		}
	}
	for _, h := range d.Hooks {
		if !found && h.Chain == chain && (h.Rule == r || h.Rule.SameAs(r)) {
			pos, found = h.Pos, true
		}
	}
	if !found {
		return Pos{}, false
	}
	if cmd := d.cmds[pos]; cmd != nil && d.fileTable != nil {
		return problemPos(cmd, d.fileTable.Family.Ext, &KernelProblem{Kind: kind, KernelName: kernelName}), true
	}
	return pos, true
}

// Owns reports whether chain is owned in this table.
func (d *DesiredTable) Owns(chain string) bool {
	return slices.ContainsFunc(d.Owned, func(o *OwnedChain) bool { return o.Name == chain })
}

// DesiredOptions say how to read a file for hostwall apply. Family is
// required (ReadDesired fails without it); the other fields' zero values
// are the defaults each names.
type DesiredOptions struct {
	// Family is xtables.IPv4 or xtables.IPv6: a file means different
	// rules in each, so there is no default.
	Family *xtables.Family
	// Chains are the owned chains; DefaultChain when empty.
	Chains []string
	// Supported probes the kernel for extension revisions; nil (offline
	// check) assumes the highest.
	Supported func(kind ext.Kind, kernelName string, rev uint8) (bool, error)
	// Names resolves names in rule options (BuildOptions.Names); nil is
	// the host's.
	Names ext.Names
}

// ReadDesired parses a rules file and extracts what hostwall manages.
// Each owned chain must be declared in the file; every rule of the file
// is validated, managed or not, so a typo anywhere is reported.
func ReadDesired(name string, data []byte, opt DesiredOptions) (*Desired, error) {
	if opt.Family == nil {
		return nil, errNoFamily
	}
	chains := opt.Chains
	if len(chains) == 0 {
		chains = []string{DefaultChain}
	}
	file, err := Parse(name, data)
	if err != nil {
		return nil, err
	}
	d := &Desired{Family: opt.Family, File: name, FileTables: map[string]*xtables.Table{}}
	declared := map[string]bool{}
	for _, b := range file.Tables {
		origins := map[*xtables.Rule]*Command{}
		t, err := Build(b, BuildOptions{Family: opt.Family, Supported: opt.Supported, Names: opt.Names, Origins: origins})
		if err != nil {
			return nil, err
		}
		// What the kernel would refuse of the table (DNAT in filter, a
		// loop), checked on all of it as iptables-restore would write it.
		if probs := CheckKernel(t, KernelCheckOptions{Reached: fileReached(b.Table), AllLoops: true}); len(probs) > 0 {
			p, pos := &probs[0], b.Pos
			if cmd := origins[p.Rule]; cmd != nil {
				pos = problemPos(cmd, opt.Family.Ext, p)
			}
			return nil, errAt(pos, "%s", p.Msg)
		}
		dt := &DesiredTable{Table: b.Table, fileTable: t, cmds: map[Pos]*Command{}}
		for _, cmd := range origins {
			dt.cmds[cmd.Pos] = cmd
		}
		d.FileTables[b.Table] = t
		for _, decl := range b.Chains {
			if slices.Contains(chains, decl.Name) {
				if t.Chain(decl.Name).Builtin() {
					return nil, errAt(decl.Pos, "%s is a built-in chain; hostwall owns only user chains", decl.Name)
				}
				o := &OwnedChain{Name: decl.Name, Rules: t.Chain(decl.Name).Rules, Pos: decl.Pos}
				for _, r := range o.Rules {
					o.RulePos = append(o.RulePos, origins[r].Pos)
				}
				dt.Owned = append(dt.Owned, o)
				declared[decl.Name] = true
			} else {
				d.Unmanaged = append(d.Unmanaged, Unmanaged{decl.Pos, fmt.Sprintf(":%s %s", decl.Name, decl.Policy)})
			}
		}
		for _, c := range t.Chains {
			if dt.Owns(c.Name) {
				continue
			}
			for _, r := range c.Rules {
				if r.Target.IsStandard() && dt.Owns(r.Target.Chain) {
					dt.Hooks = append(dt.Hooks, &Hook{Chain: c.Name, Rule: r, Pos: origins[r].Pos})
				}
			}
		}
		for i := range b.Commands {
			cmd := &b.Commands[i]
			if dt.Owns(cmd.Chain) || isHookCommand(cmd, dt, origins) {
				continue
			}
			d.Unmanaged = append(d.Unmanaged, Unmanaged{cmd.Pos, strings.TrimSpace(cmd.Op + " " + cmd.Chain + " " + strings.Join(cmd.Args, " "))})
		}
		if len(dt.Owned) > 0 {
			d.Tables = append(d.Tables, dt)
		}
	}
	if err := markExternal(name, data, d); err != nil {
		return nil, err
	}
	for _, c := range chains {
		if !declared[c] {
			return nil, errAt(Pos{File: name, Line: 1}, "owned chain %s is not declared in the file (add \":%s - [0:0]\" to its table)", c, c)
		}
	}
	return d, nil
}

// isHookCommand reports whether a command added a hook rule.
func isHookCommand(cmd *Command, dt *DesiredTable, origins map[*xtables.Rule]*Command) bool {
	for _, h := range dt.Hooks {
		if origins[h.Rule] == cmd {
			return true
		}
	}
	return false
}
