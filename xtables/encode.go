package xtables

import (
	"bytes"
	"fmt"
)

// Encoded is a table ready for IPT_SO_SET_REPLACE: the entries blob and
// the info that goes into struct ipt_replace.
type Encoded struct {
	Info Info
	Blob []byte
	// Rules holds, in blob order, the rule each entry came from (nil for
	// heads, feet and the final ERROR entry), so that counters can be
	// mapped from old entries to new ones.
	Rules []*Rule
	// Feet holds, in blob order, the chain whose foot each entry is.
	Feet []*Chain
	// buf is Blob with room for struct ipt_replace in front of it, so
	// that Replace sends the blob without copying it.
	buf []byte
	// x is the layout Encode made, for ReadBack.
	x *encoder
}

// ruleSize is the size of a rule's entry.
func (f *Family) ruleSize(r *Rule) int {
	n := f.entrySize
	for _, m := range r.Matches {
		n += sizeofEntryHeader + len(m.Data)
	}
	if r.Target.IsStandard() {
		return n + sizeofStandardTgt
	}
	return n + sizeofEntryHeader + len(r.Target.Data)
}

// Encode lays the table out as iptables-legacy does: each chain in table
// order, a user chain opened by an ERROR entry naming it, every chain
// closed by its foot (the policy, or RETURN), the table closed by an
// ERROR entry named "ERROR"; jumps point at the entry after the target
// chain's head.
func Encode(t *Table) (*Encoded, error) {
	x, err := newEncoder(t)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, sizeofReplace+x.size)
	enc := &Encoded{
		Blob: buf[sizeofReplace:], buf: buf, x: x,
		Rules: make([]*Rule, 0, x.entries), Feet: make([]*Chain, 0, x.entries),
	}
	enc.Info.Name = t.Name
	enc.Info.Size = uint32(x.size)
	b := enc.Blob
	off := 0
	for e := range t.entries {
		n, err := x.put(b[off:], off, e)
		if err != nil {
			return nil, err
		}
		enc.Rules = append(enc.Rules, e.rule)
		if e.kind == entryFoot {
			enc.Feet = append(enc.Feet, e.chain)
		} else {
			enc.Feet = append(enc.Feet, nil)
		}
		off += n
	}
	enc.Info.NumEntries = uint32(len(enc.Rules))
	enc.Info.ValidHooks, enc.Info.HookEntry, enc.Info.Underflow = x.hooks()
	if off != x.size {
		return nil, fmt.Errorf("internal error: encoded %d bytes, planned %d", off, x.size)
	}
	return enc, nil
}

// layoutKind tells what an entry of a laid-out table is.
type layoutKind uint8

const (
	entryHead layoutKind = iota // a user chain's ERROR head
	entryRule
	entryFoot // a chain's policy or RETURN
	entryTail // the final ERROR entry
)

// layoutEntry is one entry of a table as Encode lays it out.
type layoutEntry struct {
	kind  layoutKind
	first bool   // the first entry of a built-in chain: its hook entry
	chain *Chain // nil for the tail
	rule  *Rule  // for entryRule
}

// entries yields the entries of t in blob order.
func (t *Table) entries(yield func(layoutEntry) bool) {
	for _, c := range t.Chains {
		if !c.Builtin() && !yield(layoutEntry{kind: entryHead, chain: c}) {
			return
		}
		for i, r := range c.Rules {
			if !yield(layoutEntry{kind: entryRule, first: i == 0 && c.Builtin(), chain: c, rule: r}) {
				return
			}
		}
		if !yield(layoutEntry{kind: entryFoot, first: len(c.Rules) == 0 && c.Builtin(), chain: c}) {
			return
		}
	}
	yield(layoutEntry{kind: entryTail})
}

// encoder writes the entries of one table; newEncoder is Encode's first
// pass over it.
type encoder struct {
	t       *Table
	size    int
	entries int
	jumpTo  map[string]int // offset of each user chain's first rule
	// hook entries and underflows, filled in as put meets them.
	hookEntry, underflow [numHooks]uint32
	validHooks           uint32
}

// newEncoder checks t as check does and lays it out: Encode's first pass.
func newEncoder(t *Table) (*encoder, error) {
	seen, err := t.checkChains()
	if err != nil {
		return nil, err
	}
	f := t.Family
	x := &encoder{t: t, jumpTo: map[string]int{}, entries: 1}
	for _, c := range t.Chains {
		if !c.Builtin() {
			x.size += f.errorHeadLen
			x.jumpTo[c.Name] = x.size
			x.entries++
		}
		for i, r := range c.Rules {
			n, err := t.checkRule(seen, c, i, r)
			if err != nil {
				return nil, err
			}
			x.size += n
		}
		x.size += f.entrySize + sizeofStandardTgt
		x.entries += len(c.Rules) + 1
	}
	x.size += f.errorHeadLen
	x.resetHooks()
	return x, nil
}

func (x *encoder) resetHooks() {
	x.validHooks = 0
	for h := range x.hookEntry {
		// The kernel reports hooks a table does not use as 0xFFFFFFFF.
		x.hookEntry[h], x.underflow[h] = ^uint32(0), ^uint32(0)
	}
}

func (x *encoder) hooks() (uint32, [numHooks]uint32, [numHooks]uint32) {
	return x.validHooks, x.hookEntry, x.underflow
}

// entrySize is the size of e's entry.
func (x *encoder) entrySize(e layoutEntry) int {
	f := x.t.Family
	switch e.kind {
	case entryRule:
		return f.ruleSize(e.rule)
	case entryFoot:
		return f.entrySize + sizeofStandardTgt
	}
	return f.errorHeadLen
}

// put writes entry e into b, which must be zeroed and is at offset off of
// the blob, and returns the entry's size.
func (x *encoder) put(b []byte, off int, e layoutEntry) (int, error) {
	var none Header
	c := e.chain
	if e.first {
		x.validHooks |= 1 << c.Hook
		x.hookEntry[c.Hook] = uint32(off)
	}
	switch e.kind {
	case entryHead:
		return x.putEntry(b, off, &none, c.head, nil, Target{Name: "ERROR", Chain: c.Name})
	case entryRule:
		r := e.rule
		meta := r.meta
		meta.counters = r.Counters
		n, err := x.putEntry(b, off, &r.Header, meta, r.Matches, r.Target)
		if err != nil {
			return 0, fmt.Errorf("chain %s: %w", c.Name, err)
		}
		return n, nil
	case entryFoot:
		if c.Builtin() {
			x.underflow[c.Hook] = uint32(off)
		}
		foot := c.foot
		foot.counters = c.Counters
		return x.putEntry(b, off, &none, foot, nil, Target{Verdict: c.Policy})
	}
	return x.putEntry(b, off, &none, x.t.tail, nil, Target{Name: "ERROR", Chain: "ERROR"})
}

func (x *encoder) putEntry(e []byte, off int, h *Header, meta entryMeta, matches []Match, tgt Target) (int, error) {
	f := x.t.Family
	encodeHeader(f, e, h)
	ne.PutUint32(e[f.offNFCache():], meta.nfcache)
	ne.PutUint32(e[f.offComeFrom():], meta.comefrom)
	ne.PutUint64(e[f.offCounters():], meta.counters.Packets)
	ne.PutUint64(e[f.offCounters()+8:], meta.counters.Bytes)
	p := f.entrySize
	for _, m := range matches {
		if err := putExtHeader(e[p:], sizeofEntryHeader+len(m.Data), m.Name, m.Revision); err != nil {
			return 0, fmt.Errorf("match %w", err)
		}
		copy(e[p+sizeofEntryHeader:], m.Data)
		p += sizeofEntryHeader + len(m.Data)
	}
	ne.PutUint16(e[f.offTargetOffset():], uint16(p))
	switch {
	case tgt.Name == "ERROR":
		putExtHeader(e[p:], sizeofErrorTgt, "ERROR", 0)
		copy(e[p+sizeofEntryHeader:p+sizeofEntryHeader+errorNameLen], tgt.Chain)
		p += sizeofErrorTgt
	case tgt.IsStandard():
		putExtHeader(e[p:], sizeofStandardTgt, "", 0)
		v := tgt.Verdict
		switch {
		case tgt.Chain != "":
			v = int32(x.jumpTo[tgt.Chain])
		case v == VerdictContinue:
			v = int32(off + p + sizeofStandardTgt)
		}
		ne.PutUint32(e[p+sizeofEntryHeader:], uint32(v))
		p += sizeofStandardTgt
	default:
		if err := putExtHeader(e[p:], sizeofEntryHeader+len(tgt.Data), tgt.Name, tgt.Revision); err != nil {
			return 0, fmt.Errorf("target %w", err)
		}
		copy(e[p+sizeofEntryHeader:], tgt.Data)
		p += sizeofEntryHeader + len(tgt.Data)
	}
	ne.PutUint16(e[f.offNextOffset():], uint16(p))
	return p, nil
}

// check verifies what the kernel would reject or what Encode cannot lay
// out: unique chain names, jumps to existing user chains, payload sizes.
func (t *Table) check() error {
	seen, err := t.checkChains()
	if err != nil {
		return err
	}
	for _, c := range t.Chains {
		for i, r := range c.Rules {
			if _, err := t.checkRule(seen, c, i, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkChains is the part of check about chains: it returns them by
// name.
func (t *Table) checkChains() (map[string]*Chain, error) {
	seen := make(map[string]*Chain, len(t.Chains))
	for _, c := range t.Chains {
		if seen[c.Name] != nil {
			return nil, fmt.Errorf("chain %s defined twice", c.Name)
		}
		seen[c.Name] = c
		if c.Builtin() && c.Policy != VerdictAccept && c.Policy != VerdictDrop {
			return nil, fmt.Errorf("chain %s: policy must be ACCEPT or DROP", c.Name)
		}
		if !c.Builtin() && (len(c.Name) > MaxChainName || c.Name == "") {
			return nil, fmt.Errorf("chain name %q must be 1 to %d characters", c.Name, MaxChainName)
		}
	}
	return seen, nil
}

// checkRule is the part of check about rule i of chain c; it returns the
// size of the rule's entry.
func (t *Table) checkRule(seen map[string]*Chain, c *Chain, i int, r *Rule) (int, error) {
	tg := &r.Target
	for _, m := range r.Matches {
		if len(m.Data)%8 != 0 {
			return 0, fmt.Errorf("chain %s rule %d: match %s payload of %d bytes is not 8-byte aligned", c.Name, i+1, m.Name, len(m.Data))
		}
	}
	size := t.Family.ruleSize(r)
	if tg.IsStandard() {
		if tg.Chain == "" {
			if (tg.Verdict >= 0 || tg.Verdict < VerdictReturn) && tg.Verdict != VerdictContinue {
				return 0, fmt.Errorf("chain %s rule %d: bad verdict %d", c.Name, i+1, tg.Verdict)
			}
			return size, nil
		}
		dst := seen[tg.Chain]
		if dst == nil || dst.Builtin() {
			return 0, fmt.Errorf("chain %s rule %d: jump to %q, which is not a user chain of table %s", c.Name, i+1, tg.Chain, t.Name)
		}
	} else if len(tg.Data)%8 != 0 {
		return 0, fmt.Errorf("chain %s rule %d: target %s payload of %d bytes is not 8-byte aligned", c.Name, i+1, tg.Name, len(tg.Data))
	}
	if size > 0xffff {
		return 0, fmt.Errorf("chain %s rule %d: entry larger than 65535 bytes", c.Name, i+1)
	}
	return size, nil
}

func putExtHeader(b []byte, size int, name string, rev uint8) error {
	if len(name) >= extNameLen {
		return fmt.Errorf("name %q too long", name)
	}
	ne.PutUint16(b, uint16(size))
	copy(b[2:2+extNameLen], name)
	b[31] = rev
	return nil
}

func encodeHeader(f *Family, b []byte, h *Header) {
	if f.addrLen == 4 {
		copy(b[0:4], h.Src[:4])
		copy(b[4:8], h.Dst[:4])
		copy(b[8:12], h.SrcMask[:4])
		copy(b[12:16], h.DstMask[:4])
		copy(b[16:32], h.InIface[:])
		copy(b[32:48], h.OutIface[:])
		copy(b[48:64], h.InIfaceMask[:])
		copy(b[64:80], h.OutIfaceMask[:])
		ne.PutUint16(b[80:], h.Proto)
		b[82], b[83] = h.Flags, h.InvFlags
		return
	}
	copy(b[0:16], h.Src[:])
	copy(b[16:32], h.Dst[:])
	copy(b[32:48], h.SrcMask[:])
	copy(b[48:64], h.DstMask[:])
	copy(b[64:80], h.InIface[:])
	copy(b[80:96], h.OutIface[:])
	copy(b[96:112], h.InIfaceMask[:])
	copy(b[112:128], h.OutIfaceMask[:])
	ne.PutUint16(b[128:], h.Proto)
	b[130], b[131], b[132] = h.TOS, h.Flags, h.InvFlags
}

// Layout lists what Encode(t) would write, in blob order, without the
// bytes: the Rules and Feet of its result (Info and Blob are left
// empty), for mapping counters from one table to another. It fails where
// Encode would.
func Layout(t *Table) (*Encoded, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	n := 1
	for _, c := range t.Chains {
		n += len(c.Rules) + 2 // head (user chains), rules, foot
	}
	enc := &Encoded{Rules: make([]*Rule, 0, n), Feet: make([]*Chain, 0, n)}
	for e := range t.entries {
		enc.Rules = append(enc.Rules, e.rule)
		if e.kind == entryFoot {
			enc.Feet = append(enc.Feet, e.chain)
		} else {
			enc.Feet = append(enc.Feet, nil)
		}
	}
	return enc, nil
}

// sameEncoding reports whether a table read from the kernel (its info
// and blob) holds exactly the entries that x, the layout of a table
// Encode accepted, writes: the same bytes apart from the fields the
// kernel keeps for itself in every entry (nfcache, comefrom and the
// counters). It encodes the table again one entry at a time rather than
// keeping the whole encoding around. A false answer proves nothing: the
// caller compares decoded tables then.
func sameEncoding(x *encoder, info Info, blob []byte) bool {
	if len(blob) != x.size || int(info.Size) != x.size || int(info.NumEntries) != x.entries {
		return false
	}
	x.resetHooks()
	f := x.t.Family
	scratch := make([]byte, 4096)
	off := 0
	for e := range x.t.entries {
		n := x.entrySize(e)
		if n > len(blob)-off {
			return false
		}
		if n > len(scratch) {
			scratch = make([]byte, n)
		}
		want := scratch[:n]
		clear(want)
		if _, err := x.put(want, off, e); err != nil {
			return false
		}
		got := blob[off : off+n]
		if !bytes.Equal(want[:f.ipSize], got[:f.ipSize]) || // the header
			!bytes.Equal(want[f.offTargetOffset():f.offComeFrom()], got[f.offTargetOffset():f.offComeFrom()]) || // target_offset, next_offset
			!bytes.Equal(want[f.offComeFrom()+4:f.offCounters()], got[f.offComeFrom()+4:f.offCounters()]) || // IPv6 padding
			!bytes.Equal(want[f.entrySize:], got[f.entrySize:]) { // matches and target
			return false
		}
		off += n
	}
	valid, hookEntry, underflow := x.hooks()
	if info.ValidHooks != valid {
		return false
	}
	for h := 0; h < numHooks; h++ {
		if valid&(1<<h) != 0 && (info.HookEntry[h] != hookEntry[h] || info.Underflow[h] != underflow[h]) {
			return false
		}
	}
	return off == len(blob)
}
