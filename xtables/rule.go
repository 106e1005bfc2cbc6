package xtables

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hostwall/hostwall/xtables/ext"
	"github.com/hostwall/hostwall/xtables/hostnames"
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
	// Names resolves service, user, group, name-map and ipset names in
	// options; nil is hostnames.System, the host's files and kernel.
	Names ext.Names

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
//
// Options are read as iptables 1.8.9 reads them with getopt_long: a long
// option may be abbreviated to any prefix that names one option of the
// table iptables has merged so far (its own options first, then the
// options of the matches and target loaded so far, the latest first), an
// exact name wins, and "--name=value" is "--name value". A short option
// may carry its argument attached ("-ptcp"). An option no loaded
// extension knows, or an ambiguous one, makes iptables load the match
// named after -p and try again.
func (p *RuleParser) Parse(tokens []string) ([]*Rule, error) {
	// Forms that split one token into two are rewritten in a copy;
	// orig maps each index of the copy back to the caller's token.
	toks := append([]string(nil), tokens...)
	orig := make([]int, len(toks))
	for i := range orig {
		orig[i] = i
	}
	rules, err := p.parse(&toks, &orig)
	var re *RuleError
	if errors.As(err, &re) && re.Token >= 0 && re.Token < len(orig) {
		re.Token = orig[re.Token]
	}
	return rules, err
}

// baseLongOptions is iptables' own option table (original_opts in
// iptables.c), in its order; the value is the short option a long one
// stands for in a rule, "" for commands and options that have no place
// in a rules file's rule.
var baseLongOptions = []struct{ name, short string }{
	{"append", ""}, {"delete", ""}, {"check", ""}, {"insert", ""},
	{"replace", ""}, {"list", ""}, {"list-rules", ""}, {"flush", ""},
	{"zero", ""}, {"new-chain", ""}, {"delete-chain", ""},
	{"rename-chain", ""}, {"policy", ""}, {"source", "-s"},
	{"destination", "-d"}, {"src", "-s"}, {"dst", "-d"},
	{"protocol", "-p"}, {"in-interface", "-i"}, {"jump", "-j"},
	{"table", ""}, {"match", "-m"}, {"numeric", ""},
	{"out-interface", "-o"}, {"verbose", ""}, {"wait", ""},
	{"wait-interval", ""}, {"exact", ""}, {"fragments", "-f"},
	{"version", ""}, {"help", ""}, {"line-numbers", ""},
	{"modprobe", ""}, {"set-counters", "-c"}, {"goto", "-g"},
	{"ipv4", ""}, {"ipv6", ""},
}

// errNoOption and errAmbiguous are what getopt_long makes of a long
// option that names nothing, or more than one thing, in the table.
var errNoOption = errors.New("unknown option")

type ambiguousError struct{ names []string }

func (e *ambiguousError) Error() string {
	return "ambiguous option; possibilities: --" + strings.Join(e.names, " --")
}

// resolveLong finds what "--name" means to getopt_long over the merged
// table: base options, then the loaded extensions, the latest loaded
// first. It returns the short option of a base option, or the extension
// and its option.
func resolveLong(name string, loaded []*pending) (short string, pe *pending, decl *ext.Option, err error) {
	type entry struct {
		name, short string
		pe          *pending
		decl        *ext.Option
	}
	pick := func(en entry) (string, *pending, *ext.Option, error) {
		if en.pe == nil && en.short == "" {
			return "", nil, nil, fmt.Errorf("option --%s has no place in a rule", en.name)
		}
		return en.short, en.pe, en.decl, nil
	}
	// One walk in table order: an exact name wins wherever it is (the
	// common case; a restore resolves every option of every rule here),
	// else every name it begins is a candidate, in table order.
	var cands []entry
	consider := func(en entry) bool {
		if en.name == name {
			return true
		}
		if strings.HasPrefix(en.name, name) {
			cands = append(cands, en)
		}
		return false
	}
	for _, b := range baseLongOptions {
		if en := (entry{name: b.name, short: b.short}); consider(en) {
			return pick(en)
		}
	}
	for i := len(loaded) - 1; i >= 0; i-- {
		e := loaded[i].e
		for j := range e.Options {
			d := &e.Options[j]
			if en := (entry{name: d.Name, pe: loaded[i], decl: d}); consider(en) {
				return pick(en)
			}
		}
	}
	if len(cands) == 0 {
		return "", nil, nil, errNoOption
	}
	// Entries with the same meaning (getopt compares has_arg, flag and
	// val; base aliases such as --src and --source share theirs) are
	// one candidate.
	for _, c := range cands[1:] {
		same := c.pe == cands[0].pe && c.name == cands[0].name && c.short == cands[0].short
		sameBase := c.pe == nil && cands[0].pe == nil && c.short != "" && c.short == cands[0].short
		if !same && !sameBase {
			var names []string
			for _, c := range cands {
				names = append(names, c.name)
			}
			return "", nil, nil, &ambiguousError{names}
		}
	}
	return pick(cands[0])
}

// attachedShort are the short options that take an argument, which
// getopt also takes attached ("-mtcp"). For those in wholeTokenShort
// iptables 1.8.9 reads argv[optind-1] instead of optarg, so the argument
// is the whole token: "-ptcp" is protocol "-ptcp" (unknown), "-ieth0" is
// interface "-ieth0".
const (
	attachedShort   = "sdpiojgm"
	wholeTokenShort = "sdpioj"
)

func (p *RuleParser) parse(tokp *[]string, origp *[]int) ([]*Rule, error) {
	f := p.Family
	tokens := *tokp
	// split replaces tokens[i] by a and b, keeping the origin of both.
	split := func(i int, a, b string) {
		tokens = append(tokens[:i+1], tokens[i:]...)
		tokens[i], tokens[i+1] = a, b
		*origp = append((*origp)[:i+1], (*origp)[i:]...)
		*tokp = tokens
	}
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
		loaded           []*pending // matches and target, in load order
		protoArg         string     // -p as written, lower case
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
		var owner *pending
		if strings.HasPrefix(tok, "--") && len(tok) > 2 {
			name, val, hasVal := strings.Cut(tok[2:], "=")
			short, pe, decl, err := resolveLong(name, loaded)
			if err != nil && protoArg != "" && implicitProtoTok < 0 {
				// iptables loads the match named after -p on demand:
				// "-p tcp --dport 22" means "-p tcp -m tcp --dport 22".
				if mname := implicitProtoMatch(protoArg, f); mname != "" {
					if e, cerr := p.choose(ext.Match, mname); cerr == nil {
						pm := &pending{e: e, token: start}
						loaded = append(loaded, pm)
						matches = append(matches, pm)
						implicitProtoTok = start
						short, pe, decl, err = resolveLong(name, loaded)
					}
				}
			}
			if hasVal {
				// -s -d -p -i -o -j read argv[optind-1]: for
				// "--source=10/8" that is the whole token.
				if err == nil && pe == nil && strings.IndexByte(wholeTokenShort, short[1]) >= 0 {
					val = tok
				}
				split(i, "--"+name, val)
			}
			switch {
			case err == errNoOption:
				return nil, ruleErr(i, "unknown option %q", "--"+name)
			case err != nil:
				return nil, ruleErr(i, "--%s: %v", name, err)
			case pe != nil:
				owner = pe
				tokens[i] = "--" + decl.Name
				tok = tokens[i]
			default:
				tok = short
			}
		} else if len(tok) > 2 && tok[0] == '-' && tok[1] != '-' && strings.IndexByte(attachedShort, tok[1]) >= 0 {
			if strings.IndexByte(wholeTokenShort, tok[1]) >= 0 {
				split(i, tok[:2], tok)
			} else {
				split(i, tok[:2], tok[2:])
			}
			tok = tokens[i]
		}
		if owner != nil {
			tok = ""
		}
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
			protoArg = strings.ToLower(arg)
			proto, err := ext.ParseProtocol(protoArg)
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
			pm := &pending{e: e, token: i}
			matches = append(matches, pm)
			loaded = append(loaded, pm)
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
				loaded = append(loaded, target)
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
			if owner == nil {
				return nil, ruleErr(i, "unexpected %q", tok)
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
	info := ext.RuleInfo{Family: f.Ext, Proto: h.Proto, ProtoInvert: h.InvFlags&InvProto != 0, Names: hostNames(p.Names)}
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

// implicitProtoMatch is the match iptables loads on demand for "-p ARG"
// (find_proto): a number becomes its name (libxtables' table, then
// /etc/protocols), and the ICMPv6 names are the icmp6 match.
func implicitProtoMatch(arg string, f *Family) string {
	name := arg
	if v, rest, ok := ext.StrtoulRange(arg, 0, 255); ok && rest == "" {
		if name = ext.ProtoName(uint16(v)); name == "" {
			return ""
		}
	}
	switch name {
	case "icmpv6", "ipv6-icmp", "icmp6":
		if f != IPv6 {
			return ""
		}
		return "icmp6"
	}
	return name
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
		a, m, err := ext.ParseNet(strings.TrimLeft(part, " \t\n\v\f\r"), f.Ext)
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

// hostNames is n, or the host's own names when n is nil.
func hostNames(n ext.Names) ext.Names {
	if n == nil {
		return hostnames.System{}
	}
	return n
}
