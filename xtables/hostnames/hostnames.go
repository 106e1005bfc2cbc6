package hostnames

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hostwall/hostwall/xtables/ext"
)

// System reads the host's files on every lookup (they are small, and a
// long-running watch sees edits) and asks the kernel for ipsets.
type System struct {
	// Root, when set, is prepended to every file path (tests point it
	// at a directory of their own).
	Root string
	// IPSets answers ipset lookups; nil asks the kernel of the calling
	// thread's network namespace (KernelIPSets).
	IPSets ext.IPSetResolver
}

var _ ext.Names = System{}

func (s System) open(path string) (*os.File, error) {
	return os.Open(filepath.Join(s.Root, path))
}

// Service is getservbyname over /etc/services (no NSS: hostwall has no
// cgo), names and aliases alike.
func (s System) Service(name, proto string) (uint16, bool) {
	f, err := s.open("/etc/services")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		port, p, ok := strings.Cut(fields[1], "/")
		if !ok || (proto != "" && p != proto) {
			continue
		}
		match := fields[0] == name
		for _, alias := range fields[2:] {
			match = match || alias == name
		}
		if match {
			if v, err := strconv.ParseUint(port, 10, 16); err == nil {
				return uint16(v), true
			}
		}
	}
	return 0, false
}

// User is getpwnam over /etc/passwd; names served only by LDAP,
// systemd-userdb and the like must be given as numbers.
func (s System) User(name string) (uint32, bool) { return s.lookupID("/etc/passwd", name) }

// Group is getgrnam over /etc/group.
func (s System) Group(name string) (uint32, bool) { return s.lookupID("/etc/group", name) }

// lookupID returns the id (third field) of the entry called name in a
// passwd(5) or group(5) file.
func (s System) lookupID(path, name string) (uint32, bool) {
	if name == "" {
		return 0, false
	}
	f, err := s.open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 3 || fields[0] != name {
			continue
		}
		if id, err := strconv.ParseUint(fields[2], 10, 32); err == nil {
			return uint32(id), true
		}
	}
	return 0, false
}

// NameMap reads one of the "ID NAME" files; a missing file is an empty
// map, as it is to iptables.
func (s System) NameMap(m ext.NameMap) []ext.NameMapEntry {
	f, err := s.open(string(m))
	if err != nil {
		return nil
	}
	defer f.Close()
	return ext.ParseNameMap(f)
}

func (s System) ipsets() ext.IPSetResolver {
	if s.IPSets != nil {
		return s.IPSets
	}
	return KernelIPSets{}
}

// Index is the kernel index of an ipset.
func (s System) Index(name string, fam ext.Family) (uint16, error) {
	return s.ipsets().Index(name, fam)
}

// Name is the name of the ipset with that index.
func (s System) Name(index uint16) (string, error) { return s.ipsets().Name(index) }
