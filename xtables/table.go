package xtables

import (
	"bytes"
	"net/netip"

	"github.com/hostwall/hostwall/xtables/ext"
)

// Counters are a rule's or a policy's packet and byte counts
// (struct xt_counters).
type Counters struct {
	Packets uint64
	Bytes   uint64
}

// Table is one x_tables table of one family: its chains in kernel order,
// built-in chains first in hook order, then user chains.
type Table struct {
	Family *Family
	Name   string
	Chains []*Chain
	// Names resolves what printing a rule needs of the host (ipset
	// names, name maps); nil is hostnames.System, the host's own.
	Names ext.Names
	// tail is the bookkeeping of the final ERROR entry.
	tail entryMeta
}

// Chain is a built-in chain (Hook >= 0, with a policy) or a user chain
// (Hook == -1).
type Chain struct {
	Name  string
	Hook  int
	Rules []*Rule
	// Policy is VerdictAccept or VerdictDrop for a built-in chain; a user
	// chain's foot is always RETURN.
	Policy int32
	// Counters are the foot entry's: for a built-in chain, what its
	// policy caught (iptables-save's [p:b] after the policy).
	Counters Counters

	head, foot entryMeta
}

// Builtin reports whether the chain is a hook's chain.
func (c *Chain) Builtin() bool { return c.Hook >= 0 }

// entryMeta is what the kernel keeps in an entry beside the rule itself:
// kept so that re-encoding a decoded table gives the kernel's bytes back.
type entryMeta struct {
	nfcache  uint32
	comefrom uint32
	counters Counters
}

// Rule is one entry of a chain: header conditions, matches in order, and
// a target.
type Rule struct {
	Header   Header
	Matches  []Match
	Target   Target
	Counters Counters

	meta entryMeta // nfcache and comefrom; counters live in Counters
}

// Header is the fixed part of a rule: struct ipt_ip or ip6t_ip6, kept
// field by field so that every bit survives a round trip. IPv4 addresses
// use the first 4 bytes of the address fields.
type Header struct {
	Src, Dst, SrcMask, DstMask [16]byte
	InIface, OutIface          [ifNameSize]byte
	InIfaceMask, OutIfaceMask  [ifNameSize]byte
	Proto                      uint16
	TOS                        uint8 // IPv6 only
	Flags                      uint8
	InvFlags                   uint8
}

// Match is a match extension as the kernel holds it: its name, revision
// and payload. An extension hostwall does not know is kept as bytes.
type Match struct {
	Name     string
	Revision uint8
	Data     []byte
}

// Target is what a rule does. Name "" is the standard target: a built-in
// Verdict, or a jump (or goto, per the header flag) to the user chain
// Chain. Any other Name is a target extension with its payload.
type Target struct {
	Name     string
	Revision uint8
	Data     []byte
	Verdict  int32
	Chain    string
}

// IsStandard reports whether t is a verdict or a jump.
func (t *Target) IsStandard() bool { return t.Name == "" }

// Addr returns the address field b for family f.
func (f *Family) Addr(b [16]byte) netip.Addr {
	if f.addrLen == 4 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(b)
}

// Chain returns the named chain, or nil.
func (t *Table) Chain(name string) *Chain {
	for _, c := range t.Chains {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// IsGoto reports whether the rule's jump is a goto (-g).
func (r *Rule) IsGoto(f *Family) bool { return r.Header.Flags&f.gotoFlag != 0 }

// Clone returns a deep copy of the table.
func (t *Table) Clone() *Table {
	n := *t
	n.Chains = make([]*Chain, len(t.Chains))
	for i, c := range t.Chains {
		nc := *c
		nc.Rules = make([]*Rule, len(c.Rules))
		for j, r := range c.Rules {
			nc.Rules[j] = r.Clone()
		}
		n.Chains[i] = &nc
	}
	return &n
}

// Clone returns a deep copy of the rule.
func (r *Rule) Clone() *Rule {
	n := *r
	n.Matches = make([]Match, len(r.Matches))
	for i, m := range r.Matches {
		m.Data = append([]byte(nil), m.Data...)
		n.Matches[i] = m
	}
	n.Target.Data = append([]byte(nil), r.Target.Data...)
	return &n
}

// SameAs reports whether two rules match the same packets the same way:
// header, matches and target, ignoring counters and kernel bookkeeping.
func (r *Rule) SameAs(o *Rule) bool {
	if r.Header != o.Header || len(r.Matches) != len(o.Matches) {
		return false
	}
	for i := range r.Matches {
		a, b := &r.Matches[i], &o.Matches[i]
		if a.Name != b.Name || a.Revision != b.Revision || !bytes.Equal(a.Data, b.Data) {
			return false
		}
	}
	a, b := &r.Target, &o.Target
	return a.Name == b.Name && a.Revision == b.Revision && a.Verdict == b.Verdict &&
		a.Chain == b.Chain && bytes.Equal(a.Data, b.Data)
}

// SameAs reports whether two tables hold the same chains, policies and
// rules in the same order, ignoring counters.
func (t *Table) SameAs(o *Table) bool {
	if t.Name != o.Name || t.Family != o.Family || len(t.Chains) != len(o.Chains) {
		return false
	}
	for i, c := range t.Chains {
		d := o.Chains[i]
		if c.Name != d.Name || c.Hook != d.Hook || c.Policy != d.Policy || len(c.Rules) != len(d.Rules) {
			return false
		}
		for j := range c.Rules {
			if !c.Rules[j].SameAs(d.Rules[j]) {
				return false
			}
		}
	}
	return true
}

// NewUserChain returns an empty user chain.
func NewUserChain(name string) *Chain {
	return &Chain{Name: name, Hook: -1, Policy: VerdictReturn}
}

// EmptyTable is a standard table as the kernel creates it: its built-in
// chains, no rules, ACCEPT policies.
func EmptyTable(f *Family, name string) *Table {
	t := &Table{Family: f, Name: name}
	for _, h := range tableHooks[name] {
		t.Chains = append(t.Chains, &Chain{Name: hookNames[h], Hook: h, Policy: VerdictAccept})
	}
	return t
}
