package xtables

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"

	"github.com/hostwall/hostwall/xtables/ext"
)

var ne = binary.NativeEndian

// Info is what IPT_SO_GET_INFO tells of a table (struct ipt_getinfo).
type Info struct {
	Name       string
	ValidHooks uint32
	HookEntry  [numHooks]uint32
	Underflow  [numHooks]uint32
	NumEntries uint32
	Size       uint32
}

// DecodeError locates a malformed kernel blob.
type DecodeError struct {
	Offset int
	Msg    string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("table blob at offset %d: %s", e.Offset, e.Msg)
}

func decodeErr(off int, format string, args ...any) error {
	return &DecodeError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// rawEntry is one entry of a blob as splitEntries checked it: where it
// is and what its target is. The rule itself is read from the blob again
// when the chain structure is known. It holds no pointers, so that the
// garbage collector need not scan a table's worth of them.
type rawEntry struct {
	off       uint32 // a blob is at most 4 GiB (ipt_getinfo.size)
	size      uint16
	targetOff uint16
	nMatches  uint16
	kind      entryKind
	plain     bool  // no header conditions and no matches
	verdict   int32 // for a standard target: the raw verdict
}

// errorName is the errorname of an ERROR entry (checked by splitEntries).
func (e *rawEntry) errorName(blob []byte) string {
	at := int(e.off) + int(e.targetOff) + sizeofEntryHeader
	name, _ := cName(blob[at : at+errorNameLen])
	return name
}

type entryKind uint8

const (
	kindStandard entryKind = iota
	kindError
	kindExt
)

func (e *rawEntry) isError() bool { return e.kind == kindError }

// Decode turns the entries of a table (the blob after struct
// ipt_get_entries) into a Table. It accepts exactly the blobs that
// iptables-legacy writes, with every chain closed by its foot and jumps
// landing on user chains, and fails with a DecodeError on anything else;
// for every blob it accepts, Encode gives the same bytes back.
//
// The payloads of the table's matches and targets are slices of blob,
// not copies: the caller must not modify blob afterwards.
func Decode(f *Family, info Info, blob []byte) (*Table, error) {
	s, err := scan(f, info, blob, false)
	if err != nil {
		return nil, err
	}
	return s.build(nil, nil), nil
}

// scanned is a blob whose entries and chain structure Decode's checks
// accepted: its chains, where each starts and ends, and its jumps.
type scanned struct {
	f       *Family
	info    Info
	blob    []byte
	entries []rawEntry
	chains  []scanChain
	// jumps are the rule entries whose standard verdict is a jump to
	// a user chain, in blob order.
	jumps []scanJump
	// counters are every entry's, when scan was asked for them.
	counters []Counters
}

// scanChain is one chain of a scanned blob.
type scanChain struct {
	name string
	hook int // -1 for a user chain
	// head is a user chain's ERROR entry (-1 for a built-in chain),
	// first the entry after it (the first rule, or the foot), foot the
	// chain's closing entry.
	head, first, foot int
}

// scanJump is a jump: the entry holding it, its chain and the chain it
// lands on (indexes into scanned.chains).
type scanJump struct{ entry, from, to int }

// scan checks a blob's entries and chain structure as Decode does and
// locates its chains, without decoding any rule; with counters, it also
// reads every entry's counters.
func scan(f *Family, info Info, blob []byte, counters bool) (*scanned, error) {
	if uint32(len(blob)) != info.Size {
		return nil, decodeErr(0, "blob is %d bytes, table info says %d", len(blob), info.Size)
	}
	var ctrs *[]Counters
	if counters {
		ctrs = new([]Counters)
	}
	entries, err := splitEntries(f, blob, ctrs)
	if err != nil {
		return nil, err
	}
	if uint32(len(entries)) != info.NumEntries {
		return nil, decodeErr(0, "%d entries, table info says %d", len(entries), info.NumEntries)
	}
	if len(entries) == 0 {
		return nil, decodeErr(0, "empty table")
	}
	last := &entries[len(entries)-1]
	if !last.isError() || last.errorName(blob) != "ERROR" {
		return nil, decodeErr(int(last.off), "table does not end with the ERROR entry")
	}
	if err := checkPlain(last, "final ERROR entry"); err != nil {
		return nil, err
	}
	// hookAt[h] is the index of hook h's first entry, -1 if unused.
	var hookAt [numHooks]int
	for h := 0; h < numHooks; h++ {
		hookAt[h] = -1
		if info.ValidHooks&(1<<h) == 0 {
			continue
		}
		off := int(info.HookEntry[h])
		i, ok := slices.BinarySearchFunc(entries, off, func(e rawEntry, off int) int { return cmp.Compare(int(e.off), off) })
		if !ok {
			return nil, decodeErr(off, "hook %s entry is not at an entry boundary", hookNames[h])
		}
		if slices.Contains(hookAt[:h], i) {
			return nil, decodeErr(off, "two hooks share one entry")
		}
		hookAt[h] = i
	}
	if info.ValidHooks>>numHooks != 0 {
		return nil, decodeErr(0, "unknown hooks in valid_hooks %#x", info.ValidHooks)
	}

	s := &scanned{f: f, info: info, blob: blob, entries: entries}
	if ctrs != nil {
		s.counters = *ctrs
	}
	// firstRule maps the offset a jump lands on to the user chain.
	firstRule := map[int]int{}
	type pending struct{ entry, from int }
	var jumps []pending
	cur := -1 // the chain being scanned
	for i := 0; i < len(entries)-1; i++ {
		e := &entries[i]
		h := slices.Index(hookAt[:], i)
		switch {
		case h >= 0:
			if cur >= 0 {
				return nil, decodeErr(int(e.off), "chain %s has no foot before hook %s", s.chains[cur].name, hookNames[h])
			}
			if e.isError() {
				return nil, decodeErr(int(e.off), "hook %s starts at an ERROR entry", hookNames[h])
			}
			s.chains = append(s.chains, scanChain{name: hookNames[h], hook: h, head: -1, first: i})
			cur = len(s.chains) - 1
		case e.isError():
			name := e.errorName(blob)
			if cur >= 0 {
				return nil, decodeErr(int(e.off), "chain %s has no foot before chain %q", s.chains[cur].name, name)
			}
			if err := checkPlain(e, "user chain head"); err != nil {
				return nil, err
			}
			if name == "" || len(name) > MaxChainName {
				return nil, decodeErr(int(e.off), "bad user chain name %q", name)
			}
			s.chains = append(s.chains, scanChain{name: name, hook: -1, head: i, first: i + 1})
			cur = len(s.chains) - 1
			if i+1 >= len(entries)-1 {
				return nil, decodeErr(int(e.off), "user chain %s has no foot", name)
			}
			firstRule[int(entries[i+1].off)] = cur
			continue
		}
		if cur < 0 {
			return nil, decodeErr(int(e.off), "entry belongs to no chain")
		}
		if isFoot(entries, i, &hookAt) {
			if err := checkPlain(e, "chain foot"); err != nil {
				return nil, err
			}
			c := &s.chains[cur]
			if c.hook >= 0 {
				if e.verdict != VerdictAccept && e.verdict != VerdictDrop {
					return nil, decodeErr(int(e.off), "policy of %s is not ACCEPT or DROP", c.name)
				}
				if int(info.Underflow[c.hook]) != int(e.off) {
					return nil, decodeErr(int(e.off), "underflow of %s is at %d, not at its foot", c.name, info.Underflow[c.hook])
				}
			} else if e.verdict != VerdictReturn {
				return nil, decodeErr(int(e.off), "user chain %s does not end in RETURN", c.name)
			}
			c.foot = i
			cur = -1
			continue
		}
		if e.kind == kindStandard && e.verdict >= 0 && int(e.verdict) != int(e.off)+int(e.size) {
			jumps = append(jumps, pending{i, cur})
		}
	}
	if cur >= 0 {
		return nil, decodeErr(int(last.off), "chain %s has no foot", s.chains[cur].name)
	}
	for h := 0; h < numHooks; h++ {
		if info.ValidHooks&(1<<h) != 0 && !slices.ContainsFunc(s.chains, func(c scanChain) bool { return c.hook == h }) {
			return nil, decodeErr(0, "hook %s has no chain", hookNames[h])
		}
	}
	// Resolve jumps: a standard verdict >= 0 is an offset, and iptables
	// only ever jumps to the first entry after a user chain's head.
	s.jumps = make([]scanJump, 0, len(jumps))
	for _, j := range jumps {
		v := int(entries[j.entry].verdict)
		to, ok := firstRule[v]
		if !ok {
			return nil, decodeErr(0, "rule in %s jumps to offset %d, which starts no user chain", s.chains[j.from].name, v)
		}
		s.jumps = append(s.jumps, scanJump{j.entry, j.from, to})
	}
	return s, nil
}

// build decodes the chains of s that want selects (all when want is
// nil) into a Table, in blob order. index, when not nil, is given the
// entry index of every rule decoded.
func (s *scanned) build(want []bool, index map[*Rule]int) *Table {
	f, blob, entries := s.f, s.blob, s.entries
	last := &entries[len(entries)-1]
	t := &Table{Family: f, Name: s.info.Name, tail: entryMetaAt(f, blob[last.off:])}
	// Rules and matches are allocated in chunks, not one by one.
	// Chunks rather than one slab: the garbage collector may scan an
	// allocation while it is being filled, and reading pages not yet
	// written costs a page fault of its own.
	nRules, nMatches := 0, 0
	for ci, c := range s.chains {
		if want != nil && !want[ci] {
			continue
		}
		nRules += c.foot - c.first
		for i := c.first; i < c.foot; i++ {
			nMatches += int(entries[i].nMatches)
		}
	}
	var rules []Rule
	newRule := func() *Rule {
		if len(rules) == cap(rules) {
			rules = make([]Rule, 0, max(1, min(ruleChunk, nRules)))
		}
		nRules--
		rules = append(rules, Rule{})
		return &rules[len(rules)-1]
	}
	var matches []Match
	ptrs := make([]*Rule, 0, max(0, nRules))
	names := map[string]string{}
	// jumpTo is the chain each jump entry lands on.
	jumpTo := make(map[int]string, len(s.jumps))
	for _, j := range s.jumps {
		if want == nil || want[j.from] {
			jumpTo[j.entry] = s.chains[j.to].name
		}
	}
	for ci, sc := range s.chains {
		if want != nil && !want[ci] {
			continue
		}
		c := &Chain{Name: sc.name, Hook: sc.hook}
		if sc.hook < 0 {
			c.head = entryMetaAt(f, blob[entries[sc.head].off:])
		}
		t.Chains = append(t.Chains, c)
		chainStart := len(ptrs)
		for i := sc.first; i < sc.foot; i++ {
			e := &entries[i]
			r := newRule()
			ptrs = append(ptrs, r)
			if index != nil {
				index[r] = i
			}
			eoff, esize, etgt := int(e.off), int(e.size), int(e.targetOff)
			b := blob[eoff : eoff+esize : eoff+esize]
			r.Header = decodeHeader(f, b)
			r.meta = entryMetaAt(f, b)
			r.Counters = r.meta.counters
			if e.nMatches > 0 {
				if cap(matches)-len(matches) < int(e.nMatches) {
					matches = make([]Match, 0, max(int(e.nMatches), min(matchChunk, nMatches)))
				}
				nMatches -= int(e.nMatches)
				first := len(matches)
				for m := f.entrySize; m < etgt; {
					size := int(ne.Uint16(b[m:]))
					matches = append(matches, Match{
						Name: intern(names, b[m+2:m+2+extNameLen]), Revision: b[m+31],
						Data: payload(b, m+sizeofEntryHeader, m+size),
					})
					m += size
				}
				r.Matches = matches[first:len(matches):len(matches)]
			}
			switch e.kind {
			case kindStandard:
				r.Target.Verdict = e.verdict
				switch {
				case int(e.verdict) == eoff+esize:
					r.Target.Verdict = VerdictContinue
				case e.verdict >= 0:
					r.Target.Chain, r.Target.Verdict = jumpTo[i], 0
				}
			case kindError:
				r.Target.Name = "ERROR"
			default:
				tb := b[etgt:]
				r.Target = Target{Name: intern(names, tb[2:2+extNameLen]), Revision: tb[31], Data: payload(b, etgt+sizeofEntryHeader, esize)}
			}
		}
		foot := &entries[sc.foot]
		c.Policy = foot.verdict
		c.foot = entryMetaAt(f, blob[foot.off:])
		c.Counters = c.foot.counters
		if len(ptrs) > chainStart {
			c.Rules = ptrs[chainStart:len(ptrs):len(ptrs)]
		}
	}
	return t
}

// Decode allocates rules and matches this many at a time.
const (
	ruleChunk  = 256
	matchChunk = 1024
)

// payload is b[from:to] without copying, nil when empty, and capped so
// that appending to it can never write into the next entry.
func payload(b []byte, from, to int) []byte {
	if from == to {
		return nil
	}
	return b[from:to:to]
}

// intern returns the extension name in b (already checked by
// splitEntries) as a string shared by every entry that uses it.
func intern(names map[string]string, b []byte) string {
	b = b[:bytes.IndexByte(b, 0)]
	if s, ok := names[string(b)]; ok {
		return s
	}
	s := string(b)
	names[s] = s
	return s
}

// entryMetaAt reads the bookkeeping fields of the entry at b.
func entryMetaAt(f *Family, b []byte) entryMeta {
	return entryMeta{
		nfcache:  ne.Uint32(b[f.offNFCache():]),
		comefrom: ne.Uint32(b[f.offComeFrom():]),
		counters: Counters{ne.Uint64(b[f.offCounters():]), ne.Uint64(b[f.offCounters()+8:])},
	}
}

// isFoot tells a chain's closing entry: the last entry before the next
// chain start or the table's end. Its shape is checked by the caller.
func isFoot(entries []rawEntry, i int, hookAt *[numHooks]int) bool {
	next := i + 1
	if next == len(entries)-1 || entries[next].isError() {
		return true
	}
	return slices.Contains(hookAt[:], next)
}

// checkPlain requires a structural entry (head, foot) to be exactly what
// iptables writes: no conditions, no matches, a standard or ERROR target.
func checkPlain(e *rawEntry, what string) error {
	if !e.plain {
		return decodeErr(int(e.off), "%s has conditions", what)
	}
	if !e.isError() && (e.kind != kindStandard || e.verdict >= 0) {
		return decodeErr(int(e.off), "%s has no built-in verdict", what)
	}
	return nil
}

// splitEntries walks the blob entry by entry, checking every offset,
// size and name against the blob before reading it; when counters is not
// nil, it appends every entry's counters to it.
func splitEntries(f *Family, blob []byte, counters *[]Counters) ([]rawEntry, error) {
	// Every entry iptables writes is at least an ipt_entry and a
	// standard target long: room for that many, which the pages not
	// written to do not cost.
	out := make([]rawEntry, 0, len(blob)/(f.entrySize+sizeofStandardTgt)+1)
	if counters != nil {
		*counters = make([]Counters, 0, len(blob)/(f.entrySize+sizeofStandardTgt)+1)
	}
	for off := 0; off < len(blob); {
		if off%8 != 0 {
			return nil, decodeErr(off, "entry not 8-byte aligned")
		}
		if len(blob)-off < f.entrySize+sizeofEntryHeader {
			return nil, decodeErr(off, "truncated entry")
		}
		b := blob[off:]
		targetOff := int(ne.Uint16(b[f.offTargetOffset():]))
		nextOff := int(ne.Uint16(b[f.offNextOffset():]))
		if nextOff < f.entrySize+sizeofEntryHeader || nextOff > len(b) || nextOff%8 != 0 {
			return nil, decodeErr(off, "bad next_offset %d", nextOff)
		}
		if targetOff < f.entrySize || targetOff+sizeofEntryHeader > nextOff {
			return nil, decodeErr(off, "bad target_offset %d", targetOff)
		}
		e := rawEntry{off: uint32(off), size: uint16(nextOff), targetOff: uint16(targetOff)}
		if f.addrLen == 16 && (!zero(b[133:136]) || !zero(b[148:152])) {
			return nil, decodeErr(off, "non-zero padding in ip6t_entry")
		}
		for m := f.entrySize; m < targetOff; {
			size := int(ne.Uint16(b[m:]))
			if size < sizeofEntryHeader || m+size > targetOff || size%8 != 0 {
				return nil, decodeErr(off+m, "bad match size %d", size)
			}
			if err := checkName(b[m+2 : m+2+extNameLen]); err != nil {
				return nil, decodeErr(off+m, "match %v", err)
			}
			e.nMatches++
			m += size
		}
		// Every field of ipt_ip/ip6t_ip6 is a Header field (the IPv6
		// padding is zero, checked above).
		e.plain = e.nMatches == 0 && zero(b[:f.ipSize])
		tsize := int(ne.Uint16(b[targetOff:]))
		if tsize != nextOff-targetOff {
			return nil, decodeErr(off+targetOff, "target size %d does not fill the entry (%d)", tsize, nextOff-targetOff)
		}
		tname := b[targetOff+2 : targetOff+2+extNameLen]
		if err := checkName(tname); err != nil {
			return nil, decodeErr(off+targetOff, "target %v", err)
		}
		payload := b[targetOff+sizeofEntryHeader : nextOff]
		rev := b[targetOff+31]
		switch {
		case tname[0] == 0:
			if tsize != sizeofStandardTgt || rev != 0 || !zero(payload[4:]) {
				return nil, decodeErr(off+targetOff, "malformed standard target")
			}
			e.kind, e.verdict = kindStandard, int32(ne.Uint32(payload))
			if e.verdict < VerdictReturn {
				return nil, decodeErr(off+targetOff, "unknown verdict %d", e.verdict)
			}
		case string(tname[:6]) == "ERROR\x00":
			if tsize != sizeofErrorTgt || rev != 0 {
				return nil, decodeErr(off+targetOff, "malformed ERROR target")
			}
			if checkName(payload[:errorNameLen]) != nil || !zero(payload[errorNameLen:]) {
				return nil, decodeErr(off+targetOff, "malformed ERROR target name")
			}
			e.kind = kindError
		default:
			e.kind = kindExt
		}
		out = append(out, e)
		if counters != nil {
			*counters = append(*counters, Counters{ne.Uint64(b[f.offCounters():]), ne.Uint64(b[f.offCounters()+8:])})
		}
		off += nextOff
	}
	return out, nil
}

// checkName checks an extension's name field: NUL-terminated, and the
// bytes after the NUL zero, as they are when the kernel writes into a
// zeroed buffer, so that the name can be written back byte for byte.
func checkName(b []byte) error {
	n := bytes.IndexByte(b, 0)
	if n < 0 {
		return fmt.Errorf("name is not NUL terminated")
	}
	if !zero(b[n:]) {
		return fmt.Errorf("name %q has bytes after its NUL", b[:n])
	}
	return nil
}

// cName reads a NUL-terminated name field (see checkName).
func cName(b []byte) (string, error) {
	if err := checkName(b); err != nil {
		return "", err
	}
	return string(b[:bytes.IndexByte(b, 0)]), nil
}

func zero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func decodeHeader(f *Family, b []byte) Header {
	var h Header
	if f.addrLen == 4 {
		copy(h.Src[:4], b[0:4])
		copy(h.Dst[:4], b[4:8])
		copy(h.SrcMask[:4], b[8:12])
		copy(h.DstMask[:4], b[12:16])
		copy(h.InIface[:], b[16:32])
		copy(h.OutIface[:], b[32:48])
		copy(h.InIfaceMask[:], b[48:64])
		copy(h.OutIfaceMask[:], b[64:80])
		h.Proto = ne.Uint16(b[80:])
		h.Flags, h.InvFlags = b[82], b[83]
		return h
	}
	copy(h.Src[:], b[0:16])
	copy(h.Dst[:], b[16:32])
	copy(h.SrcMask[:], b[32:48])
	copy(h.DstMask[:], b[48:64])
	copy(h.InIface[:], b[64:80])
	copy(h.OutIface[:], b[80:96])
	copy(h.InIfaceMask[:], b[96:112])
	copy(h.OutIfaceMask[:], b[112:128])
	h.Proto = ne.Uint16(b[128:])
	h.TOS, h.Flags, h.InvFlags = b[130], b[131], b[132]
	// b[133:136] is padding; iptables writes zeros and so do we.
	return h
}

// SortChains puts chains in the order libiptc keeps them and writes
// them: built-in chains by hook, then user chains by strcmp order.
func (t *Table) SortChains() {
	sort.SliceStable(t.Chains, func(i, j int) bool {
		a, b := t.Chains[i], t.Chains[j]
		if a.Builtin() != b.Builtin() {
			return a.Builtin()
		}
		if a.Builtin() {
			return a.Hook < b.Hook
		}
		return a.Name < b.Name
	})
}

// ExtFamily is the extension family of the table.
func (t *Table) ExtFamily() ext.Family { return t.Family.Ext }
