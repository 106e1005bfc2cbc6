// Package ext is hostwall's set of x_tables extensions. For every match and
// target it knows, it converts between the options iptables-legacy-save 1.8.9
// prints and the payload the kernel keeps after the xt_entry_match or
// xt_entry_target header. One file per extension holds both directions, so
// that the parser and the printer of a payload can never drift apart.
//
// The package knows nothing of tables, sockets or files: it is given the
// options of one extension (already split out of a rule by the rule parser)
// or one payload, and returns the other side.
package ext

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Family is a netfilter protocol family (NFPROTO_*), as the kernel keys
// extensions by it.
type Family uint8

const (
	// FamilyAny (NFPROTO_UNSPEC) marks an extension that serves both families.
	FamilyAny Family = 0
	// IPv4 is NFPROTO_IPV4.
	IPv4 Family = 2
	// IPv6 is NFPROTO_IPV6.
	IPv6 Family = 10
)

func (f Family) String() string {
	switch f {
	case IPv4:
		return "ipv4"
	case IPv6:
		return "ipv6"
	case FamilyAny:
		return "any"
	}
	return fmt.Sprintf("family(%d)", uint8(f))
}

// Kind tells a match from a target; the kernel keeps them in separate
// namespaces, so "TOS" the target and "tos" the match never collide anyway,
// but "mark" and "MARK" would on case-insensitive lookups.
type Kind uint8

const (
	Match Kind = iota
	Target
)

func (k Kind) String() string {
	if k == Target {
		return "target"
	}
	return "match"
}

// Option declares one long option an extension accepts, so the rule parser
// knows how many arguments follow it on the command line.
type Option struct {
	Name       string // without the leading "--"
	Args       int    // arguments that follow: 0, 1 or 2
	Invertible bool   // may be preceded by "!"
	// OptionalArg, with Args 0, takes the next token as an argument
	// unless it starts with "-" or "!" (rateest's --rateest-bps1 [bps]
	// peeks at argv[optind] this way).
	OptionalArg bool
}

// OptionValue is one option as written in a rule.
type OptionValue struct {
	Name   string
	Invert bool
	Args   []string
	// Token is the index of the option's first token in the rule, so an
	// error can point at the column where it was written.
	Token int
}

// Arg returns the option's first argument, or "" if it has none.
func (o OptionValue) Arg() string {
	if len(o.Args) == 0 {
		return ""
	}
	return o.Args[0]
}

// RuleInfo is what an extension may need to know of the rule around it.
type RuleInfo struct {
	Family      Family
	Proto       uint16 // the rule's -p protocol number, 0 if any
	ProtoInvert bool
	// Names resolves service, user, group, name-map and ipset names;
	// nil knows none (see Names).
	Names Names
}

// ParseInput is everything one extension is given to build its payload.
type ParseInput struct {
	RuleInfo
	Revision uint8 // the revision being built, the Extension's own
	Options  []OptionValue
}

// Extension describes one revision of one match or target for one family.
type Extension struct {
	Kind Kind
	// Name is what users write after -m or -j (e.g. "state").
	Name string
	// RealName is the kernel's name when it differs from Name (the "state"
	// alias is the kernel's "conntrack" match).
	RealName string
	Revision uint8
	Family   Family // FamilyAny when one implementation serves both
	// Size is sizeof the kernel's C struct for the payload; the payload on
	// the wire is XT_ALIGN(Size) bytes, zero padded.
	Size int
	// Proto, when non-zero, is the protocol the kernel requires in the
	// rule's -p for this extension (tcp needs 6), not inverted.
	Proto uint16
	// Options lists every long option Parse accepts, aliases included.
	Options []Option
	// Parse builds the payload (exactly Align(Size) bytes) from the options.
	// Errors should come from ParseInput.Errorf so they carry the option's
	// position.
	Parse func(in *ParseInput) ([]byte, error)
	// Save appends the options as iptables-save prints them, each with its
	// leading space. data is exactly Align(Size) bytes long.
	Save func(b *strings.Builder, r RuleInfo, data []byte) error
	// SaveName, when set, returns the name printed after -m or -j for this
	// payload; conntrack prints "state" for rules written as -m state.
	SaveName func(data []byte) string

	// Where the kernel accepts the extension, checked before anything is
	// written (the kernel refuses a whole table, with a bare EINVAL, for
	// one rule out of place). CheckPlacement applies all three.
	//
	// Tables, when set, are the only tables it is valid in: .table of the
	// kernel's struct xt_match or xt_target, or the tables its checkentry
	// allows (rpfilter: raw and mangle).
	Tables []string
	// Hooks, when non-zero, are the only hooks a rule using it may be
	// reached from (.hooks): the kernel refuses the table if the rule's
	// chain is reached, directly or through jumps, from any other.
	Hooks Hooks
	// Check, when set, refuses what the kernel's checkentry refuses
	// depending on the payload and where the rule sits or what else it
	// holds (TCPMSS --clamp-mss-to-pmtu outside FORWARD, OUTPUT and
	// POSTROUTING; -m policy --dir in where packets go out).
	Check func(p *Placement) error
}

// Hooks is a set of netfilter hooks, bit 1<<NF_INET_* each, as struct
// xt_match and xt_target declare where an extension may be used.
type Hooks uint8

const (
	HookPreRouting  Hooks = 1 << iota // NF_INET_PRE_ROUTING
	HookInput                         // NF_INET_LOCAL_IN
	HookForward                       // NF_INET_FORWARD
	HookOutput                        // NF_INET_LOCAL_OUT
	HookPostRouting                   // NF_INET_POST_ROUTING
)

var hookNames = []string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}

// String lists the hooks by their built-in chain names: "INPUT, OUTPUT".
func (h Hooks) String() string {
	var names []string
	for i, n := range hookNames {
		if h&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "no hook"
	}
	return strings.Join(names, ", ")
}

// Placement is where a rule using an extension sits, for
// Extension.CheckPlacement.
type Placement struct {
	Table string
	// Hooks are the hooks the rule's chain is reached from; none for a
	// chain nothing reaches (the kernel then checks no hook either).
	Hooks Hooks
	// Data is the extension's payload.
	Data []byte
	// Rule is the rule's header as an extension sees it.
	Rule RuleInfo
	// Matches are the rule's matches, for a target that needs another
	// match in its rule (TCPMSS wants a tcp match on SYN).
	Matches []PlacedMatch
	// NFTCompat is set when the rule goes to nf_tables, where nft_compat
	// runs the extension (its checkentry skips some checks:
	// par->nft_compat) or iptables-nft writes it as native expressions
	// (TRACE).
	NFTCompat bool
}

// PlacedMatch is one match of a rule, by kernel name.
type PlacedMatch struct {
	Name string
	Data []byte
}

// PlacementError is a rule the kernel would refuse where it is.
type PlacementError struct {
	Msg string
	// Hooks are the hooks the chain is reached from that the extension
	// refuses; none when the table is what is wrong.
	Hooks Hooks
}

func (e *PlacementError) Error() string { return e.Msg }

// CheckPlacement reports whether the kernel accepts the extension where
// p says it is: its table, the hooks its chain is reached from, and what
// its checkentry refuses there. The error is a *PlacementError.
func (e *Extension) CheckPlacement(p *Placement) error {
	if len(e.Tables) > 0 && !slices.Contains(e.Tables, p.Table) {
		return &PlacementError{Msg: fmt.Sprintf("%s %s is valid only in the %s table, not in %s",
			e.Kind, e.Name, strings.Join(e.Tables, " or "), p.Table)}
	}
	if bad := p.Hooks &^ e.Hooks; e.Hooks != 0 && bad != 0 {
		return &PlacementError{Hooks: bad, Msg: fmt.Sprintf("%s %s is valid only in chains reached from %s, not from %s",
			e.Kind, e.Name, e.Hooks, bad)}
	}
	if e.Check != nil {
		if err := e.Check(p); err != nil {
			var pe *PlacementError
			if errors.As(err, &pe) {
				return pe
			}
			return &PlacementError{Msg: fmt.Sprintf("%s %s: %v", e.Kind, e.Name, err)}
		}
	}
	return nil
}

// hooksOnly is a Check for a payload flag that the kernel accepts only
// from some hooks: it refuses p when has(p.Data) and p's chain is
// reached from a hook outside allowed.
func hooksOnly(e string, has func(data []byte) bool, allowed Hooks, what string) func(p *Placement) error {
	return func(p *Placement) error {
		if bad := p.Hooks &^ allowed; bad != 0 && has(p.Data) {
			return &PlacementError{Hooks: bad, Msg: fmt.Sprintf("%s %s is valid only in chains reached from %s, not from %s", e, what, allowed, bad)}
		}
		return nil
	}
}

// KernelName is the name the kernel knows the extension by.
func (e *Extension) KernelName() string {
	if e.RealName != "" {
		return e.RealName
	}
	return e.Name
}

// PayloadSize is the size of the payload on the wire.
func (e *Extension) PayloadSize() int { return Align(e.Size) }

// Option returns the declaration of the named option, or nil.
func (e *Extension) Option(name string) *Option {
	for i := range e.Options {
		if e.Options[i].Name == name {
			return &e.Options[i]
		}
	}
	return nil
}

// Align rounds n up to XT_ALIGN, the 8-byte alignment of struct
// _xt_align on 64-bit kernels.
func Align(n int) int { return (n + 7) &^ 7 }

// OptionError is a parse error tied to one option of a rule.
type OptionError struct {
	Option string
	Token  int
	Err    error
}

func (e *OptionError) Error() string { return "--" + e.Option + ": " + e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

// Errorf returns an error about option o.
func (in *ParseInput) Errorf(o OptionValue, format string, args ...any) error {
	return &OptionError{Option: o.Name, Token: o.Token, Err: fmt.Errorf(format, args...)}
}

// Failf returns an error about the extension as a whole (a missing
// mandatory option, say), positioned at its first option if it has one.
func (in *ParseInput) Failf(format string, args ...any) error {
	if len(in.Options) > 0 {
		return &OptionError{Option: in.Options[0].Name, Token: in.Options[0].Token, Err: fmt.Errorf(format, args...)}
	}
	return fmt.Errorf(format, args...)
}

type key struct {
	kind   Kind
	name   string
	rev    uint8
	family Family
}

var (
	byKernelName = map[key]*Extension{}
	byUserName   = map[Kind]map[string][]*Extension{Match: {}, Target: {}}
)

// Register adds an extension to the set. Each extension file calls it from
// init; registering the same kind, kernel name, revision and family twice
// is a programming error.
func Register(e *Extension) {
	k := key{e.Kind, e.KernelName(), e.Revision, e.Family}
	if _, dup := byKernelName[k]; dup {
		panic(fmt.Sprintf("ext: %s %s revision %d (%s) registered twice", e.Kind, k.name, e.Revision, e.Family))
	}
	if e.Parse == nil || e.Save == nil {
		panic(fmt.Sprintf("ext: %s %s revision %d lacks Parse or Save", e.Kind, k.name, e.Revision))
	}
	byKernelName[k] = e
	list := append(byUserName[e.Kind][e.Name], e)
	sort.SliceStable(list, func(i, j int) bool { return list[i].Revision > list[j].Revision })
	byUserName[e.Kind][e.Name] = list
}

// Lookup finds the extension that decodes a payload the kernel returned:
// by kernel name, revision and family, falling back to FamilyAny. For
// kernel names with several user names (conntrack, reached as "state"
// too) it returns the implementation registered under the kernel name.
func Lookup(kind Kind, kernelName string, rev uint8, fam Family) *Extension {
	if e := byKernelName[key{kind, kernelName, rev, fam}]; e != nil {
		return e
	}
	return byKernelName[key{kind, kernelName, rev, FamilyAny}]
}

// Known reports whether any revision of kernelName is in the set, for
// telling "unsupported revision" from "unknown extension".
func Known(kind Kind, kernelName string, fam Family) bool {
	for k := range byKernelName {
		if k.kind == kind && k.name == kernelName && (k.family == fam || k.family == FamilyAny) {
			return true
		}
	}
	return false
}

// Candidates lists the implementations of a user-visible name for a
// family, highest revision first: the order in which iptables tries them.
func Candidates(kind Kind, name string, fam Family) []*Extension {
	var out []*Extension
	for _, e := range byUserName[kind][name] {
		if e.Family == fam || e.Family == FamilyAny {
			out = append(out, e)
		}
	}
	return out
}

// All returns every registered extension, for listings and tests.
func All() []*Extension {
	out := make([]*Extension, 0, len(byKernelName))
	for _, e := range byKernelName {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Family != b.Family {
			return a.Family < b.Family
		}
		return a.Revision < b.Revision
	})
	return out
}
