package engine

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
)

// PublishedPortWarnings finds rules that can never do what their author
// meant: in an owned chain reached from DOCKER-USER, "--dport P" where P
// is a port Docker publishes. Docker's DNAT rewrites the destination
// before the FORWARD chain, so such a rule only ever sees the container
// port; the published port is in conntrack's original tuple. nat is the
// nat table whose DNAT rules say which ports are published; nil gives no
// warnings.
func PublishedPortWarnings(dt *policy.DesiredTable, nat *xtables.Table) []string {
	if nat == nil || dt.Table != "filter" {
		return nil
	}
	published := publishedPorts(nat)
	if len(published) == 0 {
		return nil
	}
	var warnings []string
	for _, o := range dt.Owned {
		if !reachedFromDockerUser(dt, o.Name) {
			continue
		}
		for i, r := range o.Rules {
			proto, lo, hi, ok := destinationPorts(r)
			if !ok {
				continue
			}
			for port, to := range published {
				if port.proto != proto || port.port < lo || port.port > hi {
					continue
				}
				dport := strconv.Itoa(int(lo))
				if lo != hi {
					dport += ":" + strconv.Itoa(int(hi))
				}
				warnings = append(warnings, fmt.Sprintf(
					"%s: --dport %s in %s (reached from DOCKER-USER) never matches forwarded traffic to published port %d: Docker rewrites it to %s before DOCKER-USER sees it; match it with \"-m conntrack --ctstate NEW --ctorigdstport %d\" instead",
					o.RulePos[i], dport, o.Name, port.port, to, port.port))
			}
		}
	}
	return warnings
}

type protoPort struct {
	proto uint16
	port  uint16
}

// publishedPorts maps each port a DNAT rule publishes to another port to
// where it goes, as --to-destination prints it. A DNAT that keeps the
// port (no port, or the same one) is left out: a --dport rule still
// sees that port.
func publishedPorts(nat *xtables.Table) map[protoPort]string {
	out := map[protoPort]string{}
	for _, c := range nat.Chains {
		for _, r := range c.Rules {
			if r.Target.Name != "DNAT" {
				continue
			}
			proto, lo, hi, ok := destinationPorts(r)
			if !ok || lo != hi {
				continue
			}
			to, err := ext.UnmarshalNAT(r.Target.Name, r.Target.Revision, nat.Family.Ext, r.Target.Data)
			if err != nil {
				continue
			}
			if toLo, toHi, mapped := to.Ports(); !mapped || toLo == lo && toHi == lo {
				continue
			}
			if text := to.Text(nat.Family.Ext); text != "" {
				out[protoPort{proto, lo}] = text
			}
		}
	}
	return out
}

// destinationPorts reads the destination port range of a rule's tcp or
// udp match from its typed value.
func destinationPorts(r *xtables.Rule) (proto, lo, hi uint16, ok bool) {
	if r.Header.InvFlags&xtables.InvProto != 0 {
		return 0, 0, 0, false
	}
	for _, m := range r.Matches {
		var dst ext.PortRange
		switch m.Name {
		case "tcp":
			t, err := ext.UnmarshalTCP(m.Data)
			if err != nil {
				continue
			}
			dst = t.Dst()
		case "udp":
			u, err := ext.UnmarshalUDP(m.Data)
			if err != nil {
				continue
			}
			dst = u.Dst()
		default:
			continue
		}
		if dst.Any() || dst.Invert {
			return 0, 0, 0, false
		}
		return r.Header.Proto, dst.Lo, dst.Hi, true
	}
	return 0, 0, 0, false
}

// reachedFromDockerUser reports whether an owned chain is hooked from
// DOCKER-USER, directly or through other owned chains.
func reachedFromDockerUser(dt *policy.DesiredTable, chain string) bool {
	seen := map[string]bool{}
	var from func(string) bool
	from = func(name string) bool {
		if seen[name] {
			return false
		}
		seen[name] = true
		for _, h := range dt.Hooks {
			if h.Chain == "DOCKER-USER" && h.Rule.Target.Chain == name {
				return true
			}
		}
		for _, o := range dt.Owned {
			for _, r := range o.Rules {
				if r.Target.Chain == name && from(o.Name) {
					return true
				}
			}
		}
		return false
	}
	return from(chain)
}

// PolicyWarnings are a policy's silent lockouts and silent gaps: what
// passes every check and would be written without a word, yet leaves
// the host open or cuts traffic off that the author meant to let
// through. Each names the file line.
//
//   - An owned chain no hook reaches (directly or through other owned
//     chains): its rules filter nothing, the firewall is off.
//   - A hook from DOCKER-USER without -i: FILTERS then also sees what
//     containers send out (docker0 to the world), and its closing
//     REJECT cuts them off. The seed article: "do NOT remove the
//     interface labels -- it all breaks if those are missing". A hook
//     marked external-interfaces gets its -i at apply.
//   - With ifaces, the interfaces of the network namespace being
//     written (Interfaces): an -i or -o in an owned rule or a hook
//     naming none of them (a "+" wildcard none starts with). Such a rule
//     matches nothing (inverted: everything); Debian 12 names its NICs
//     ens*/enp*, not eth0. Without ifaces (check, offline, on a machine
//     that may not be the target) this is not looked at.
func PolicyWarnings(d *policy.Desired, ifaces []string) []string {
	var out []string
	for _, dt := range d.Tables {
		hooked := map[string]bool{}
		for _, h := range dt.Hooks {
			hooked[h.Rule.Target.Chain] = true
		}
		for changed := true; changed; {
			changed = false
			for _, o := range dt.Owned {
				if !hooked[o.Name] {
					continue
				}
				for _, r := range o.Rules {
					if t := r.Target.Chain; r.Target.IsStandard() && t != "" && !hooked[t] {
						hooked[t], changed = true, true
					}
				}
			}
		}
		for _, o := range dt.Owned {
			if hooked[o.Name] {
				continue
			}
			hint := fmt.Sprintf("-A INPUT -j %s", o.Name)
			if dt.Table != "filter" {
				hint = fmt.Sprintf("-A %s -j %s", xtables.BuiltinNames(dt.Table)[0], o.Name)
			}
			out = append(out, fmt.Sprintf("%s: %s table %s: nothing jumps to %s (no hook): its rules filter nothing, the firewall it holds is off; add a hook such as \"%s\"",
				o.Pos, d.Family, dt.Table, o.Name, hint))
		}
		for _, h := range dt.Hooks {
			if h.Chain == "DOCKER-USER" && h.External == nil && h.Rule.Header.InIfaceMask == ([len(h.Rule.Header.InIfaceMask)]byte{}) {
				out = append(out, fmt.Sprintf("%s: %s without -i: %s then also filters what containers send out, and cuts them off where it rejects; "+
					"give the external interface (-i eth0) as the seed article does (\"do NOT remove the interface labels\")",
					h.Pos, dt.Text(h.Chain, h.Rule), h.Rule.Target.Chain))
			}
		}
		if ifaces == nil {
			continue
		}
		check := func(pos policy.Pos, r *xtables.Rule) {
			hd := &r.Header
			for _, x := range []struct {
				opt        string
				name, mask []byte
				inv        bool
			}{
				{"-i", hd.InIface[:], hd.InIfaceMask[:], hd.InvFlags&xtables.InvIn != 0},
				{"-o", hd.OutIface[:], hd.OutIfaceMask[:], hd.InvFlags&xtables.InvOut != 0},
			} {
				name, wildcard, any := ifaceOf(x.name, x.mask)
				if !any && !hasIface(ifaces, name, wildcard) {
					what := "matches no packet"
					if x.inv {
						what = "matches every packet"
					}
					shown := name
					if wildcard {
						shown += "+"
					}
					out = append(out, fmt.Sprintf("%s: %s %s: this network namespace has no interface %s (it has %s): the rule %s",
						pos, x.opt, shown, shown, strings.Join(ifaces, ", "), what))
				}
			}
		}
		for _, o := range dt.Owned {
			for i, r := range o.Rules {
				if i < len(o.RulePos) {
					check(o.RulePos[i], r)
				}
			}
		}
		for _, h := range dt.Hooks {
			if h.External == nil {
				check(h.Pos, h.Rule)
			}
		}
	}
	return out
}

// ifaceOf reads an interface name and mask as the kernel compares them
// ((name ^ iface) & mask): a mask covering the name and its NUL is the
// name, one covering only a prefix is "prefix+", none any interface.
func ifaceOf(name, mask []byte) (prefix string, wildcard, any bool) {
	m := 0
	for m < len(mask) && mask[m] == 0xff {
		m++
	}
	switch {
	case m == 0:
		return "", false, true
	case name[m-1] == 0:
		return string(name[:m-1]), false, false
	}
	return string(name[:m]), true, false
}

func hasIface(ifaces []string, name string, wildcard bool) bool {
	for _, i := range ifaces {
		if i == name || wildcard && strings.HasPrefix(i, name) {
			return true
		}
	}
	return false
}

// Interfaces lists the interfaces of the calling thread's network
// namespace, for PolicyWarnings.
func Interfaces() ([]string, error) {
	l, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	out := []string{}
	for _, i := range l {
		out = append(out, i.Name)
	}
	slices.Sort(out)
	return out, nil
}
