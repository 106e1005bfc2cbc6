package xtables

import (
	"bytes"
	"reflect"
	"slices"
	"testing"
)

// TestPartialEncodeAsRead: whichever chains are decoded, a partial table
// written unchanged is the blob it was read from, and every entry keeps
// its own counters.
func TestPartialEncodeAsRead(t *testing.T) {
	for _, g := range loadGolden(t) {
		full, all := decodeGolden(t, g)
		sels := []PartialChains{{}, {Reach: all}}
		for _, n := range all {
			sels = append(sels, PartialChains{Keep: []string{n}}, PartialChains{Owned: []string{n}})
		}
		for _, sel := range sels {
			p, err := DecodePartial(g.fam, g.info, g.blob, sel)
			if err != nil {
				t.Fatalf("%s %+v: %v", g.name, sel, err)
			}
			enc, from, err := p.Encode(p.Table)
			if err != nil {
				t.Fatalf("%s %+v: %v", g.name, sel, err)
			}
			if !bytes.Equal(enc.Blob, g.blob) || enc.Info != infoWithoutName(g.info, enc.Info.Name) {
				t.Errorf("%s %+v: written unchanged, the blob differs", g.name, sel)
			}
			layout, _ := Layout(full)
			for j := range from {
				head := layout.Rules[j] == nil && layout.Feet[j] == nil
				if head && from[j] != -1 || !head && from[j] != j {
					t.Errorf("%s %+v: entry %d keeps the counters of %d", g.name, sel, j, from[j])
					break
				}
			}
		}
	}
}

// TestPartialWhole: the whole table a Partial decodes from its scan is
// the one Decode decodes, whichever chains the Partial decoded.
func TestPartialWhole(t *testing.T) {
	for _, g := range loadGolden(t) {
		full, all := decodeGolden(t, g)
		for _, sel := range []PartialChains{{}, {Reach: all}} {
			p, err := DecodePartial(g.fam, g.info, g.blob, sel)
			if err != nil {
				t.Fatalf("%s %+v: %v", g.name, sel, err)
			}
			if whole := p.Whole(); !reflect.DeepEqual(whole, full) {
				t.Errorf("%s %+v: Whole differs from Decode", g.name, sel)
			}
		}
	}
}

// decodeGolden is a golden table decoded whole, and its chains' names.
func decodeGolden(t *testing.T, g golden) (*Table, []string) {
	t.Helper()
	full, err := Decode(g.fam, g.info, g.blob)
	if err != nil {
		t.Fatalf("%s: %v", g.name, err)
	}
	var all []string
	for _, c := range full.Chains {
		all = append(all, c.Name)
	}
	return full, all
}

func infoWithoutName(info Info, name string) Info {
	info.Name = name
	return info
}

// TestPartialEncodeChanged: a change to decoded chains (a rule added, a
// chain added that jumps to a chain left out) writes what Encode writes
// for the whole table decoded and changed alike.
func TestPartialEncodeChanged(t *testing.T) {
	for _, g := range loadGolden(t) {
		full, err := Decode(g.fam, g.info, g.blob)
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		for _, c := range full.Chains {
			var target string // a user chain other than c, left out
			for _, d := range full.Chains {
				if !d.Builtin() && d.Name != c.Name {
					target = d.Name
				}
			}
			change := func(tb *Table) *Rule {
				n := *tb
				n.Chains = slices.Clone(tb.Chains)
				added := &Rule{Target: Target{Verdict: VerdictAccept}}
				for i, d := range n.Chains {
					if d.Name == c.Name {
						nc := *d
						nc.Rules = append(slices.Clone(d.Rules), added)
						n.Chains[i] = &nc
					}
				}
				nc := NewUserChain("AAA-NEW")
				if target != "" {
					nc.Rules = []*Rule{{Target: Target{Chain: target}}}
				}
				n.Chains = append(n.Chains, nc)
				n.SortChains()
				*tb = n
				return added
			}
			want := *full
			change(&want)
			wantEnc, err := Encode(&want)
			if err != nil {
				t.Fatalf("%s: %v", g.name, err)
			}
			p, err := DecodePartial(g.fam, g.info, g.blob, PartialChains{Keep: []string{c.Name}})
			if err != nil {
				t.Fatal(err)
			}
			next := *p.Table
			added := change(&next)
			enc, from, err := p.Encode(&next)
			if err != nil {
				t.Fatalf("%s chain %s: %v", g.name, c.Name, err)
			}
			if !bytes.Equal(enc.Blob, wantEnc.Blob) || enc.Info != wantEnc.Info {
				t.Errorf("%s chain %s: the partial table written differs from the whole one", g.name, c.Name)
			}
			for j, r := range wantEnc.Rules {
				if r == nil {
					continue
				}
				if r == added && from[j] != -1 || r != added && r.Counters != (Counters{}) && from[j] < 0 {
					t.Errorf("%s chain %s: entry %d keeps the counters of %d", g.name, c.Name, j, from[j])
				}
			}
		}
	}
}

// TestPartialReach: a jump from a decoded chain to a chain left out that
// brings it a new hook is noticed.
func TestPartialReach(t *testing.T) {
	for _, g := range loadGolden(t) {
		full, err := Decode(g.fam, g.info, g.blob)
		if err != nil {
			t.Fatal(err)
		}
		if full.Chain("OUTPUT") == nil {
			continue
		}
		for _, c := range full.Chains {
			if c.Builtin() {
				continue
			}
			p, err := DecodePartial(g.fam, g.info, g.blob, PartialChains{Keep: []string{"OUTPUT"}})
			if err != nil {
				t.Fatal(err)
			}
			before, grew := p.Reach(p.Table)
			if grew {
				t.Errorf("%s: unchanged, a chain left out gained a hook", g.name)
			}
			next := *p.Table
			next.Chains = slices.Clone(next.Chains)
			for i, d := range next.Chains {
				if d.Name == "OUTPUT" {
					nc := *d
					nc.Rules = append(slices.Clone(d.Rules), &Rule{Target: Target{Chain: c.Name}})
					next.Chains[i] = &nc
				}
			}
			reachedBefore := reachOf(withChains(map[string]graphNode{}, full))
			_, grew = p.Reach(&next)
			if want := reachedBefore[c.Name]&(1<<3) == 0; grew != want {
				t.Errorf("%s: OUTPUT -j %s: gained a hook %v, want %v", g.name, c.Name, grew, want)
			}
			_ = before
		}
	}
}

// inPlace is DecodePartial of a copy of blob laid out as
// Conn.ReadPartial lays it out, with room bytes to grow.
func inPlace(t *testing.T, g golden, sel PartialChains, room int) *Partial {
	t.Helper()
	whole := make([]byte, sizeofReplace+len(g.blob), sizeofReplace+len(g.blob)+room)
	copy(whole[sizeofReplace:], g.blob)
	p, err := DecodePartial(g.fam, g.info, whole[sizeofReplace:], sel)
	if err != nil {
		t.Fatal(err)
	}
	p.buf = whole[:cap(whole)]
	return p
}

// TestPartialEncodeInPlace: written over the blob it was read into, a
// changed table is what Encode writes, entries keep the same counters,
// and the decoded rules keep their payloads; without room to grow, it
// is refused and nothing changes.
func TestPartialEncodeInPlace(t *testing.T) {
	for _, g := range loadGolden(t) {
		full, err := Decode(g.fam, g.info, g.blob)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range full.Chains {
			sel := PartialChains{Keep: []string{c.Name}}
			change := func(p *Partial) *Table {
				next := *p.Table
				next.Chains = slices.Clone(next.Chains)
				for i, d := range next.Chains {
					if d.Name == c.Name {
						nc := *d
						nc.Rules = append(slices.Clone(d.Rules), &Rule{Target: Target{Verdict: VerdictDrop}})
						if len(d.Rules) > 1 {
							nc.Rules = nc.Rules[1:] // and one removed: the chains after move both ways
						}
						next.Chains[i] = &nc
					}
				}
				nc := NewUserChain("AAA-NEW")
				nc.Rules = []*Rule{{Target: Target{Verdict: VerdictAccept}}}
				next.Chains = append(next.Chains, nc)
				next.SortChains()
				return &next
			}
			fresh, err := DecodePartial(g.fam, g.info, g.blob, sel)
			if err != nil {
				t.Fatal(err)
			}
			wantEnc, wantFrom, err := fresh.Encode(change(fresh))
			if err != nil {
				t.Fatal(err)
			}
			p := inPlace(t, g, sel, 4096)
			var before []string
			for _, d := range p.Table.Chains {
				for _, r := range d.Rules {
					before = append(before, p.Table.RuleText(d, r, false))
				}
			}
			enc, from, err := p.EncodeInPlace(change(p))
			if err != nil {
				t.Fatalf("%s chain %s: %v", g.name, c.Name, err)
			}
			if !bytes.Equal(enc.Blob, wantEnc.Blob) || enc.Info != wantEnc.Info || !slices.Equal(from, wantFrom) {
				t.Errorf("%s chain %s: written in place, the table differs: blob %v info %v from %v", g.name, c.Name, bytes.Equal(enc.Blob, wantEnc.Blob), enc.Info == wantEnc.Info, slices.Equal(from, wantFrom))
			}
			var after []string
			for _, d := range p.Table.Chains {
				for _, r := range d.Rules {
					after = append(after, p.Table.RuleText(d, r, false))
				}
			}
			if !slices.Equal(before, after) {
				t.Errorf("%s chain %s: the decoded rules changed", g.name, c.Name)
			}
			if _, _, err := p.Encode(p.Table); err == nil {
				t.Errorf("%s: encoded again after writing over the blob", g.name)
			}
			q := inPlace(t, g, sel, 0)
			next := change(q)
			if _, _, err := q.EncodeInPlace(next); err != ErrNoRoom && len(wantEnc.Blob) > len(g.blob) {
				t.Errorf("%s chain %s: no room to grow, got %v", g.name, c.Name, err)
			}
		}
	}
}
