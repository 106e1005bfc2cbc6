package xtables

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/hostwall/hostwall/xtables/ext"
)

// Partial is a table read from the kernel of which only some chains are
// decoded (Table); the others stay the kernel's bytes and are written
// back as they are. It is how an apply changes a few chains of a table of
// tens of thousands of rules without decoding all of them: the blob is
// checked as Decode checks it, but the rules of the chains left out cost
// no memory beyond the blob and no time beyond the check.
type Partial struct {
	// Table holds the decoded chains, in blob order. A rule of it that
	// jumps to a chain left out names it as usual.
	Table *Table
	s     *scanned
	// decoded tells, by chain index, which chains are in Table.
	decoded []bool
	// index is the entry of every decoded rule.
	index map[*Rule]int
	// buf, when the table was read by Conn.ReadPartial, is the memory
	// the blob is in, from struct ipt_replace's room before it to the
	// room for growth after it (EncodeInPlace).
	buf []byte
}

// PartialChains says which chains DecodePartial decodes.
type PartialChains struct {
	// Owned chains are decoded, and so is every chain with a rule that
	// jumps to one of them.
	Owned []string
	// Keep are decoded too (those that exist).
	Keep []string
	// Reach are decoded with every chain their rules jump to, through
	// any number of jumps.
	Reach []string
}

// DecodePartial checks a blob as Decode does and decodes the chains that
// sel selects. The blob is the caller's to keep unchanged, as for
// Decode: the decoded payloads and the chains left out are slices of it.
func DecodePartial(f *Family, info Info, blob []byte, sel PartialChains) (*Partial, error) {
	s, err := scan(f, info, blob, true)
	if err != nil {
		return nil, err
	}
	p := &Partial{s: s, decoded: make([]bool, len(s.chains)), index: map[*Rule]int{}}
	byName := make(map[string]int, len(s.chains))
	for i, c := range s.chains {
		byName[c.name] = i
	}
	owned := map[int]bool{}
	for _, n := range sel.Owned {
		if i, ok := byName[n]; ok {
			owned[i] = true
			p.decoded[i] = true
		}
	}
	for _, n := range sel.Keep {
		if i, ok := byName[n]; ok {
			p.decoded[i] = true
		}
	}
	out := make([][]int, len(s.chains)) // the chains each chain jumps to
	for _, j := range s.jumps {
		if owned[j.to] {
			p.decoded[j.from] = true
		}
		out[j.from] = append(out[j.from], j.to)
	}
	var queue []int
	seen := make([]bool, len(s.chains))
	for _, n := range sel.Reach {
		if i, ok := byName[n]; ok && !seen[i] {
			seen[i] = true
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		p.decoded[i] = true
		for _, to := range out[i] {
			if !seen[to] {
				seen[to] = true
				queue = append(queue, to)
			}
		}
	}
	p.Table = s.build(p.decoded, p.index)
	return p, nil
}

// Whole decodes every chain of the table read, as Decode would decode
// its blob, from the scan DecodePartial made: for when the partial table
// is not enough (Reach). Its payloads are slices of the blob read, as
// Decode's are; p itself is unchanged. Not after EncodeInPlace, which
// writes over that blob.
func (p *Partial) Whole() *Table {
	return p.s.build(nil, nil)
}

// Reach returns the hooks every chain of next (the decoded chains as a
// plan changes them) is reached from in the whole table that p.Encode
// writes for next, through its rules and those of the chains left out;
// and whether a chain left out would be reached from a hook it is not
// reached from now, whose rules would then need the checks they have not
// had (Decode the whole table then).
func (p *Partial) Reach(next *Table) (map[string]ext.Hooks, bool) {
	s := p.s
	// The jump graph of the chains left out.
	left := map[string]graphNode{}
	for ci, c := range s.chains {
		if !p.decoded[ci] {
			left[c.name] = graphNode{hook: c.hook}
		}
	}
	for _, j := range s.jumps {
		if !p.decoded[j.from] {
			n := left[s.chains[j.from].name]
			n.out = append(n.out, s.chains[j.to].name)
			left[s.chains[j.from].name] = n
		}
	}
	before := reachOf(withChains(left, p.Table))
	after := reachOf(withChains(left, next))
	grew := false
	for ci, c := range s.chains {
		if !p.decoded[ci] && after[c.name]&^before[c.name] != 0 {
			grew = true
		}
	}
	hooks := map[string]ext.Hooks{}
	for _, c := range next.Chains {
		if h := after[c.Name]; h != 0 {
			hooks[c.Name] = h
		}
	}
	return hooks, grew
}

// graphNode is a chain of a jump graph: its hook (-1 for a user chain)
// and the chains its rules jump to.
type graphNode struct {
	hook int
	out  []string
}

// withChains is the jump graph left with t's chains added.
func withChains(left map[string]graphNode, t *Table) map[string]graphNode {
	g := make(map[string]graphNode, len(left)+len(t.Chains))
	for name, n := range left {
		g[name] = n
	}
	for _, c := range t.Chains {
		var out []string
		for _, r := range c.Rules {
			if r.Target.IsStandard() && r.Target.Chain != "" {
				out = append(out, r.Target.Chain)
			}
		}
		g[c.Name] = graphNode{c.Hook, out}
	}
	return g
}

// reachOf is the hooks each chain of g is reached from.
func reachOf(g map[string]graphNode) map[string]ext.Hooks {
	hooks := map[string]ext.Hooks{}
	var queue []string
	for name, n := range g {
		if n.hook >= 0 {
			hooks[name] = 1 << n.hook
			queue = append(queue, name)
		}
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		h := hooks[name]
		for _, to := range g[name].out {
			if _, ok := g[to]; !ok || h&^hooks[to] == 0 {
				continue
			}
			hooks[to] |= h
			queue = append(queue, to)
		}
	}
	return hooks
}

// Encode lays out the table that holds next's chains (the decoded chains
// as a plan changes them, with chains added or deleted) and, as they were
// read, the chains left out: in the order Encode would write the whole
// table decoded and planned alike, byte for byte what it would write. The
// chains left out are copied, with their jumps and fall-through verdicts
// moved to where their targets now are. Rules and Feet of the result are
// nil; from gives, for every entry written, the entry read whose
// counters it keeps, or -1: a rule the same *Rule, a chain's foot the foot
// of the chain of the same name, an entry of a chain left out itself.
func (p *Partial) Encode(next *Table) (enc *Encoded, from []int, err error) {
	l, err := p.layout(next)
	if err != nil {
		return nil, nil, err
	}
	buf := makeBlob(sizeofReplace+l.size, 0)
	b := buf[sizeofReplace:]
	for _, it := range l.items {
		if it.raw >= 0 {
			old := p.span(it.raw)
			copy(b[it.at:], p.s.blob[old.from:old.to])
		}
	}
	return p.finish(l, buf)
}

// ErrNoRoom is EncodeInPlace's answer when the table cannot be written
// where it was read: Encode it then.
var ErrNoRoom = errors.New("no room to encode the table in place")

// EncodeInPlace is Encode writing the table over the blob it was read
// into by Conn.ReadPartial, which left room for the struct ipt_replace
// before it and for some growth after it: the chains left out are moved
// where they go, not copied into a new buffer of the table's size. It
// answers ErrNoRoom, having changed nothing, when the table would not
// fit or the chains left out would change order. Afterwards the blob read
// is gone: the decoded chains' payloads are moved to memory of their
// own, and p cannot Encode again.
func (p *Partial) EncodeInPlace(next *Table) (enc *Encoded, from []int, err error) {
	if p.buf == nil {
		return nil, nil, ErrNoRoom
	}
	l, err := p.layout(next)
	if err != nil {
		return nil, nil, err
	}
	if sizeofReplace+l.size > len(p.buf) {
		return nil, nil, ErrNoRoom
	}
	last := -1
	for _, it := range l.items {
		if it.raw >= 0 {
			if it.raw < last {
				return nil, nil, ErrNoRoom
			}
			last = it.raw
		}
	}
	// The decoded chains are written by finish from l.scratch; their
	// payloads, shared by next, get memory of their own.
	p.detach()
	b := p.buf[sizeofReplace:]
	// The chains left out keep their order: those moving towards the
	// start are moved first to last, the others last to first, so that
	// none is overwritten before it is moved.
	for _, it := range l.items {
		if old := p.span(it.raw); it.raw >= 0 && it.at <= old.from {
			copy(b[it.at:], b[old.from:old.to])
		}
	}
	for k := len(l.items) - 1; k >= 0; k-- {
		it := l.items[k]
		if old := p.span(it.raw); it.raw >= 0 && it.at > old.from {
			copy(b[it.at:], b[old.from:old.to])
		}
	}
	p.s.blob = nil
	return p.finish(l, p.buf[:sizeofReplace+l.size])
}

// partItem is a chain of the table Encode writes: one of next's, or one
// left out (raw, by index into scanned.chains); at is where it starts
// in the blob written.
type partItem struct {
	c   *Chain
	raw int
	at  int
	// scratch is where the entries of one of next's chains are in
	// partLayout.scratch, from is their old entries.
	scratch []byte
	from    []int
}

// partLayout is a table as Encode lays it out.
type partLayout struct {
	items   []partItem
	x       *encoder
	size    int
	entries int
}

// oldSpan is where a chain left out is in the blob read.
type oldSpan struct{ from, to int }

// span is the bytes of chain ci in the blob read, its head included.
func (p *Partial) span(ci int) oldSpan {
	if ci < 0 {
		return oldSpan{}
	}
	s := p.s
	sc := s.chains[ci]
	start := sc.first
	if sc.head >= 0 {
		start = sc.head
	}
	return oldSpan{int(s.entries[start].off), int(s.entries[sc.foot].off) + int(s.entries[sc.foot].size)}
}

// layout orders and checks the chains of the table to write, says where
// each goes and encodes next's chains.
func (p *Partial) layout(next *Table) (*partLayout, error) {
	s, f := p.s, p.s.f
	if s.blob == nil {
		return nil, fmt.Errorf("the table read was written over")
	}
	if next.Family != f || next.Name != s.info.Name {
		return nil, fmt.Errorf("table %s %s is not the partial table %s %s", next.Family, next.Name, f, s.info.Name)
	}
	// The chains in the order PlanTable leaves them before sorting: as
	// read (next's in place of the decoded ones, which next may have
	// deleted), then next's new ones; sorted as SortChains sorts.
	nextByName := make(map[string]*Chain, len(next.Chains))
	for _, c := range next.Chains {
		if nextByName[c.Name] != nil {
			return nil, fmt.Errorf("chain %s defined twice", c.Name)
		}
		nextByName[c.Name] = c
	}
	readByName := make(map[string]int, len(s.chains))
	items := make([]partItem, 0, len(s.chains)+len(next.Chains))
	for ci, c := range s.chains {
		readByName[c.name] = ci
		if !p.decoded[ci] {
			if nextByName[c.name] != nil {
				return nil, fmt.Errorf("chain %s defined twice", c.name)
			}
			items = append(items, partItem{c: &Chain{Name: c.name, Hook: c.hook}, raw: ci})
		} else if nc := nextByName[c.name]; nc != nil {
			items = append(items, partItem{c: nc, raw: -1})
		}
	}
	for _, c := range next.Chains {
		if ci, ok := readByName[c.Name]; !ok || !p.decoded[ci] {
			items = append(items, partItem{c: c, raw: -1})
		}
	}
	slices.SortStableFunc(items, func(a, b partItem) int {
		x, y := a.c, b.c
		if x.Builtin() != y.Builtin() {
			if x.Builtin() {
				return -1
			}
			return 1
		}
		if x.Builtin() {
			return cmp.Compare(x.Hook, y.Hook)
		}
		return cmp.Compare(x.Name, y.Name)
	})

	// Check what is to be encoded as Encode does, with the chains left
	// out as jump targets, and lay it out.
	shell := &Table{Family: f, Name: next.Name, tail: next.tail}
	seen := make(map[string]*Chain, len(items))
	for _, it := range items {
		seen[it.c.Name] = it.c
		if it.raw < 0 {
			shell.Chains = append(shell.Chains, it.c)
		}
	}
	if _, err := shell.checkChains(); err != nil {
		return nil, err
	}
	x := &encoder{t: shell, jumpTo: make(map[string]int, len(items)), entries: 1}
	size, scratch := 0, 0
	for k := range items {
		it := &items[k]
		c := it.c
		it.at = size
		if !c.Builtin() {
			size += f.errorHeadLen
			x.jumpTo[c.Name] = size
			x.entries++
		}
		if it.raw >= 0 {
			sc := s.chains[it.raw]
			size += int(s.entries[sc.foot].off) + int(s.entries[sc.foot].size) - int(s.entries[sc.first].off)
			x.entries += sc.foot - sc.first + 1
			continue
		}
		n := size
		for i, r := range c.Rules {
			m, err := shell.checkRule(seen, c, i, r)
			if err != nil {
				return nil, err
			}
			size += m
		}
		size += f.entrySize + sizeofStandardTgt
		x.entries += len(c.Rules) + 1
		scratch += size - n
		if !c.Builtin() {
			scratch += f.errorHeadLen
		}
	}
	x.size = size + f.errorHeadLen
	x.resetHooks()
	l := &partLayout{items: items, x: x, size: x.size, entries: x.entries}

	// next's chains, each where it goes, into scratch memory.
	buf := make([]byte, scratch)
	for k := range items {
		it := &items[k]
		if it.raw >= 0 {
			continue
		}
		c := it.c
		end := size
		if k+1 < len(items) {
			end = items[k+1].at
		}
		b := buf[: end-it.at : end-it.at]
		buf = buf[end-it.at:]
		off := 0
		put := func(e layoutEntry, old int) error {
			n, err := x.put(b[off:], it.at+off, e)
			if err != nil {
				return err
			}
			it.from = append(it.from, old)
			off += n
			return nil
		}
		if !c.Builtin() {
			if err := put(layoutEntry{kind: entryHead, chain: c}, -1); err != nil {
				return nil, err
			}
		}
		for i, r := range c.Rules {
			old, ok := p.index[r]
			if !ok {
				old = -1
			}
			if err := put(layoutEntry{kind: entryRule, first: i == 0 && c.Builtin(), chain: c, rule: r}, old); err != nil {
				return nil, err
			}
		}
		old := -1
		if ci, ok := readByName[c.Name]; ok {
			old = s.chains[ci].foot
		}
		if err := put(layoutEntry{kind: entryFoot, first: len(c.Rules) == 0 && c.Builtin(), chain: c}, old); err != nil {
			return nil, err
		}
		it.scratch = b[:off]
	}
	return l, nil
}

// finish completes a table whose chains left out are in place in buf
// (after struct ipt_replace): next's chains from scratch, the final
// ERROR entry, the jumps and fall-throughs of the chains left out moved;
// and the info.
func (p *Partial) finish(l *partLayout, buf []byte) (*Encoded, []int, error) {
	s, x := p.s, l.x
	b := buf[sizeofReplace:]
	from := make([]int, 0, l.entries)
	for _, it := range l.items {
		if it.raw < 0 {
			copy(b[it.at:], it.scratch)
			from = append(from, it.from...)
			continue
		}
		sc := s.chains[it.raw]
		delta := it.at - p.span(it.raw).from
		if sc.hook >= 0 {
			x.validHooks |= 1 << sc.hook
			x.hookEntry[sc.hook] = uint32(int(s.entries[sc.first].off) + delta)
			x.underflow[sc.hook] = uint32(int(s.entries[sc.foot].off) + delta)
		}
		start := sc.first
		if sc.head >= 0 {
			start = sc.head
		}
		j, _ := slices.BinarySearchFunc(s.jumps, start, func(j scanJump, i int) int { return cmp.Compare(j.entry, i) })
		for i := start; i <= sc.foot; i++ {
			e := &s.entries[i]
			if i == sc.head {
				from = append(from, -1)
				continue
			}
			from = append(from, i)
			if e.kind != kindStandard || e.verdict < 0 {
				continue
			}
			at := int(e.off) + delta + int(e.targetOff) + sizeofEntryHeader
			if j < len(s.jumps) && s.jumps[j].entry == i {
				name := s.chains[s.jumps[j].to].name
				to, ok := x.jumpTo[name]
				if !ok {
					return nil, nil, fmt.Errorf("chain %s jumps to %s, which the table written has not", sc.name, name)
				}
				ne.PutUint32(b[at:], uint32(to))
				j++
				continue
			}
			ne.PutUint32(b[at:], uint32(int(e.off)+int(e.size)+delta)) // a fall-through: the next entry
		}
	}
	tail := l.size - x.t.Family.errorHeadLen
	clear(b[tail:l.size]) // put writes into zeros; in place, the old bytes are there
	if _, err := x.put(b[tail:l.size], tail, layoutEntry{kind: entryTail}); err != nil {
		return nil, nil, err
	}
	from = append(from, -1)
	if len(from) != l.entries {
		return nil, nil, fmt.Errorf("internal error: encoded %d entries, planned %d", len(from), l.entries)
	}
	enc := &Encoded{Blob: b[:l.size], buf: buf[:sizeofReplace+l.size]}
	enc.Info.Name = x.t.Name
	enc.Info.Size = uint32(l.size)
	enc.Info.NumEntries = uint32(l.entries)
	enc.Info.ValidHooks, enc.Info.HookEntry, enc.Info.Underflow = x.hooks()
	return enc, from, nil
}

// detach gives the payloads of the decoded rules memory of their own,
// so that the blob read can be written over.
func (p *Partial) detach() {
	n := 0
	for _, c := range p.Table.Chains {
		for _, r := range c.Rules {
			for _, m := range r.Matches {
				n += len(m.Data)
			}
			n += len(r.Target.Data)
		}
	}
	mem := make([]byte, 0, n)
	own := func(b []byte) []byte {
		if len(b) == 0 {
			return b
		}
		at := len(mem)
		mem = append(mem, b...)
		return mem[at:len(mem):len(mem)]
	}
	for _, c := range p.Table.Chains {
		for _, r := range c.Rules {
			for k := range r.Matches {
				r.Matches[k].Data = own(r.Matches[k].Data)
			}
			r.Target.Data = own(r.Target.Data)
		}
	}
}

// CountersDropped returns the first entry whose counters when read are
// higher than those at the same index of later (-1 if none): counters
// only grow while a table stays in place.
func (p *Partial) CountersDropped(later []Counters) int {
	for i := range min(len(later), len(p.s.counters)) {
		if c := p.s.counters[i]; later[i].Packets < c.Packets || later[i].Bytes < c.Bytes {
			return i
		}
	}
	return -1
}
