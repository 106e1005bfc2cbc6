package ext

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Names answers what some options need to know of the host: service
// names, users and groups, the name maps of iproute2 and xtables, and
// the kernel's ipset indexes. The package does no I/O of its own; the
// caller passes a Names in RuleInfo (xtables/hostnames reads the host's
// files and asks its kernel), so that `check` and `apply` resolve a rule
// alike and tests pass fakes.
type Names interface {
	// Service is getservbyname(name, proto) (proto "" for any).
	Service(name, proto string) (port uint16, ok bool)
	// User is getpwnam's uid; Group is getgrnam's gid.
	User(name string) (uid uint32, ok bool)
	Group(name string) (gid uint32, ok bool)
	// NameMap is the content of a name map (xtables_lmap_init); nil
	// when the map is missing, as it is to iptables.
	NameMap(m NameMap) []NameMapEntry
	IPSetResolver
}

// IPSetResolver maps ipset names to kernel indexes and back: the set
// match and target keep a set's index, which iptables asks the kernel
// for (getsockopt SO_IP_SET). Indexes are per network namespace.
type IPSetResolver interface {
	// Index returns the index of the named set, failing when the set does
	// not exist or is of a family other than fam (FamilyAny sets, such
	// as list:set, fit both).
	Index(name string, fam Family) (uint16, error)
	// Name returns the name of the set with that index.
	Name(index uint16) (string, error)
}

// NameMap names one of the "ID NAME" files iptables reads, by its path.
type NameMap string

const (
	MapDevGroups  NameMap = "/etc/iproute2/group"         // devgroup
	MapRealms     NameMap = "/etc/iproute2/rt_realms"     // realm
	MapConnLabels NameMap = "/etc/xtables/connlabel.conf" // connlabel
)

// NameMapEntry is one line of a name map.
type NameMapEntry struct {
	ID   uint64
	Name string
}

// ParseNameMap reads a name map as xtables_lmap_init does: "ID NAME"
// lines, the ID in C notation, '#' comments, malformed lines skipped.
func ParseNameMap(r io.Reader) []NameMapEntry {
	var out []NameMapEntry
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || line[0] == '#' {
			continue
		}
		id, rest, ok := Strtoul(line)
		if !ok {
			continue
		}
		name := strings.Fields(rest)
		if len(name) == 0 || (rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		out = append(out, NameMapEntry{id, name[0]})
	}
	return out
}

// NoNames knows no name: rules must use numbers, and set matches fail.
// It is what an extension sees when RuleInfo.Names is nil.
type NoNames struct{}

func (NoNames) Service(string, string) (uint16, bool) { return 0, false }
func (NoNames) User(string) (uint32, bool)            { return 0, false }
func (NoNames) Group(string) (uint32, bool)           { return 0, false }
func (NoNames) NameMap(NameMap) []NameMapEntry        { return nil }
func (NoNames) Index(name string, _ Family) (uint16, error) {
	return 0, fmt.Errorf("set %q: no ipset lookup was given to hostwall's rule parser", name)
}
func (NoNames) Name(index uint16) (string, error) {
	return "", fmt.Errorf("set index %d: no ipset lookup was given to hostwall's rule printer", index)
}

// names returns r.Names, or NoNames.
func (r RuleInfo) names() Names {
	if r.Names == nil {
		return NoNames{}
	}
	return r.Names
}

func mapName2ID(n Names, m NameMap, name string) (uint64, bool) {
	for _, e := range n.NameMap(m) {
		if e.Name == name {
			return e.ID, true
		}
	}
	return 0, false
}

func mapID2Name(n Names, m NameMap, id uint64) (string, bool) {
	for _, e := range n.NameMap(m) {
		if e.ID == id {
			return e.Name, true
		}
	}
	return "", false
}

const (
	ipsetMaxNameLen = 32     // IPSET_MAXNAMELEN
	ipsetInvalidID  = 0xffff // IPSET_INVALID_ID
)
