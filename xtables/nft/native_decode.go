package nft

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
)

// DecodeNative reads a rule of hostwall's native table back into the
// model. The rule is what its userdata text says, and only if encoding
// that text again gives the kernel's expressions and userdata exactly
// (counter values aside, which it takes from the kernel): a rule edited
// with nft, or written by anything else, is an error wrapping ErrForeign
// and stays a placeholder for the plan (replaced in an owned chain,
// kept elsewhere).
//
// The text is parsed as iptables-restore would, with the revision of
// each nft_compat extension as the kernel holds it and the highest one
// hostwall knows for the rest (their revision never reaches the kernel).
func DecodeNative(f *xtables.Family, chain string, exprData, userData []byte) (*xtables.Rule, error) {
	text, err := nativeText(userData)
	if err != nil {
		return nil, err
	}
	family := FamilyOf(f)
	exprs, err := UnmarshalExprs(family, exprData)
	if err != nil {
		return nil, foreign("expressions unreadable: %v", err)
	}
	toks, err := tokenize(text)
	if err != nil {
		return nil, foreign("rule text %q: %v", text, err)
	}
	p := &xtables.RuleParser{
		Family:    f,
		Supported: compatRevisions(exprs),
		IsChain: func(name string) bool {
			return slices.ContainsFunc(exprs, func(e Expr) bool {
				im, ok := e.(*Immediate)
				return ok && im.Chain == name
			})
		},
	}
	rules, err := p.Parse(toks)
	if err != nil {
		return nil, foreign("rule text %q: %v", text, err)
	}
	if len(rules) != 1 {
		return nil, foreign("rule text %q stands for %d rules", text, len(rules))
	}
	r := rules[0]
	for _, e := range exprs {
		if c, ok := e.(*Counter); ok {
			r.Counters = xtables.Counters{Packets: c.Packets, Bytes: c.Bytes}
		}
	}
	want, err := EncodeNative(f, chain, r)
	if err != nil {
		return nil, foreign("rule text %q: %v", text, err)
	}
	if !bytes.Equal(want.UserData, userData) {
		return nil, foreign("userdata is not what hostwall writes for %q", text)
	}
	raw, err := MarshalExprs(family, want.Exprs)
	if err != nil {
		return nil, foreign("rule text %q: %v", text, err)
	}
	wantExprs, err := UnmarshalExprs(family, raw)
	if err != nil {
		return nil, foreign("rule text %q: %v", text, err)
	}
	if !sameNativeExprs(exprs, wantExprs) {
		return nil, foreign("expressions differ from what hostwall writes for %q (edited with nft?)", text)
	}
	return r, nil
}

// compatRevisions is a RuleParser.Supported that picks, for an
// extension the rule holds as nft_compat, the revision it holds.
func compatRevisions(exprs []Expr) func(ext.Kind, string, uint8) (bool, error) {
	return func(k ext.Kind, name string, rev uint8) (bool, error) {
		for _, e := range exprs {
			switch e := e.(type) {
			case *Match:
				if k == ext.Match && e.Name == name {
					return e.Rev == uint32(rev), nil
				}
			case *Target:
				if k == ext.Target && e.Name == name {
					return e.Rev == uint32(rev), nil
				}
			}
		}
		return true, nil
	}
}

// sameNativeExprs compares expressions as the kernel holds them: counter
// values aside, xt payloads up to the kernel's XT_ALIGN padding, every
// other expression by its attributes in any order.
func sameNativeExprs(a, b []Expr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.exprName() != y.exprName() {
			return false
		}
		switch x := x.(type) {
		case *Counter:
			continue
		case *Match:
			y, ok := y.(*Match)
			if !ok || x.Name != y.Name || x.Rev != y.Rev || !bytes.Equal(padded(x.Info), padded(y.Info)) {
				return false
			}
			continue
		case *Target:
			y, ok := y.(*Target)
			if !ok || x.Name != y.Name || x.Rev != y.Rev || !bytes.Equal(padded(x.Info), padded(y.Info)) {
				return false
			}
			continue
		}
		dx, err1 := x.data()
		dy, err2 := y.data()
		if err1 != nil || err2 != nil {
			return false
		}
		mx, err1 := fieldsOf(dx)
		my, err2 := fieldsOf(dy)
		if err1 != nil || err2 != nil || len(mx) != len(my) {
			return false
		}
		for t, v := range mx {
			if w, ok := my[t]; !ok || !bytes.Equal(v, w) {
				return false
			}
		}
	}
	return true
}

func padded(b []byte) []byte {
	n := ext.Align(len(b))
	if n == len(b) {
		return b
	}
	return append(append([]byte{}, b...), make([]byte, n-len(b))...)
}

// tokenize splits the rule text as iptables-restore's add_param_to_argv
// does (on blanks; double quotes group, and inside them a backslash
// escapes the next character): the quoting xtables' printer produces.
func tokenize(line string) ([]string, error) {
	var (
		toks   []string
		cur    strings.Builder
		in     bool
		quoted bool
		have   bool
	)
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case in && ch == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case in && ch == '"':
			in = false
		case in:
			cur.WriteByte(ch)
		case ch == ' ' || ch == '\t':
			if have {
				toks = append(toks, cur.String())
				cur.Reset()
				have, quoted = false, false
			}
		case ch == '"':
			in, quoted, have = true, true, true
		default:
			cur.WriteByte(ch)
			have = true
		}
	}
	if in {
		return nil, fmt.Errorf("unterminated quote")
	}
	if have || quoted {
		toks = append(toks, cur.String())
	}
	return toks, nil
}

// NativeModel interprets a snapshot of the native table as the
// "*filter" table of a rules file: INPUT, FORWARD and OUTPUT as its
// built-in chains (faked as ACCEPT [0:0] where the table has none, as
// iptables-nft-save does), every other chain a user chain, each rule
// read by DecodeNative or kept as a placeholder saying why not.
func NativeModel(s *Snapshot) *Model {
	m := &Model{
		Table:   &xtables.Table{Family: s.Family, Name: NativeModelTable},
		Kernel:  map[*xtables.Rule]*Rule{},
		Foreign: map[*xtables.Rule]error{},
	}
	add := func(xc *xtables.Chain, kc *Chain) {
		for _, kr := range s.Rules[kc.Name] {
			r, err := DecodeNative(s.Family, kc.Name, kr.Exprs, kr.UserData)
			if err != nil {
				r = ForeignRule(kr)
				m.Foreign[r] = err
			}
			m.Kernel[r] = kr
			xc.Rules = append(xc.Rules, r)
		}
	}
	var users []*Chain
	for _, name := range BuiltinNames(NativeModelTable) {
		b, _ := Builtin(NativeModelTable, name)
		xc := &xtables.Chain{Name: name, Hook: int(b.Hook), Policy: xtables.VerdictAccept}
		m.Table.Chains = append(m.Table.Chains, xc)
		kc := s.Chain(name)
		if kc == nil {
			m.Faked = append(m.Faked, name)
			continue
		}
		mc, err := NativeModelChain(kc)
		if err != nil {
			m.Faked = append(m.Faked, name)
			m.Ignored = append(m.Ignored, IgnoredChain{Chain: kc, Rules: s.Rules[kc.Name]})
			continue
		}
		xc.Policy, xc.Counters = mc.Policy, mc.Counters
		add(xc, kc)
	}
	for _, kc := range s.Chains {
		if IsBuiltinName(NativeModelTable, kc.Name) {
			continue
		}
		if _, err := NativeModelChain(kc); err != nil {
			m.Ignored = append(m.Ignored, IgnoredChain{Chain: kc, Rules: s.Rules[kc.Name]})
			continue
		}
		users = append(users, kc)
	}
	slices.SortFunc(users, func(a, b *Chain) int { return strings.Compare(a.Name, b.Name) })
	for _, kc := range users {
		xc := xtables.NewUserChain(kc.Name)
		m.Table.Chains = append(m.Table.Chains, xc)
		add(xc, kc)
	}
	return m
}
