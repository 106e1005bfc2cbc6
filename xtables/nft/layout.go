package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/hostwall/hostwall/xtables"
)

// builtin is a built-in chain as iptables-nft 1.8.9 creates it
// (iptables/nft.c xtables_ipv4[]; the same for IPv6).
type builtin struct {
	name string
	base BaseChain
}

var builtins = map[string][]builtin{
	"filter": {
		{"INPUT", BaseChain{Hook: xtables.HookInput, Type: "filter"}},
		{"FORWARD", BaseChain{Hook: xtables.HookForward, Type: "filter"}},
		{"OUTPUT", BaseChain{Hook: xtables.HookOutput, Type: "filter"}},
	},
	"nat": {
		{"PREROUTING", BaseChain{Hook: xtables.HookPreRouting, Priority: -100, Type: "nat"}},
		{"INPUT", BaseChain{Hook: xtables.HookInput, Priority: 100, Type: "nat"}},
		{"OUTPUT", BaseChain{Hook: xtables.HookOutput, Priority: -100, Type: "nat"}},
		{"POSTROUTING", BaseChain{Hook: xtables.HookPostRouting, Priority: 100, Type: "nat"}},
	},
	"mangle": {
		{"PREROUTING", BaseChain{Hook: xtables.HookPreRouting, Priority: -150, Type: "filter"}},
		{"INPUT", BaseChain{Hook: xtables.HookInput, Priority: -150, Type: "filter"}},
		{"FORWARD", BaseChain{Hook: xtables.HookForward, Priority: -150, Type: "filter"}},
		{"OUTPUT", BaseChain{Hook: xtables.HookOutput, Priority: -150, Type: "route"}},
		{"POSTROUTING", BaseChain{Hook: xtables.HookPostRouting, Priority: -150, Type: "filter"}},
	},
	"raw": {
		{"PREROUTING", BaseChain{Hook: xtables.HookPreRouting, Priority: -300, Type: "filter"}},
		{"OUTPUT", BaseChain{Hook: xtables.HookOutput, Priority: -300, Type: "filter"}},
	},
	"security": {
		{"INPUT", BaseChain{Hook: xtables.HookInput, Priority: 150, Type: "filter"}},
		{"FORWARD", BaseChain{Hook: xtables.HookForward, Priority: 150, Type: "filter"}},
		{"OUTPUT", BaseChain{Hook: xtables.HookOutput, Priority: 150, Type: "filter"}},
	},
}

// SaveOrder is the order iptables-nft-save 1.8.9 prints tables in (enum
// nft_table_type), whatever order they were created in.
var SaveOrder = []string{"mangle", "security", "raw", "filter", "nat"}

// IsXtablesTable reports whether name is one of the tables iptables-nft
// keeps in nf_tables.
func IsXtablesTable(name string) bool { return builtins[name] != nil }

// Builtin returns the base chain iptables-nft makes for a built-in chain
// of an iptables table, policy ACCEPT.
func Builtin(table, chain string) (BaseChain, bool) {
	for _, b := range builtins[table] {
		if b.name == chain {
			b.base.Policy = verdictAccept
			return b.base, true
		}
	}
	return BaseChain{}, false
}

// IsCompatibleBase reports whether a base chain is exactly what
// iptables-nft makes for its name; any other base chain "taints" the
// table for iptables-nft, which then ignores it.
func IsCompatibleBase(table string, c *Chain) bool {
	b, ok := Builtin(table, c.Name)
	return ok && c.Base != nil && c.Base.Hook == b.Hook && c.Base.Priority == b.Priority && c.Base.Type == b.Type
}

// Policy converts between a base chain's NF_ACCEPT/NF_DROP and the
// xtables model's verdicts.
func Policy(p uint32) int32 {
	if p == verdictDrop {
		return xtables.VerdictDrop
	}
	return xtables.VerdictAccept
}

// NFPolicy is the base chain policy of an xtables verdict.
func NFPolicy(v int32) uint32 {
	if v == xtables.VerdictDrop {
		return verdictDrop
	}
	return verdictAccept
}

// foreignTarget names the target of a placeholder rule standing for an
// nf_tables rule that is not in iptables-nft's form (or that hostwall
// cannot read): the plan keeps it in place, by identity, and nothing
// ever writes it.
const foreignTarget = "[nf_tables]"

// ForeignRule returns the placeholder of a kernel rule DecodeRule
// refused. Its payload is the handle, so no two placeholders are equal.
func ForeignRule(r *Rule) *xtables.Rule {
	data := binary.BigEndian.AppendUint64(nil, r.Handle)
	return &xtables.Rule{Target: xtables.Target{Name: foreignTarget, Data: data}}
}

// IsForeign reports whether r is a placeholder made by ForeignRule.
func IsForeign(r *xtables.Rule) bool { return r.Target.Name == foreignTarget }

// ErrIncompatible marks a table iptables-nft 1.8.9 would call
// incompatible: hostwall neither writes into it nor repairs it.
var ErrIncompatible = errors.New("not in the form iptables-nft writes")

// ToXtablesChain turns a kernel chain into an empty chain of the model,
// refusing base chains iptables-nft would not have made.
func ToXtablesChain(table string, c *Chain) (*xtables.Chain, error) {
	if c.Base == nil {
		if _, ok := Builtin(table, c.Name); ok {
			return nil, fmt.Errorf("chain %s of table %s is not a base chain: %w", c.Name, table, ErrIncompatible)
		}
		return xtables.NewUserChain(c.Name), nil
	}
	if !IsCompatibleBase(table, c) {
		return nil, fmt.Errorf("base chain %s of table %s (hook %d, priority %d, type %s): %w", c.Name, table, c.Base.Hook, c.Base.Priority, c.Base.Type, ErrIncompatible)
	}
	xc := &xtables.Chain{Name: c.Name, Hook: int(c.Base.Hook), Policy: Policy(c.Base.Policy)}
	if c.Counters != nil {
		xc.Counters = *c.Counters
	}
	return xc, nil
}

// BuiltinNames lists the built-in chains of an iptables table in hook
// order.
func BuiltinNames(table string) []string {
	var out []string
	for _, b := range builtins[table] {
		out = append(out, b.name)
	}
	return out
}

// IsBuiltinName reports whether chain is a built-in chain of table.
func IsBuiltinName(table, chain string) bool { return slices.Contains(BuiltinNames(table), chain) }
