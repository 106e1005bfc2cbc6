package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
)

// KernelProblem is something in a table that the kernel would refuse
// when the table is written: an extension outside the tables or hooks it
// is valid in, or a loop of jumps. The kernel refuses the whole table
// for it with a bare EINVAL (ELOOP), naming nothing; CheckKernel finds it
// before anything is written.
type KernelProblem struct {
	Chain string
	// Index is the rule's index in Chain; Rule is the rule.
	Index int
	Rule  *xtables.Rule
	// Kind and KernelName say which part of the rule is refused: a match
	// or the target. A loop is the rule's jump: Kind Target, no name.
	Kind       ext.Kind
	KernelName string
	Msg        string
}

// KernelCheckOptions tune CheckKernel.
type KernelCheckOptions struct {
	// Reached adds hooks a chain is known to be reached from that the
	// table does not show: DOCKER-USER from FORWARD in a rules file that
	// leaves Docker's jump to Docker.
	Reached map[string]ext.Hooks
	// NFT: the table goes to nf_tables through nft_compat, whose
	// checkentry calls skip a few checks.
	NFT bool
	// AllLoops reports every loop of jumps; otherwise only those the
	// packets of some hook reach, which is all x_tables refuses
	// (mark_source_chains). nf_tables refuses every loop.
	AllLoops bool
	// Accepted is the table the kernel holds, if the table checked is
	// to replace it: a chain with exactly Accepted's rules (the same
	// *Rule values), reached from no hook it was not reached from
	// there, passed the kernel's checks already and is not checked
	// again (its jumps still count for reachability and loops).
	Accepted *xtables.Table
}

// CheckKernel finds what the kernel's checks of a table replace refuse
// and can be known before it is written (the checks of xt_check_match,
// xt_check_target, the extensions' checkentry where it depends on the
// table or the hooks, and mark_source_chains): each extension's tables
// and hooks as its kernel module declares them (ext.Extension.Tables,
// Hooks, Check), a user chain taking the hooks of every built-in chain it
// is reached from, through jumps and gotos; and loops. It does not know
// what only the kernel knows (a conntrack helper that is not loaded, a
// module the kernel lacks).
func CheckKernel(t *xtables.Table, opt KernelCheckOptions) []KernelProblem {
	r := reachability(t, opt.Reached)
	var accepted *reach
	if opt.Accepted != nil {
		accepted = reachability(opt.Accepted, nil)
	}
	var out []KernelProblem
	fam := t.Family.Ext
	var p ext.Placement // one for all rules: its matches' array is reused
	for _, c := range t.Chains {
		hooks := r.hooks[c.Name]
		if accepted != nil {
			if a := accepted.chains[c.Name]; a != nil && hooks&^accepted.hooks[c.Name] == 0 && slices.Equal(a.Rules, c.Rules) {
				continue
			}
		}
		for i, rule := range c.Rules {
			p = ext.Placement{
				Table:     t.Name,
				Hooks:     hooks,
				Rule:      ext.RuleInfo{Family: fam, Proto: rule.Header.Proto, ProtoInvert: rule.Header.InvFlags&xtables.InvProto != 0},
				NFTCompat: opt.NFT,
				Matches:   p.Matches[:0],
			}
			for _, m := range rule.Matches {
				p.Matches = append(p.Matches, ext.PlacedMatch{Name: m.Name, Data: m.Data})
			}
			check := func(kind ext.Kind, name string, rev uint8, data []byte) {
				e := ext.Lookup(kind, name, rev, fam)
				if e == nil || len(data) != e.PayloadSize() {
					return // unknown to hostwall, or not its layout: the kernel decides
				}
				p.Data = data
				err := e.CheckPlacement(&p)
				if err == nil {
					return
				}
				msg := err.Error()
				if pe, ok := err.(*ext.PlacementError); ok && pe.Hooks != 0 {
					msg += "; " + r.explain(c, pe.Hooks)
				}
				out = append(out, KernelProblem{Chain: c.Name, Index: i, Rule: rule, Kind: kind, KernelName: name, Msg: msg})
			}
			for _, m := range rule.Matches {
				check(ext.Match, m.Name, m.Revision, m.Data)
			}
			if !rule.Target.IsStandard() {
				check(ext.Target, rule.Target.Name, rule.Target.Revision, rule.Target.Data)
			}
		}
	}
	return append(out, loops(t, r, opt.AllLoops)...)
}

// reach is which hooks each chain of a table is reached from, and how.
type reach struct {
	chains map[string]*xtables.Chain
	hooks  map[string]ext.Hooks
	// via[chain][h] is the chain whose rule first brought hook h to
	// chain ("" for a built-in chain or an assumed hook).
	via map[string]*[5]string
}

func reachability(t *xtables.Table, assumed map[string]ext.Hooks) *reach {
	r := &reach{chains: map[string]*xtables.Chain{}, hooks: map[string]ext.Hooks{}, via: map[string]*[5]string{}}
	var queue []*xtables.Chain
	for _, c := range t.Chains {
		r.chains[c.Name] = c
		r.via[c.Name] = new([5]string)
		h := assumed[c.Name]
		if c.Builtin() {
			h |= 1 << c.Hook
		}
		if h != 0 {
			r.hooks[c.Name] = h
			queue = append(queue, c)
		}
	}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		h := r.hooks[c.Name]
		for _, rule := range c.Rules {
			to := r.chains[rule.Target.Chain]
			if !rule.Target.IsStandard() || to == nil {
				continue
			}
			added := h &^ r.hooks[to.Name]
			if added == 0 {
				continue
			}
			for b := 0; b < 5; b++ {
				if added&(1<<b) != 0 {
					r.via[to.Name][b] = c.Name
				}
			}
			r.hooks[to.Name] |= added
			queue = append(queue, to)
		}
	}
	return r
}

// explain says how chain c is reached from the first of bad's hooks:
// "FILTERS is reached from OUTPUT: OUTPUT → FILTERS".
func (r *reach) explain(c *xtables.Chain, bad ext.Hooks) string {
	b := 0
	for bad&(1<<b) == 0 {
		b++
	}
	if c.Builtin() {
		return fmt.Sprintf("the rule is in %s", c.Name)
	}
	path := []string{c.Name}
	for name, n := c.Name, 0; n < len(r.chains); n++ {
		from := r.via[name][b]
		if from == "" {
			break
		}
		path = append(path, from)
		name = from
	}
	if top := r.chains[path[len(path)-1]]; !top.Builtin() {
		path = append(path, xtables.HookName(b)) // an assumed hook: Docker's jump
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return fmt.Sprintf("%s is reached from %s: %s", c.Name, xtables.HookName(b), strings.Join(path, " → "))
}

// loops finds the jumps (and gotos) that close a loop of chains, which
// the kernel refuses (ELOOP): each at the rule that closes it.
func loops(t *xtables.Table, r *reach, all bool) []KernelProblem {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var out []KernelProblem
	var visit func(c *xtables.Chain)
	visit = func(c *xtables.Chain) {
		color[c.Name] = grey
		stack = append(stack, c.Name)
		for i, rule := range c.Rules {
			to := r.chains[rule.Target.Chain]
			if !rule.Target.IsStandard() || to == nil {
				continue
			}
			switch color[to.Name] {
			case white:
				visit(to)
			case grey:
				if !all && r.hooks[to.Name] == 0 {
					continue
				}
				start := len(stack) - 1
				for stack[start] != to.Name {
					start--
				}
				cycle := append(append([]string(nil), stack[start:]...), to.Name)
				out = append(out, KernelProblem{Chain: c.Name, Index: i, Rule: rule, Kind: ext.Target,
					Msg: fmt.Sprintf("this jump to %s makes a loop (%s), which the kernel refuses", to.Name, strings.Join(cycle, " → "))})
			}
		}
		stack = stack[:len(stack)-1]
		color[c.Name] = black
	}
	for _, c := range t.Chains {
		if color[c.Name] == white {
			visit(c)
		}
	}
	return out
}

// fileReached are the hooks a rules file's chains are reached from by
// others' rules the file does not hold: Docker jumps to DOCKER-USER from
// FORWARD.
func fileReached(table string) map[string]ext.Hooks {
	if table == "filter" {
		return map[string]ext.Hooks{"DOCKER-USER": ext.HookForward}
	}
	return nil
}

// problemPos is where a problem's rule was written: the column of the
// -m or -j that names the refused extension, or of the line.
func problemPos(cmd *Command, fam ext.Family, p *KernelProblem) Pos {
	for i := 0; i+1 < len(cmd.Args); i++ {
		switch cmd.Args[i] {
		case "-j", "--jump", "-g", "--goto":
			if p.Kind == ext.Target {
				return cmd.ArgPos(i + 1)
			}
		case "-m", "--match":
			if p.Kind != ext.Match {
				continue
			}
			for _, e := range ext.Candidates(ext.Match, cmd.Args[i+1], fam) {
				if e.KernelName() == p.KernelName {
					return cmd.ArgPos(i + 1)
				}
			}
		}
	}
	return cmd.Pos
}
