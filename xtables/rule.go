package xtables

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hostwall/hostwall/xtables/ext"
)

// RuleError is a mistake in a rule, at the token where it was found.
type RuleError struct {
	Token int // index into the rule's tokens
	Err   error
}

func (e *RuleError) Error() string { return e.Err.Error() }
func (e *RuleError) Unwrap() error { return e.Err }

func ruleErr(tok int, format string, args ...any) error {
	return &RuleError{Token: tok, Err: fmt.Errorf(format, args...)}
}

// RuleParser turns the options of one rule, as iptables-restore reads
// them after "-A CHAIN", into kernel entries.
type RuleParser struct {
	Family *Family
	// Supported tells whether the kernel has a revision of an extension,
	// by kernel name. Nil assumes it has every revision hostwall knows,
	// which is what iptables 1.8.9 picks on a current kernel.
	Supported func(kind ext.Kind, kernelName string, rev uint8) (bool, error)
	// IsChain reports whether a user chain exists in the table, for
	// telling -j CHAIN from a target extension.
	IsChain func(name string) bool

	chosen map[string]*ext.Extension
}

// pending is an extension named in the rule whose options are being
// gathered.
type pending struct {
	e     *ext.Extension
	token int
	opts  []ext.OptionValue
}

// Parse parses one rule. It returns several rules when -s or -d list
// several addresses, as iptables does, one per combination.
func (p *RuleParser) Parse(tokens []string) ([]*Rule, error) {
	f := p.Family
	var (
		h                Header
		srcs, dsts       []netip2
		counters         Counters
		matches          []*pending
		target           *pending
		tgt              Target
		haveTarget       bool
		seenP, seenF     bool
		seenS, seenD     bool
		seenI, seenO     bool
		implicitProtoTok = -1
	)
	needArg := func(i int, opt string) (string, error) {
		if i+1 >= len(tokens) {
			return "", ruleErr(i, "option %s needs an argument", opt)
		}
		if tokens[i+1] == "!" {
			return "", ruleErr(i+1, "\"!\" goes before the option (! %s ...), not after it", opt)
		}
		return tokens[i+1], nil
	}
	once := func(seen *bool, i int, opt string) error {
		if *seen {
			return ruleErr(i, "option %s given twice", opt)
		}
		*seen = true
		return nil
	}
	for i := 0; i < len(tokens); {
		invert := false
		start := i
		if tokens[i] == "!" {
			invert = true
			i++
			if i >= len(tokens) {
				return nil, ruleErr(start, "\"!\" at the end of the rule")
			}
		}
		tok := tokens[i]
		switch tok {
		case "-s", "--source", "--src", "-d", "--destination", "--dst":
			arg, err := needArg(i, tok)
			if err != nil {
				return nil, err
			}
			src := tok == "-s" || tok == "--source" || tok == "--src"
			seen, inv := &seenD, uint8(InvDst)
			if src {
				seen, inv = &seenS, InvSrc
			}
			if err := once(seen, i, tok); err != nil {
				return nil, err
			}
			nets, err := parseAddrList(arg, f)
			if err != nil {
				return nil, ruleErr(i+1, "%s: %v", tok, err)
			}
			if src {
				srcs = nets
			} else {
				dsts = nets
			}
			if invert {
				h.InvFlags |= inv
			}
			i += 2
		case "-i", "--in-interface", "-o", "--out-interface":
			arg, err := needArg(i, tok)
			if err != nil {
				return nil, err
			}
			in := tok == "-i" || tok == "--in-interface"
			seen := &seenO
			if in {
				seen = &seenI
			}
			if err := once(seen, i, tok); err != nil {
				return nil, err
			}
			name, mask, err := ext.ParseInterface(arg)
			if err != nil {
				return nil, ruleErr(i+1, "%s: %v", tok, err)
			}
			if in {
				h.InIface, h.InIfaceMask = name, mask
				if invert {
					h.InvFlags |= InvIn
				}
			} else {
				h.OutIface, h.OutIfaceMask = name, mask
				if invert {
					h.InvFlags |= InvOut
				}
			}
			i += 2
		case "-p", "--protocol":
			arg, err := needArg(i, tok)
			if err != nil {
				return nil, err
			}
			if err := once(&seenP, i, tok); err != nil {
				return nil, err
			}
			proto, err := ext.ParseProtocol(strings.ToLower(arg))
			if err != nil {
				return nil, ruleErr(i+1, "-p: %v", err)
			}
			if proto == 0 && invert {
				return nil, ruleErr(start, "rule would never match protocol")
			}
			h.Proto = proto
			if invert {
				h.InvFlags |= InvProto
			}
			if f == IPv6 {
				h.Flags |= flagProto6
			}
			i += 2
		case "-f", "--fragment":
			if f != IPv4 {
				return nil, ruleErr(i, "-f is only for IPv4; use -m frag")
			}
			if err := once(&seenF, i, tok); err != nil {
				return nil, err
			}
			h.Flags |= flagFrag4
			if invert {
				h.InvFlags |= InvFrag
			}
			i++
		case "-m", "--match":
			if invert {
				return nil, ruleErr(start, "\"!\" cannot go before -m")
			}
			arg, err := needArg(i, tok)
			if err != nil {
				return nil, err
			}
			e, err := p.choose(ext.Match, arg)
			if err != nil {
				return nil, ruleErr(i+1, "%v", err)
			}
			matches = append(matches, &pending{e: e, token: i})
			i += 2
		case "-j", "--jump", "-g", "--goto":
			if invert {
				return nil, ruleErr(start, "\"!\" cannot go before %s", tok)
			}
			arg, err := needArg(i, tok)
			if err != nil {
				return nil, err
			}
			if haveTarget {
				return nil, ruleErr(i, "a rule has one target; %s given twice", tok)
			}
			haveTarget = true
			isGoto := tok == "-g" || tok == "--goto"
			switch v := verdictByName(arg); {
			case isGoto:
				if v != 0 || !p.isChain(arg) {
					return nil, ruleErr(i+1, "goto target %q is not a user chain", arg)
				}
				tgt = Target{Chain: arg}
				h.Flags |= f.gotoFlag
			case v != 0:
				tgt = Target{Verdict: v}
			case p.isChain(arg):
				tgt = Target{Chain: arg}
			default:
				e, err := p.choose(ext.Target, arg)
				if err != nil {
					return nil, ruleErr(i+1, "%q is neither a chain of this table nor a target hostwall knows", arg)
				}
				target = &pending{e: e, token: i}
			}
			i += 2
		case "-c", "--set-counters":
			if i+2 >= len(tokens) {
				return nil, ruleErr(i, "-c needs packets and bytes")
			}
			pk, err1 := ext.ParseUint(tokens[i+1], 0, 1<<64-1)
			by, err2 := ext.ParseUint(tokens[i+2], 0, 1<<64-1)
			if err := errors.Join(err1, err2); err != nil {
				return nil, ruleErr(i+1, "-c: %v", err)
			}
			counters = Counters{pk, by}
			i += 3
		default:
			if !strings.HasPrefix(tok, "--") {
				return nil, ruleErr(i, "unexpected %q", tok)
			}
			owner := p.ownerOf(tok[2:], target, matches)
			if owner == nil && h.Proto != 0 && implicitProtoTok < 0 {
				// iptables loads the match named after -p on demand:
				// "-p tcp --dport 22" means "-p tcp -m tcp --dport 22".
				if name := protoMatchName(h.Proto, f); name != "" {
					if e, err := p.choose(ext.Match, name); err == nil && e.Option(tok[2:]) != nil {
						owner = &pending{e: e, token: start}
						matches = append(matches, owner)
						implicitProtoTok = start
					}
				}
			}
			if owner == nil {
				return nil, ruleErr(i, "unknown option %q", tok)
			}
			o, next, _, err := ext.TakeOption(owner.e, tokens, start)
			if err != nil {
				var oe *ext.OptionError
				if errors.As(err, &oe) {
					return nil, &RuleError{Token: oe.Token, Err: err}
				}
				return nil, ruleErr(start, "%v", err)
			}
			owner.opts = append(owner.opts, o)
			i = next
		}
	}
	info := ext.RuleInfo{Family: f.Ext, Proto: h.Proto, ProtoInvert: h.InvFlags&InvProto != 0}
	var built []Match
	for _, m := range matches {
		data, err := p.build(m, info)
		if err != nil {
			return nil, err
		}
		built = append(built, Match{Name: m.e.KernelName(), Revision: m.e.Revision, Data: data})
	}
	if target != nil {
		data, err := p.build(target, info)
		if err != nil {
			return nil, err
		}
		tgt = Target{Name: target.e.KernelName(), Revision: target.e.Revision, Data: data}
	} else if !haveTarget {
		tgt = Target{Verdict: VerdictContinue}
	}
	if len(srcs) == 0 {
		srcs = []netip2{{}}
	}
	if len(dsts) == 0 {
		dsts = []netip2{{}}
	}
	var rules []*Rule
	for _, s := range srcs {
		for _, d := range dsts {
			r := &Rule{Header: h, Target: tgt, Counters: counters}
			r.Header.Src, r.Header.SrcMask = s.addr, s.mask
			r.Header.Dst, r.Header.DstMask = d.addr, d.mask
			r.Matches = append([]Match(nil), built...)
			rules = append(rules, r)
		}
	}
	return rules, nil
}

func (p *RuleParser) isChain(name string) bool { return p.IsChain != nil && p.IsChain(name) }

// ownerOf finds the extension an option belongs to: the target first,
// then the matches from the last one named back to the first.
func (p *RuleParser) ownerOf(opt string, target *pending, matches []*pending) *pending {
	if target != nil && target.e.Option(opt) != nil {
		return target
	}
	for i := len(matches) - 1; i >= 0; i-- {
		if matches[i].e.Option(opt) != nil {
			return matches[i]
		}
	}
	return nil
}

func (p *RuleParser) build(pe *pending, info ext.RuleInfo) ([]byte, error) {
	e := pe.e
	if e.Proto != 0 && (info.Proto != e.Proto || info.ProtoInvert) {
		return nil, ruleErr(pe.token, "%s %s needs \"-p %s\" (not inverted) before it", e.Kind, e.Name, ext.ProtoName(e.Proto))
	}
	data, err := e.Parse(&ext.ParseInput{RuleInfo: info, Revision: e.Revision, Options: pe.opts})
	if err != nil {
		var oe *ext.OptionError
		if errors.As(err, &oe) {
			return nil, &RuleError{Token: oe.Token, Err: fmt.Errorf("%s %s: %w", e.Kind, e.Name, err)}
		}
		return nil, ruleErr(pe.token, "%s %s: %v", e.Kind, e.Name, err)
	}
	if len(data) != e.PayloadSize() {
		return nil, ruleErr(pe.token, "internal error: %s %s built %d bytes, want %d", e.Kind, e.Name, len(data), e.PayloadSize())
	}
	return data, nil
}

// choose picks the revision of an extension iptables 1.8.9 would use:
// the highest that both hostwall and the kernel support.
func (p *RuleParser) choose(kind ext.Kind, name string) (*ext.Extension, error) {
	key := kind.String() + "/" + name
	if e, ok := p.chosen[key]; ok {
		return e, nil
	}
	cands := ext.Candidates(kind, name, p.Family.Ext)
	if len(cands) == 0 {
		return nil, fmt.Errorf("unknown %s %q", kind, name)
	}
	var pick *ext.Extension
	for _, e := range cands {
		if p.Supported == nil {
			pick = e
			break
		}
		ok, err := p.Supported(kind, e.KernelName(), e.Revision)
		if err != nil {
			return nil, err
		}
		if ok {
			pick = e
			break
		}
	}
	if pick == nil {
		return nil, fmt.Errorf("the kernel supports no revision of %s %q that hostwall knows", kind, name)
	}
	if p.chosen == nil {
		p.chosen = map[string]*ext.Extension{}
	}
	p.chosen[key] = pick
	return pick, nil
}

// protoMatchName is the match iptables loads for -p PROTO.
func protoMatchName(proto uint16, f *Family) string {
	switch proto {
	case 58:
		return "icmp6"
	case 1:
		if f == IPv4 {
			return "icmp"
		}
		return ""
	}
	return ext.ProtoName(proto)
}

func verdictByName(s string) int32 {
	switch s {
	case "ACCEPT":
		return VerdictAccept
	case "DROP":
		return VerdictDrop
	case "RETURN":
		return VerdictReturn
	case "QUEUE":
		return VerdictQueue
	}
	return 0
}

// netip2 is an address and mask in header form.
type netip2 struct{ addr, mask [16]byte }

func parseAddrList(s string, f *Family) ([]netip2, error) {
	var out []netip2
	for _, part := range strings.Split(s, ",") {
		a, m, err := ext.ParseNet(part, f.Ext)
		if err != nil {
			return nil, err
		}
		var n netip2
		copy(n.addr[:], a.AsSlice())
		copy(n.mask[:], m.AsSlice())
		out = append(out, n)
	}
	return out, nil
}
