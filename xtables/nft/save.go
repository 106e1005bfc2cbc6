package nft

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/hostwall/hostwall/xtables"
)

// Save writes a table as iptables-nft-save 1.8.9 prints it, without its
// "# Generated"/"# Completed" lines: "*table", the built-in chains in
// hook order (faked ones as ACCEPT [0:0]), the user chains sorted by
// name, then the rules chain by chain, then COMMIT. Rules are printed by
// the same printer as for x_tables (Table.RuleText); counters come from
// each rule's counter expression, policy counters from the base chain's
// NFTA_CHAIN_COUNTERS ([0:0] when it has none).
//
// Where iptables-nft-save gives up on a whole table that holds one rule
// it cannot read ("# Table `filter' is incompatible, use 'nft' tool.")
// or leaves out base chains it does not recognise, Save prints the rest
// and puts a "# hostwall:" comment line where each such rule or chain
// is, with its expressions: a restore of the output then leaves them out
// rather than turning them into something else. Warnings lists them.
func Save(w io.Writer, m *Model, counters bool) (warnings []string, err error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	t := m.Table
	fmt.Fprintf(bw, "*%s\n", t.Name)
	for _, ic := range m.Ignored {
		line := ignoredChainLine(ic)
		bw.WriteString(line + "\n")
		warnings = append(warnings, fmt.Sprintf("%s table %s: %s", t.Family, t.Name, strings.TrimPrefix(line, "# hostwall: ")))
	}
	for _, c := range t.Chains {
		if c.Builtin() {
			fmt.Fprintf(bw, ":%s %s [%d:%d]\n", c.Name, policyName(c.Policy), c.Counters.Packets, c.Counters.Bytes)
		} else {
			fmt.Fprintf(bw, ":%s - [0:0]\n", c.Name)
		}
	}
	foreign := 0
	for _, c := range t.Chains {
		for _, r := range c.Rules {
			if IsForeign(r) {
				foreign++
				bw.WriteString(m.ForeignLine(c.Name, r))
			} else {
				bw.WriteString(t.RuleText(c, r, counters))
			}
			bw.WriteByte('\n')
		}
	}
	bw.WriteString("COMMIT\n")
	if foreign > 0 {
		warnings = append(warnings, fmt.Sprintf("%s table %s: %d rule(s) not in iptables-nft form, printed as \"# hostwall:\" comments (iptables-nft-save would skip the whole table)", t.Family, t.Name, foreign))
	}
	return warnings, bw.Flush()
}

// ForeignLine describes a placeholder rule as a comment: where it is,
// why hostwall cannot print it as iptables options, and its expressions.
func (m *Model) ForeignLine(chain string, r *xtables.Rule) string {
	kr := m.Kernel[r]
	var handle uint64
	var render string
	if kr != nil {
		handle = kr.Handle
		render = renderKernelExprs(kr)
	}
	why := ""
	if err := m.Foreign[r]; err != nil {
		why = " (" + err.Error() + ")"
	}
	return fmt.Sprintf("# hostwall: rule handle %d in chain %s is not in iptables-nft form%s: %s", handle, chain, why, oneLine(render))
}

// ignoredChainLine says which chain iptables-nft would not show, and
// that hostwall leaves it out too: its rules would not restore as they
// are (a built-in name on a plain chain, a hook iptables does not have).
func ignoredChainLine(ic IgnoredChain) string {
	kc := ic.Chain
	if kc.Base == nil {
		return fmt.Sprintf("# hostwall: chain %s is a plain chain named like a built-in one; it and its %d rule(s) are left out (see hostwall dump --backend nft)", kc.Name, len(ic.Rules))
	}
	return fmt.Sprintf("# hostwall: base chain %s (type %s, hook %d, priority %d) is not one iptables-nft makes; it and its %d rule(s) are left out (see hostwall dump --backend nft)", kc.Name, kc.Base.Type, kc.Base.Hook, kc.Base.Priority, len(ic.Rules))
}

// renderKernelExprs renders a kernel rule's expressions, or their bytes
// when they cannot be parsed at all.
func renderKernelExprs(kr *Rule) string {
	exprs, err := UnmarshalExprs(kr.Family, kr.Exprs)
	if err != nil {
		return fmt.Sprintf("unparsable expressions %x", kr.Exprs)
	}
	s := strings.ReplaceAll(strings.TrimSuffix(Format(exprs), "\n"), "\n", " ")
	if len(kr.UserData) > 0 {
		s += fmt.Sprintf(" userdata %x", kr.UserData)
	}
	return s
}

// oneLine keeps a comment on one line whatever a prefix or name holds.
func oneLine(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
}

func policyName(v int32) string {
	if v == xtables.VerdictDrop {
		return "DROP"
	}
	return "ACCEPT"
}
