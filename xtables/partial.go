package xtables

import (
	"cmp"
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
	s, err := scan(f, info, blob)
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

// Info is the table's info as read.
func (p *Partial) Info() Info { return p.s.info }

// Blob is the table's entries as read.
func (p *Partial) Blob() []byte { return p.s.blob }

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

// partItem is a chain of the table Encode writes: one of next's, or one
// left out (raw, by index into scanned.chains).
type partItem struct {
	c   *Chain
	raw int
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
	s, f := p.s, p.s.f
	if next.Family != f || next.Name != s.info.Name {
		return nil, nil, fmt.Errorf("table %s %s is not the partial table %s %s", next.Family, next.Name, f, s.info.Name)
	}
	// The chains in the order PlanTable leaves them before sorting: as
	// read (next's in place of the decoded ones, which next may have
	// deleted), then next's new ones; sorted as SortChains sorts.
	nextByName := make(map[string]*Chain, len(next.Chains))
	for _, c := range next.Chains {
		if nextByName[c.Name] != nil {
			return nil, nil, fmt.Errorf("chain %s defined twice", c.Name)
		}
		nextByName[c.Name] = c
	}
	readByName := make(map[string]int, len(s.chains))
	items := make([]partItem, 0, len(s.chains)+len(next.Chains))
	for ci, c := range s.chains {
		readByName[c.name] = ci
		if !p.decoded[ci] {
			if nextByName[c.name] != nil {
				return nil, nil, fmt.Errorf("chain %s defined twice", c.name)
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
		return nil, nil, err
	}
	x := &encoder{t: shell, jumpTo: make(map[string]int, len(items)), entries: 1}
	size := 0
	for _, it := range items {
		c := it.c
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
		for i, r := range c.Rules {
			n, err := shell.checkRule(seen, c, i, r)
			if err != nil {
				return nil, nil, err
			}
			size += n
		}
		size += f.entrySize + sizeofStandardTgt
		x.entries += len(c.Rules) + 1
	}
	size += f.errorHeadLen
	x.size = size
	x.resetHooks()

	buf := make([]byte, sizeofReplace+size)
	enc = &Encoded{Blob: buf[sizeofReplace:], buf: buf}
	from = make([]int, 0, x.entries)
	b := enc.Blob
	off := 0
	put := func(e layoutEntry, old int) error {
		n, err := x.put(b[off:], off, e)
		if err != nil {
			return err
		}
		from = append(from, old)
		off += n
		return nil
	}
	for _, it := range items {
		c := it.c
		if it.raw >= 0 {
			if err := p.copyChain(x, b, &off, s.chains[it.raw], &from); err != nil {
				return nil, nil, err
			}
			continue
		}
		if !c.Builtin() {
			if err := put(layoutEntry{kind: entryHead, chain: c}, -1); err != nil {
				return nil, nil, err
			}
		}
		for i, r := range c.Rules {
			old, ok := p.index[r]
			if !ok {
				old = -1
			}
			if err := put(layoutEntry{kind: entryRule, first: i == 0 && c.Builtin(), chain: c, rule: r}, old); err != nil {
				return nil, nil, err
			}
		}
		old := -1
		if ci, ok := readByName[c.Name]; ok {
			old = s.chains[ci].foot
		}
		if err := put(layoutEntry{kind: entryFoot, first: len(c.Rules) == 0 && c.Builtin(), chain: c}, old); err != nil {
			return nil, nil, err
		}
	}
	if err := put(layoutEntry{kind: entryTail}, -1); err != nil {
		return nil, nil, err
	}
	if off != size || len(from) != x.entries {
		return nil, nil, fmt.Errorf("internal error: encoded %d bytes and %d entries, planned %d and %d", off, len(from), size, x.entries)
	}
	enc.Info.Name = next.Name
	enc.Info.Size = uint32(size)
	enc.Info.NumEntries = uint32(x.entries)
	enc.Info.ValidHooks, enc.Info.HookEntry, enc.Info.Underflow = x.hooks()
	return enc, from, nil
}

// copyChain writes chain sc as read at *off of b: its bytes, with every
// jump moved to where x lays out its target and every fall-through
// verdict to the entry after it now; and the hook entry and underflow
// of a built-in chain.
func (p *Partial) copyChain(x *encoder, b []byte, off *int, sc scanChain, from *[]int) error {
	s := p.s
	start := sc.first
	if sc.head >= 0 {
		start = sc.head
	}
	oldStart := int(s.entries[start].off)
	end := int(s.entries[sc.foot].off) + int(s.entries[sc.foot].size)
	copy(b[*off:], s.blob[oldStart:end])
	delta := *off - oldStart
	if sc.hook >= 0 {
		x.validHooks |= 1 << sc.hook
		x.hookEntry[sc.hook] = uint32(int(s.entries[sc.first].off) + delta)
		x.underflow[sc.hook] = uint32(int(s.entries[sc.foot].off) + delta)
	}
	// The jumps of this chain, found by binary search in s.jumps (blob
	// order, so by entry).
	j, _ := slices.BinarySearchFunc(s.jumps, start, func(j scanJump, i int) int { return cmp.Compare(j.entry, i) })
	for i := start; i <= sc.foot; i++ {
		e := &s.entries[i]
		switch {
		case i == sc.head:
			*from = append(*from, -1)
			continue
		case e.kind != kindStandard || e.verdict < 0:
		case j < len(s.jumps) && s.jumps[j].entry == i:
			to, ok := x.jumpTo[s.chains[s.jumps[j].to].name]
			if !ok {
				return fmt.Errorf("chain %s jumps to %s, which the table written has not", sc.name, s.chains[s.jumps[j].to].name)
			}
			at := int(e.off) + delta + int(e.targetOff) + sizeofEntryHeader
			ne.PutUint32(b[at:], uint32(to))
			j++
		default: // a fall-through: the verdict is the next entry's offset
			at := int(e.off) + delta + int(e.targetOff) + sizeofEntryHeader
			ne.PutUint32(b[at:], uint32(int(e.off)+int(e.size)+delta))
		}
		*from = append(*from, i)
	}
	*off += end - oldStart
	return nil
}

// CountersDropped returns the first entry of blob, a table's entries as
// read, whose counters are higher than those at the same index of later
// (-1 if none): counters only grow while a table stays in place.
func CountersDropped(f *Family, blob []byte, later []Counters) int {
	i := 0
	for off := 0; off+f.entrySize <= len(blob) && i < len(later); i++ {
		pk := ne.Uint64(blob[off+f.offCounters():])
		by := ne.Uint64(blob[off+f.offCounters()+8:])
		if later[i].Packets < pk || later[i].Bytes < by {
			return i
		}
		n := int(ne.Uint16(blob[off+f.offNextOffset():]))
		if n == 0 {
			break
		}
		off += n
	}
	return -1
}
