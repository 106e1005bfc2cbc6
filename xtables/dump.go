package xtables

import (
	"fmt"
	"io"
	"strings"
)

// Dump writes a table with the raw payload of every match and target,
// one rule per paragraph: the view for checking an extension's bytes.
func Dump(w io.Writer, t *Table) error {
	var b strings.Builder
	fmt.Fprintf(&b, "table %s (%s)\n", t.Name, t.Family)
	for _, c := range t.Chains {
		if c.Builtin() {
			fmt.Fprintf(&b, "chain %s hook %s policy %s [%d:%d]\n", c.Name, HookName(c.Hook), verdictName(c.Policy), c.Counters.Packets, c.Counters.Bytes)
		} else {
			fmt.Fprintf(&b, "chain %s\n", c.Name)
		}
		for i, r := range c.Rules {
			fmt.Fprintf(&b, "  rule %d: %s\n", i+1, t.RuleText(c, r, true))
			for _, m := range r.Matches {
				fmt.Fprintf(&b, "    match %s rev %d (%d bytes): %x\n", m.Name, m.Revision, len(m.Data), m.Data)
			}
			tg := &r.Target
			switch {
			case !tg.IsStandard():
				fmt.Fprintf(&b, "    target %s rev %d (%d bytes): %x\n", tg.Name, tg.Revision, len(tg.Data), tg.Data)
			case tg.Chain != "":
				fmt.Fprintf(&b, "    jump %s (goto %v)\n", tg.Chain, r.IsGoto(t.Family))
			default:
				fmt.Fprintf(&b, "    verdict %d\n", tg.Verdict)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
