package xtables

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

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

// rawEntry is one entry of a blob, split into its parts.
type rawEntry struct {
	off      int
	header   Header
	meta     entryMeta
	matches  []Match
	target   Target // for standard targets, Verdict holds the raw verdict
	size     int
	errorTgt string // errorname, when the target is ERROR
	isError  bool
}

// Decode turns the entries of a table (the blob after struct
// ipt_get_entries) into a Table. It accepts exactly the blobs that
// iptables-legacy writes, with every chain closed by its foot and jumps
// landing on user chains, and fails with a DecodeError on anything else;
// for every blob it accepts, Encode gives the same bytes back.
func Decode(f *Family, info Info, blob []byte) (*Table, error) {
	if uint32(len(blob)) != info.Size {
		return nil, decodeErr(0, "blob is %d bytes, table info says %d", len(blob), info.Size)
	}
	entries, err := splitEntries(f, blob)
	if err != nil {
		return nil, err
	}
	if uint32(len(entries)) != info.NumEntries {
		return nil, decodeErr(0, "%d entries, table info says %d", len(entries), info.NumEntries)
	}
	if len(entries) == 0 {
		return nil, decodeErr(0, "empty table")
	}
	last := entries[len(entries)-1]
	if !last.isError || last.errorTgt != "ERROR" {
		return nil, decodeErr(last.off, "table does not end with the ERROR entry")
	}
	if err := checkPlain(f, &last, "final ERROR entry"); err != nil {
		return nil, err
	}
	byOff := make(map[int]int, len(entries))
	for i, e := range entries {
		byOff[e.off] = i
	}
	hookAt := map[int]int{}
	for h := 0; h < numHooks; h++ {
		if info.ValidHooks&(1<<h) == 0 {
			continue
		}
		i, ok := byOff[int(info.HookEntry[h])]
		if !ok {
			return nil, decodeErr(int(info.HookEntry[h]), "hook %s entry is not at an entry boundary", hookNames[h])
		}
		if _, dup := hookAt[i]; dup {
			return nil, decodeErr(int(info.HookEntry[h]), "two hooks share one entry")
		}
		hookAt[i] = h
	}
	if info.ValidHooks>>numHooks != 0 {
		return nil, decodeErr(0, "unknown hooks in valid_hooks %#x", info.ValidHooks)
	}

	t := &Table{Family: f, Name: info.Name, tail: last.meta}
	// firstRule maps the offset a jump lands on to the user chain.
	firstRule := map[int]*Chain{}
	var cur *Chain
	for i := 0; i < len(entries)-1; i++ {
		e := &entries[i]
		h, isHook := hookAt[i]
		switch {
		case isHook:
			if cur != nil {
				return nil, decodeErr(e.off, "chain %s has no foot before hook %s", cur.Name, hookNames[h])
			}
			if e.isError {
				return nil, decodeErr(e.off, "hook %s starts at an ERROR entry", hookNames[h])
			}
			cur = &Chain{Name: hookNames[h], Hook: h}
			t.Chains = append(t.Chains, cur)
		case e.isError:
			if cur != nil {
				return nil, decodeErr(e.off, "chain %s has no foot before chain %q", cur.Name, e.errorTgt)
			}
			if err := checkPlain(f, e, "user chain head"); err != nil {
				return nil, err
			}
			if e.errorTgt == "" || len(e.errorTgt) > MaxChainName {
				return nil, decodeErr(e.off, "bad user chain name %q", e.errorTgt)
			}
			cur = &Chain{Name: e.errorTgt, Hook: -1, Policy: VerdictReturn, head: e.meta}
			t.Chains = append(t.Chains, cur)
			if i+1 >= len(entries)-1 {
				return nil, decodeErr(e.off, "user chain %s has no foot", cur.Name)
			}
			firstRule[entries[i+1].off] = cur
			continue
		}
		if cur == nil {
			return nil, decodeErr(e.off, "entry belongs to no chain")
		}
		if isFoot(cur, e, entries, i, hookAt) {
			if err := checkPlain(f, e, "chain foot"); err != nil {
				return nil, err
			}
			if cur.Builtin() {
				if e.target.Verdict != VerdictAccept && e.target.Verdict != VerdictDrop {
					return nil, decodeErr(e.off, "policy of %s is not ACCEPT or DROP", cur.Name)
				}
				if int(info.Underflow[cur.Hook]) != e.off {
					return nil, decodeErr(e.off, "underflow of %s is at %d, not at its foot", cur.Name, info.Underflow[cur.Hook])
				}
			} else if e.target.Verdict != VerdictReturn {
				return nil, decodeErr(e.off, "user chain %s does not end in RETURN", cur.Name)
			}
			cur.Policy = e.target.Verdict
			cur.Counters = e.meta.counters
			cur.foot = e.meta
			cur = nil
			continue
		}
		if e.target.IsStandard() && int(e.target.Verdict) == e.off+e.size {
			e.target.Verdict = VerdictContinue
		}
		cur.Rules = append(cur.Rules, &Rule{
			Header: e.header, Matches: e.matches, Target: e.target,
			Counters: e.meta.counters, meta: e.meta,
		})
	}
	if cur != nil {
		return nil, decodeErr(last.off, "chain %s has no foot", cur.Name)
	}
	for h := 0; h < numHooks; h++ {
		if info.ValidHooks&(1<<h) != 0 && t.builtin(h) == nil {
			return nil, decodeErr(0, "hook %s has no chain", hookNames[h])
		}
	}
	// Resolve jumps: a standard verdict >= 0 is an offset, and iptables
	// only ever jumps to the first entry after a user chain's head.
	for _, c := range t.Chains {
		for _, r := range c.Rules {
			tg := &r.Target
			if !tg.IsStandard() || tg.Verdict < 0 || tg.Verdict == VerdictContinue {
				continue
			}
			target := firstRule[int(tg.Verdict)]
			if target == nil {
				return nil, decodeErr(0, "rule in %s jumps to offset %d, which starts no user chain", c.Name, tg.Verdict)
			}
			tg.Chain, tg.Verdict = target.Name, 0
		}
	}
	return t, nil
}

func (t *Table) builtin(h int) *Chain {
	for _, c := range t.Chains {
		if c.Hook == h {
			return c
		}
	}
	return nil
}

// isFoot tells a chain's closing entry: the last entry before the next
// chain start or the table's end. Its shape is checked by the caller.
func isFoot(c *Chain, e *rawEntry, entries []rawEntry, i int, hookAt map[int]int) bool {
	next := i + 1
	if next == len(entries)-1 || entries[next].isError {
		return true
	}
	_, nextIsHook := hookAt[next]
	return nextIsHook
}

// checkPlain requires a structural entry (head, foot) to be exactly what
// iptables writes: no conditions, no matches, a standard or ERROR target.
func checkPlain(f *Family, e *rawEntry, what string) error {
	if e.header != (Header{}) || len(e.matches) != 0 {
		return decodeErr(e.off, "%s has conditions", what)
	}
	if !e.isError && (!e.target.IsStandard() || e.target.Verdict >= 0) {
		return decodeErr(e.off, "%s has no built-in verdict", what)
	}
	return nil
}

// splitEntries walks the blob entry by entry, checking every offset and
// size against the blob before reading it.
func splitEntries(f *Family, blob []byte) ([]rawEntry, error) {
	var out []rawEntry
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
		e := rawEntry{off: off, size: nextOff}
		e.header = decodeHeader(f, b)
		if f.addrLen == 16 && (!zero(b[133:136]) || !zero(b[148:152])) {
			return nil, decodeErr(off, "non-zero padding in ip6t_entry")
		}
		e.meta = entryMeta{
			nfcache:  ne.Uint32(b[f.offNFCache():]),
			comefrom: ne.Uint32(b[f.offComeFrom():]),
			counters: Counters{ne.Uint64(b[f.offCounters():]), ne.Uint64(b[f.offCounters()+8:])},
		}
		for m := f.entrySize; m < targetOff; {
			size := int(ne.Uint16(b[m:]))
			if size < sizeofEntryHeader || m+size > targetOff || size%8 != 0 {
				return nil, decodeErr(off+m, "bad match size %d", size)
			}
			name, err := extName(b[m+2 : m+2+extNameLen])
			if err != nil {
				return nil, decodeErr(off+m, "match %v", err)
			}
			e.matches = append(e.matches, Match{
				Name: name, Revision: b[m+31],
				Data: append([]byte(nil), b[m+sizeofEntryHeader:m+size]...),
			})
			m += size
		}
		tsize := int(ne.Uint16(b[targetOff:]))
		if tsize != nextOff-targetOff {
			return nil, decodeErr(off+targetOff, "target size %d does not fill the entry (%d)", tsize, nextOff-targetOff)
		}
		name, err := extName(b[targetOff+2 : targetOff+2+extNameLen])
		if err != nil {
			return nil, decodeErr(off+targetOff, "target %v", err)
		}
		payload := b[targetOff+sizeofEntryHeader : nextOff]
		rev := b[targetOff+31]
		switch name {
		case "":
			if tsize != sizeofStandardTgt || rev != 0 || !zero(payload[4:]) {
				return nil, decodeErr(off+targetOff, "malformed standard target")
			}
			e.target = Target{Verdict: int32(ne.Uint32(payload))}
			if e.target.Verdict < VerdictReturn {
				return nil, decodeErr(off+targetOff, "unknown verdict %d", e.target.Verdict)
			}
		case "ERROR":
			if tsize != sizeofErrorTgt || rev != 0 {
				return nil, decodeErr(off+targetOff, "malformed ERROR target")
			}
			en, err := cName(payload[:errorNameLen])
			if err != nil || !zero(payload[errorNameLen:]) {
				return nil, decodeErr(off+targetOff, "malformed ERROR target name")
			}
			e.isError, e.errorTgt = true, en
			e.target = Target{Name: "ERROR"}
		default:
			e.target = Target{Name: name, Revision: rev, Data: append([]byte(nil), payload...)}
		}
		out = append(out, e)
		off += nextOff
	}
	return out, nil
}

// extName reads an extension's name field; the bytes after the NUL must
// be zero, as they are when the kernel writes into a zeroed buffer, so
// that the name can be written back byte for byte.
func extName(b []byte) (string, error) {
	return cName(b)
}

func cName(b []byte) (string, error) {
	n := strings.IndexByte(string(b), 0)
	if n < 0 {
		return "", fmt.Errorf("name is not NUL terminated")
	}
	if !zero(b[n:]) {
		return "", fmt.Errorf("name %q has bytes after its NUL", b[:n])
	}
	return string(b[:n]), nil
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
