package xtables

import (
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
	f := t.Family
	if err := t.check(); err != nil {
		return nil, err
	}
	// Pass 1: offsets of each user chain's first rule.
	jumpTo := map[string]int{}
	size := 0
	for _, c := range t.Chains {
		if !c.Builtin() {
			size += f.errorHeadLen
			jumpTo[c.Name] = size
		}
		for _, r := range c.Rules {
			size += f.ruleSize(r)
		}
		size += f.entrySize + sizeofStandardTgt
	}
	size += f.errorHeadLen

	enc := &Encoded{Blob: make([]byte, size)}
	enc.Info.Name = t.Name
	enc.Info.Size = uint32(size)
	for h := range enc.Info.HookEntry {
		// The kernel reports hooks a table does not use as 0xFFFFFFFF.
		enc.Info.HookEntry[h], enc.Info.Underflow[h] = ^uint32(0), ^uint32(0)
	}
	b := enc.Blob
	off := 0
	put := func(h *Header, meta entryMeta, matches []Match, tgt Target, r *Rule, foot *Chain) error {
		e := b[off:]
		encodeHeader(f, e, h)
		ne.PutUint32(e[f.offNFCache():], meta.nfcache)
		ne.PutUint32(e[f.offComeFrom():], meta.comefrom)
		ne.PutUint64(e[f.offCounters():], meta.counters.Packets)
		ne.PutUint64(e[f.offCounters()+8:], meta.counters.Bytes)
		p := f.entrySize
		for _, m := range matches {
			if err := putExtHeader(e[p:], sizeofEntryHeader+len(m.Data), m.Name, m.Revision); err != nil {
				return fmt.Errorf("match %w", err)
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
				v = int32(jumpTo[tgt.Chain])
			case v == VerdictContinue:
				v = int32(off + p + sizeofStandardTgt)
			}
			ne.PutUint32(e[p+sizeofEntryHeader:], uint32(v))
			p += sizeofStandardTgt
		default:
			if err := putExtHeader(e[p:], sizeofEntryHeader+len(tgt.Data), tgt.Name, tgt.Revision); err != nil {
				return fmt.Errorf("target %w", err)
			}
			copy(e[p+sizeofEntryHeader:], tgt.Data)
			p += sizeofEntryHeader + len(tgt.Data)
		}
		ne.PutUint16(e[f.offNextOffset():], uint16(p))
		enc.Rules = append(enc.Rules, r)
		enc.Feet = append(enc.Feet, foot)
		enc.Info.NumEntries++
		off += p
		return nil
	}
	var none Header
	for _, c := range t.Chains {
		if c.Builtin() {
			enc.Info.ValidHooks |= 1 << c.Hook
			enc.Info.HookEntry[c.Hook] = uint32(off)
		} else {
			if err := put(&none, c.head, nil, Target{Name: "ERROR", Chain: c.Name}, nil, nil); err != nil {
				return nil, err
			}
		}
		for _, r := range c.Rules {
			meta := r.meta
			meta.counters = r.Counters
			if err := put(&r.Header, meta, r.Matches, r.Target, r, nil); err != nil {
				return nil, fmt.Errorf("chain %s: %w", c.Name, err)
			}
		}
		if c.Builtin() {
			enc.Info.Underflow[c.Hook] = uint32(off)
		}
		foot := c.foot
		foot.counters = c.Counters
		if err := put(&none, foot, nil, Target{Verdict: c.Policy}, nil, c); err != nil {
			return nil, err
		}
	}
	if err := put(&none, t.tail, nil, Target{Name: "ERROR", Chain: "ERROR"}, nil, nil); err != nil {
		return nil, err
	}
	if off != size {
		return nil, fmt.Errorf("internal error: encoded %d bytes, planned %d", off, size)
	}
	return enc, nil
}

// check verifies what the kernel would reject or what Encode cannot lay
// out: unique chain names, jumps to existing user chains, payload sizes.
func (t *Table) check() error {
	seen := map[string]*Chain{}
	for _, c := range t.Chains {
		if seen[c.Name] != nil {
			return fmt.Errorf("chain %s defined twice", c.Name)
		}
		seen[c.Name] = c
		if c.Builtin() && c.Policy != VerdictAccept && c.Policy != VerdictDrop {
			return fmt.Errorf("chain %s: policy must be ACCEPT or DROP", c.Name)
		}
		if !c.Builtin() && (len(c.Name) > MaxChainName || c.Name == "") {
			return fmt.Errorf("chain name %q must be 1 to %d characters", c.Name, MaxChainName)
		}
	}
	for _, c := range t.Chains {
		for i, r := range c.Rules {
			tg := &r.Target
			for _, m := range r.Matches {
				if len(m.Data)%8 != 0 {
					return fmt.Errorf("chain %s rule %d: match %s payload of %d bytes is not 8-byte aligned", c.Name, i+1, m.Name, len(m.Data))
				}
			}
			if tg.IsStandard() {
				if tg.Chain == "" {
					if (tg.Verdict >= 0 || tg.Verdict < VerdictReturn) && tg.Verdict != VerdictContinue {
						return fmt.Errorf("chain %s rule %d: bad verdict %d", c.Name, i+1, tg.Verdict)
					}
					continue
				}
				dst := seen[tg.Chain]
				if dst == nil || dst.Builtin() {
					return fmt.Errorf("chain %s rule %d: jump to %q, which is not a user chain of table %s", c.Name, i+1, tg.Chain, t.Name)
				}
			} else if len(tg.Data)%8 != 0 {
				return fmt.Errorf("chain %s rule %d: target %s payload of %d bytes is not 8-byte aligned", c.Name, i+1, tg.Name, len(tg.Data))
			}
			if t.Family.ruleSize(r) > 0xffff {
				return fmt.Errorf("chain %s rule %d: entry larger than 65535 bytes", c.Name, i+1)
			}
		}
	}
	return nil
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
