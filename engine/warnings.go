package engine

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
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
				if port.proto != proto || port.port < lo || port.port > hi || strings.HasSuffix(to, ":"+strconv.Itoa(int(port.port))) {
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

// publishedPorts maps each port a DNAT rule publishes to where it goes.
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
			text := nat.RuleText(c, r, false)
			_, to, found := strings.Cut(text, "--to-destination ")
			if !found {
				continue
			}
			to, _, _ = strings.Cut(to, " ")
			out[protoPort{proto, lo}] = to
		}
	}
	return out
}

// destinationPorts reads the destination port range of a rule's tcp or
// udp match (struct xt_tcp / xt_udp: spts[2], dpts[2], host order).
func destinationPorts(r *xtables.Rule) (proto, lo, hi uint16, ok bool) {
	if r.Header.InvFlags&xtables.InvProto != 0 {
		return 0, 0, 0, false
	}
	for _, m := range r.Matches {
		if (m.Name == "tcp" || m.Name == "udp") && len(m.Data) >= 8 {
			lo, hi = xtables.NativeEndian.Uint16(m.Data[4:]), xtables.NativeEndian.Uint16(m.Data[6:])
			inv := m.Data[8] // xt_udp.invflags
			if m.Name == "tcp" {
				inv = m.Data[11] // xt_tcp.invflags
			}
			if lo == 0 && hi == 0xffff || inv&0x02 != 0 { // XT_*_INV_DSTPT
				return 0, 0, 0, false
			}
			return r.Header.Proto, lo, hi, true
		}
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
