package hostnames_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/hostwall/hostwall/integration/nstest"
	"github.com/hostwall/hostwall/xtables/ext"
	"github.com/hostwall/hostwall/xtables/hostnames"
)

// TestIPSetKernel asks the real kernel, as iptables does, for sets made
// with ipset(8). Sets and their indexes are per network namespace, so it
// makes one of its own: the indexes are the order of creation there, and
// the machine's own sets are never seen or touched.
func TestIPSetKernel(t *testing.T) {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	missing = append(missing, nstest.MissingTools("ip", "ipset")...)
	nstest.Unavailable(t, "ipset kernel test needs", missing)

	ns := nstest.Netns(t)
	sets := []struct {
		name string
		args []string
		fam  ext.Family
	}{
		{"hw4", []string{"hash:ip"}, ext.IPv4},
		{"hw6", []string{"hash:net", "family", "inet6"}, ext.IPv6},
		{"hwlist", []string{"list:set"}, ext.FamilyAny},
	}
	for _, s := range sets {
		nstest.Run(t, ns, nil, "ipset", append([]string{"create", s.name}, s.args...)...)
	}

	var errs []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	nstest.InNetns(t, ns, func() {
		k := hostnames.System{}
		for i, s := range sets {
			for _, fam := range []ext.Family{ext.IPv4, ext.IPv6} {
				idx, err := k.Index(s.name, fam)
				if s.fam == fam || s.fam == ext.FamilyAny {
					check(err == nil && idx == uint16(i), "Index(%q, %s) = %d, %v; want %d", s.name, fam, idx, err, i)
				} else {
					check(err != nil, "%s set %q resolved for a %s rule", s.fam, s.name, fam)
				}
			}
			name, err := k.Name(uint16(i))
			check(err == nil && name == s.name, "Name(%d) = %q, %v; want %q", i, name, err, s.name)
		}
		_, err := k.Index("hw-missing", ext.IPv4)
		check(err != nil, "missing set resolved")
		_, err = k.Name(uint16(len(sets)))
		check(err != nil, "missing index %d resolved", len(sets))
	})
	for _, e := range errs {
		t.Error(e)
	}
}
