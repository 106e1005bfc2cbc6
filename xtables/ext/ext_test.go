package ext

import (
	"encoding/hex"
	"strings"
	"testing"
)

// extCase is one row of an extension's table test: options as a user
// writes them, the payload the kernel must get (hex, as `xxd -p` prints
// it; spaces ignored), and what iptables-legacy-save 1.8.9 prints back.
type extCase struct {
	family Family
	proto  uint16
	in     string // options after -m NAME / -j NAME
	hex    string // payload
	save   string // options as iptables-save prints them ("" = same as in)
}

// fakeNames stands in for the host's files and ipset: each test says what
// it knows, instead of reading /etc of the machine it runs on.
type fakeNames struct {
	services map[string]uint16 // "name" or "name/proto"
	users    map[string]uint32
	groups   map[string]uint32
	maps     map[NameMap][]NameMapEntry
	IPSetResolver
}

func (f fakeNames) Service(name, proto string) (uint16, bool) {
	if p, ok := f.services[name+"/"+proto]; ok && proto != "" {
		return p, true
	}
	p, ok := f.services[name]
	return p, ok
}
func (f fakeNames) User(name string) (uint32, bool)   { id, ok := f.users[name]; return id, ok }
func (f fakeNames) Group(name string) (uint32, bool)  { id, ok := f.groups[name]; return id, ok }
func (f fakeNames) NameMap(m NameMap) []NameMapEntry  { return f.maps[m] }
func (f fakeNames) with(sets IPSetResolver) fakeNames { f.IPSetResolver = sets; return f }

// testNames is what checkExt resolves with unless a case says otherwise:
// the Debian /etc/services entries the oracle rows were made with.
var testNames = fakeNames{
	services:      map[string]uint16{"ssh": 22, "http": 80, "www": 80, "https": 443, "domain": 53, "ntp": 123, "smtp": 25, "telnet": 23, "ftp": 21, "bootps": 67, "bootpc": 68},
	IPSetResolver: NoNames{},
}

// checkExt runs table rows through Parse and Save of one extension.
func checkExt(t *testing.T, kind Kind, name string, rev uint8, cases []extCase) {
	t.Helper()
	checkExtWith(t, testNames, kind, name, rev, cases)
}

// checkExtWith is checkExt resolving names with n.
func checkExtWith(t *testing.T, n Names, kind Kind, name string, rev uint8, cases []extCase) {
	t.Helper()
	for _, c := range cases {
		fam := c.family
		if fam == FamilyAny {
			fam = IPv4
		}
		e := Lookup(kind, name, rev, fam)
		if e == nil {
			t.Fatalf("%s %s rev %d (%s) not registered", kind, name, rev, fam)
		}
		r := RuleInfo{Family: fam, Proto: c.proto, Names: n}
		data, err := ParseOptions(e, r, strings.Fields(c.in))
		if err != nil {
			t.Errorf("%s %q: parse: %v", name, c.in, err)
			continue
		}
		want, err := hex.DecodeString(strings.ReplaceAll(c.hex, " ", ""))
		if err != nil {
			t.Fatalf("bad hex in test %q: %v", c.in, err)
		}
		if string(data) != string(want) {
			t.Errorf("%s %q: payload\n got %x\nwant %x", name, c.in, data, want)
		}
		_, opts, err := SaveText(e, r, want)
		if err != nil {
			t.Errorf("%s %q: save: %v", name, c.in, err)
			continue
		}
		wantSave := c.save
		if wantSave == "" {
			wantSave = c.in
		}
		if got := strings.TrimPrefix(opts, " "); got != wantSave {
			t.Errorf("%s %q: save\n got %q\nwant %q", name, c.in, got, wantSave)
		}
	}
}

// checkExtErrors requires each option list to be rejected.
func checkExtErrors(t *testing.T, kind Kind, name string, rev uint8, fam Family, bad []string) {
	t.Helper()
	checkExtErrorsWith(t, testNames, kind, name, rev, fam, bad)
}

// checkExtErrorsWith is checkExtErrors resolving names with n.
func checkExtErrorsWith(t *testing.T, n Names, kind Kind, name string, rev uint8, fam Family, bad []string) {
	t.Helper()
	e := Lookup(kind, name, rev, fam)
	if e == nil {
		t.Fatalf("%s %s rev %d not registered", kind, name, rev)
	}
	for _, in := range bad {
		if _, err := ParseOptions(e, RuleInfo{Family: fam, Names: n}, strings.Fields(in)); err == nil {
			t.Errorf("%s %q: parsed, want an error", name, in)
		}
	}
}

func TestTCP(t *testing.T) {
	checkExt(t, Match, "tcp", 0, []extCase{
		{proto: 6, in: "--dport 22", hex: "0000ffff16001600 00000000 00000000"},
		{proto: 6, in: "! --sport 1024:65535", hex: "0004ffff0000ffff 00000001 00000000"},
		{proto: 6, in: "--syn", hex: "0000ffff0000ffff 00170200 00000000", save: "--tcp-flags FIN,SYN,RST,ACK SYN"},
		{proto: 6, in: "--destination-port 80 --tcp-flags ALL NONE", hex: "0000ffff50005000 003f0000 00000000", save: "--dport 80 --tcp-flags FIN,SYN,RST,PSH,ACK,URG NONE"},
		{proto: 6, in: "! --tcp-option 2", hex: "0000ffff0000ffff 02000008 00000000"},
	})
	checkExtErrors(t, Match, "tcp", 0, IPv4, []string{
		"--dport 70000", "--dport 22 --dport 23", "--tcp-flags SYN", "--tcp-flags BOGUS SYN", "--dport 90:80", "--tcp-option 0",
	})
}

func TestComment(t *testing.T) {
	checkExt(t, Match, "comment", 0, []extCase{
		{in: "--comment ssh", hex: "737368" + strings.Repeat("00", 253)},
	})
	checkExtErrors(t, Match, "comment", 0, IPv4, []string{"--comment " + strings.Repeat("x", 256), ""})
}

func TestSaveString(t *testing.T) {
	for in, want := range map[string]string{
		"ssh":             " ssh",
		"allow ssh":       ` "allow ssh"`,
		`say "hi"`:        ` "say \"hi\""`,
		"":                ` ""`,
		"it's":            ` "it\'s"`,
		"kube-proxy_ok-1": " kube-proxy_ok-1",
	} {
		var b strings.Builder
		SaveString(&b, in)
		if b.String() != want {
			t.Errorf("SaveString(%q) = %q, want %q", in, b.String(), want)
		}
	}
}

// TestRegistry checks invariants every extension must keep.
func TestRegistry(t *testing.T) {
	for _, e := range All() {
		// Targets without options and socket revision 0 have no payload.
		zeroOK := e.Kind == Target || (e.Name == "socket" && e.Revision == 0)
		if e.Size < 0 || (e.Size == 0 && !zeroOK) {
			t.Errorf("%s %s rev %d: size %d", e.Kind, e.Name, e.Revision, e.Size)
		}
		if len(e.KernelName()) > 28 {
			t.Errorf("%s %s: kernel name longer than 28", e.Kind, e.Name)
		}
		for _, o := range e.Options {
			if o.Args < 0 || o.Args > 2 {
				t.Errorf("%s %s --%s: %d args", e.Kind, e.Name, o.Name, o.Args)
			}
		}
	}
}

// FuzzSave: no payload, however malformed, panics an extension's Save;
// it prints or it returns an error.
func FuzzSave(f *testing.F) {
	all := All()
	f.Add(uint16(0), []byte{0})
	f.Add(uint16(7), make([]byte, 64))
	f.Fuzz(func(t *testing.T, which uint16, seed []byte) {
		e := all[int(which)%len(all)]
		data := make([]byte, e.PayloadSize())
		for i := range data {
			if len(seed) > 0 {
				data[i] = seed[i%len(seed)] ^ byte(i*int(which))
			}
		}
		for _, fam := range []Family{IPv4, IPv6} {
			_, _, _ = SaveText(e, RuleInfo{Family: fam, Proto: uint16(which)}, data)
		}
	})
}
