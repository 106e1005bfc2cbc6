package policy

import (
	"bytes"
	"fmt"
	"path"
	"strings"

	"github.com/hostwall/hostwall/xtables"
)

// ExternalMark is the comment that marks a hook as standing for every
// external interface of the host:
//
//	# hostwall: external-interfaces
//	-A DOCKER-USER -i eth0 -j FILTERS
//
// iptables-restore ignores the comment and loads the hook as written
// (-i eth0, the fallback); hostwall replaces it with one hook per
// external interface (the same rule with -i NAME), found when it
// applies: interfaces that carry a default route, and those matching
// the PATTERNs given after the mark (shell patterns: "# hostwall:
// external-interfaces ens* wg0"), never lo, docker0, br-*, veth* or
// cni*. The mark must be on the line right above a hook.
const ExternalMark = "# hostwall: external-interfaces"

// External says which interfaces a marked hook stands for.
type External struct {
	// Patterns are the interface name patterns (path.Match syntax)
	// given after the mark, beside the default-route interfaces.
	Patterns []string
	// MarkPos is where the mark is.
	MarkPos Pos
}

// markExternal finds the marks of a file and sets External on the hooks
// right below them. A mark above anything else, or a "# hostwall:"
// comment hostwall does not know, is an error: a typo would otherwise
// leave a host's new interfaces unprotected without a word.
func markExternal(name string, data []byte, d *Desired) error {
	lines := bytes.Split(data, []byte("\n"))
	for i, raw := range lines {
		line := strings.TrimSpace(string(raw))
		if !strings.HasPrefix(line, "# hostwall:") {
			continue
		}
		pos := Pos{File: name, Line: i + 1}
		fields := strings.Fields(strings.TrimPrefix(line, "# hostwall:"))
		if len(fields) == 0 || fields[0] != "external-interfaces" {
			return errAt(pos, "unknown hostwall directive %q (hostwall knows %q)", line, ExternalMark)
		}
		ext := &External{Patterns: fields[1:], MarkPos: pos}
		for _, p := range ext.Patterns {
			if _, err := path.Match(p, ""); err != nil || len(p) > 15 {
				return errAt(pos, "bad interface pattern %q", p)
			}
		}
		var hook *Hook
		for _, dt := range d.Tables {
			for _, h := range dt.Hooks {
				if h.Pos.File == name && h.Pos.Line == i+2 {
					hook = h
				}
			}
		}
		if hook == nil {
			return errAt(pos, "%s must be on the line right above a hook (a rule jumping to an owned chain, such as -A DOCKER-USER -i eth0 -j FILTERS)", ExternalMark)
		}
		if hook.Rule.Header.InvFlags&xtables.InvIn != 0 {
			return errAt(pos, "%s: the hook below negates -i", ExternalMark)
		}
		hook.External = ext
	}
	return nil
}

// String describes the mark: "external interfaces (default route, ens*)".
func (e *External) String() string {
	return fmt.Sprintf("external interfaces (default route%s)", strings.Join(append([]string{""}, e.Patterns...), ", "))
}
