package engine

import (
	"fmt"
	"net"
	"path"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables/ext"
)

// internalPatterns are never external: loopback, Docker's and CNI's
// bridges and the container ends of veth pairs.
var internalPatterns = []string{"lo", "docker0", "br-*", "veth*", "cni*"}

// isInternal reports whether an interface is one a marked hook never
// expands to.
func isInternal(name string) bool {
	for _, p := range internalPatterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// externalInterfaces lists, sorted, the interfaces of the calling
// thread's network namespace that hooks marked external-interfaces
// expand to: those carrying a default route (IPv4 or IPv6, in the main
// table), and those matching one of patterns, less the internal ones.
func externalInterfaces(patterns []string) ([]string, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	byIndex := map[int]string{}
	var out []string
	add := func(name string) {
		if name != "" && !isInternal(name) && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	for _, l := range links {
		a := l.Attrs()
		byIndex[a.Index] = a.Name
		for _, p := range patterns {
			if ok, _ := path.Match(p, a.Name); ok {
				add(a.Name)
			}
		}
	}
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		routes, err := netlink.RouteListFiltered(fam, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return nil, fmt.Errorf("list routes: %w", err)
		}
		for _, r := range routes {
			if !isDefault(r.Dst) {
				continue
			}
			add(byIndex[r.LinkIndex])
			for _, nh := range r.MultiPath {
				add(byIndex[nh.LinkIndex])
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

func isDefault(dst *net.IPNet) bool {
	if dst == nil {
		return true
	}
	ones, _ := dst.Mask.Size()
	return ones == 0
}

// expandExternal returns ds with every hook marked external-interfaces
// replaced by one hook per interface ifaces gives for its patterns (the
// same rule with -i NAME), in name order. ds are not changed. Without a
// marked hook it returns ds itself.
func expandExternal(ds []*policy.Desired, ifaces func(patterns []string) ([]string, error)) ([]*policy.Desired, error) {
	marked := false
	for _, d := range ds {
		for _, dt := range d.Tables {
			for _, h := range dt.Hooks {
				marked = marked || h.External != nil
			}
		}
	}
	if !marked {
		return ds, nil
	}
	out := make([]*policy.Desired, len(ds))
	for i, d := range ds {
		nd := *d
		nd.Tables = nil
		for _, dt := range d.Tables {
			ndt := *dt
			ndt.Hooks = nil
			for _, h := range dt.Hooks {
				if h.External == nil {
					ndt.Hooks = append(ndt.Hooks, h)
					continue
				}
				names, err := ifaces(h.External.Patterns)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", h.External.MarkPos, err)
				}
				for _, name := range names {
					nr := h.Rule.Clone()
					n, mask, err := ext.ParseInterface(name)
					if err != nil {
						return nil, fmt.Errorf("%s: interface %q: %w", h.External.MarkPos, name, err)
					}
					nr.Header.InIface, nr.Header.InIfaceMask = n, mask
					if slices.ContainsFunc(ndt.Hooks, func(o *policy.Hook) bool { return o.Chain == h.Chain && o.Rule.SameAs(nr) }) {
						continue
					}
					ndt.Hooks = append(ndt.Hooks, &policy.Hook{Chain: h.Chain, Rule: nr, Pos: h.Pos, External: h.External})
				}
			}
			nd.Tables = append(nd.Tables, &ndt)
		}
		out[i] = &nd
	}
	return out, nil
}
