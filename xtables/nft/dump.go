package nft

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/hostwall/hostwall/xtables"
)

// Dump writes a table for debugging: every chain as the kernel keeps it
// (hook, priority, type, policy, policy counters, reference count) and
// every rule with its handle, the iptables options hostwall reads from
// it (or why it cannot), and its expressions one per line with the xt
// payloads in hex, which nft --debug=netlink does not show.
func Dump(w io.Writer, s *Snapshot) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	m := s.Model()
	model := map[*Rule]*xtables.Rule{}
	for r, kr := range m.Kernel {
		model[kr] = r
	}
	chainOf := map[string]*xtables.Chain{}
	for _, c := range m.Table.Chains {
		chainOf[c.Name] = c
	}
	fmt.Fprintf(bw, "table %s %s (%s) handle %d flags %#x use %d\n", familyWord(FamilyOf(s.Family)), s.Name, s.Family, s.Table.Handle, s.Table.Flags, s.Table.Use)
	for _, kc := range s.Chains {
		fmt.Fprintf(bw, "chain %s handle %d use %d", kc.Name, kc.Handle, kc.Use)
		if b := kc.Base; b != nil {
			fmt.Fprintf(bw, ": type %s hook %d priority %d policy %s", b.Type, b.Hook, b.Priority, strings.ToLower(policyName(Policy(b.Policy))))
			if kc.Counters != nil {
				fmt.Fprintf(bw, " counters [%d:%d]", kc.Counters.Packets, kc.Counters.Bytes)
			} else {
				bw.WriteString(" no counters")
			}
			if !IsCompatibleBase(s.Name, kc) {
				bw.WriteString(" (not an iptables-nft built-in chain)")
			}
		}
		bw.WriteByte('\n')
		for _, kr := range s.Rules[kc.Name] {
			fmt.Fprintf(bw, "  rule handle %d: ", kr.Handle)
			r, c := model[kr], chainOf[kc.Name]
			switch {
			case r == nil:
				bw.WriteString("(in a chain iptables-nft does not show)")
			case IsForeign(r):
				fmt.Fprintf(bw, "not in iptables-nft form: %v", m.Foreign[r])
			default:
				bw.WriteString(m.Table.RuleText(c, r, true))
			}
			bw.WriteByte('\n')
			exprs, err := UnmarshalExprs(kr.Family, kr.Exprs)
			if err != nil {
				fmt.Fprintf(bw, "    unparsable expressions (%v): %x\n", err, kr.Exprs)
			} else {
				for _, line := range strings.SplitAfter(Format(exprs), "\n") {
					if line != "" {
						bw.WriteString("    " + line)
					}
				}
			}
			if len(kr.UserData) > 0 {
				fmt.Fprintf(bw, "    userdata %x\n", kr.UserData)
			}
		}
	}
	return bw.Flush()
}

// familyWord is the nft keyword of a family.
func familyWord(nf byte) string {
	if nf == IPv6 {
		return "ip6"
	}
	return "ip"
}
