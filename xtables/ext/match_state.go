package ext

import "strings"

// struct xt_state_info (linux/netfilter/xt_state.h), 4 bytes:
//
//	unsigned int statemask;
//
// The kernel's own "state" match, revision 0. iptables 1.8.9 builds it
// only where the conntrack match is missing (it prefers the conntrack
// alias in match_conntrack.go), but a payload of it still has to print.
// An inverted --state is stored as the complement of the mask, which is
// why save prints no "!" and ignores bits it has no name for.
//
// libxt_conntrack parses UNTRACKED for this revision as the conntrack
// bit (0x100) rather than xt_state's own XT_STATE_UNTRACKED (0x40);
// hostwall writes the same bytes as iptables.

// stateParseNames is the order state_parse_state tries names in (prefixes
// accepted, so the order matters) ...
var stateParseNames = []ctName{
	{"INVALID", ctStateInvalid}, {"NEW", ctStateNew}, {"ESTABLISHED", ctStateEstablished},
	{"RELATED", ctStateRelated}, {"UNTRACKED", ctStateUntracked},
}

// ... and statePrintNames the order state_print_state prints them in.
var statePrintNames = []ctName{
	{"INVALID", ctStateInvalid}, {"NEW", ctStateNew}, {"RELATED", ctStateRelated},
	{"ESTABLISHED", ctStateEstablished}, {"UNTRACKED", ctStateUntracked},
}

func init() {
	Register(&Extension{
		Kind: Match, Name: "state", Revision: 0, Family: FamilyAny,
		Size:    4,
		Options: []Option{{Name: "state", Args: 1, Invertible: true}},
		Parse: func(in *ParseInput) ([]byte, error) {
			mask, inv, err := parseStateOption(in)
			if err != nil {
				return nil, err
			}
			if inv {
				mask = ^mask
			}
			data := make([]byte, 8)
			NE.PutUint32(data, mask)
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			b.WriteString(" --state ")
			mask := NE.Uint32(data)
			sep := ""
			for _, n := range statePrintNames {
				if mask&uint32(n.bit) != 0 {
					b.WriteString(sep + n.name)
					sep = ","
				}
			}
			return nil
		},
	})
}

// parseStateOption reads the mandatory, single --state of the state
// match (state_parse_states): a comma-separated list of INVALID, NEW,
// ESTABLISHED, RELATED and UNTRACKED, each abbreviable.
func parseStateOption(in *ParseInput) (mask uint32, invert bool, err error) {
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return 0, false, err
		}
		arg := o.Arg()
		if arg == "" || strings.HasSuffix(arg, ",") {
			return 0, false, in.Errorf(o, "\"--state\" requires a list of states with no spaces, e.g. ESTABLISHED,RELATED")
		}
		m, err := parseCtNames(arg, stateParseNames, "state")
		if err != nil {
			return 0, false, in.Errorf(o, "%v", err)
		}
		mask, invert = uint32(m), o.Invert
	}
	if !seen.has("state") {
		return 0, false, in.Failf("state: option \"--state\" must be specified")
	}
	return mask, invert, nil
}
