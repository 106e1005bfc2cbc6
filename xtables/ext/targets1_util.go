package ext

import (
	"fmt"
	"strings"
)

// t1Opts tracks which options of one extension a rule used, for the checks
// libxtables makes on every x6-style extension: each option at most once
// (unless it is declared multi), and options declared exclusive never
// together. Keyed by the canonical option name.
type t1Opts struct {
	in   *ParseInput
	seen map[string]OptionValue
}

func newT1Opts(in *ParseInput) *t1Opts {
	return &t1Opts{in: in, seen: map[string]OptionValue{}}
}

// once records o and fails if it was given before.
func (s *t1Opts) once(o OptionValue) error {
	if _, dup := s.seen[o.Name]; dup {
		return s.in.Errorf(o, "can only be used once")
	}
	s.seen[o.Name] = o
	return nil
}

// has reports whether the named option was given.
func (s *t1Opts) has(name string) bool {
	_, ok := s.seen[name]
	return ok
}

// exclusive fails when more than one of the named options was given,
// naming the later one as iptables does.
func (s *t1Opts) exclusive(names ...string) error {
	var first *OptionValue
	for _, n := range names {
		o, ok := s.seen[n]
		if !ok {
			continue
		}
		if first == nil {
			first = &o
			continue
		}
		if o.Token < first.Token {
			o, *first = *first, o
		}
		return s.in.Errorf(o, "cannot be used together with --%s", first.Name)
	}
	return nil
}

// requires fails when name was given without any of others.
func (s *t1Opts) requires(name string, others ...string) error {
	o, ok := s.seen[name]
	if !ok {
		return nil
	}
	for _, n := range others {
		if s.has(n) {
			return nil
		}
	}
	return s.in.Errorf(o, "also requires --%s", others[0])
}

// uintArg parses the option's argument as xtables_strtoul does for an
// XTTYPE_UINT* option, within [min, max].
func (s *t1Opts) uintArg(o OptionValue, min, max uint64) (uint64, error) {
	v, err := ParseUint(o.Arg(), min, max)
	if err != nil {
		return 0, s.in.Errorf(o, "bad value: %v", err)
	}
	return v, nil
}

// t1PutString stores an XTTYPE_STRING argument into a fixed char array as
// xtopt_parse_string does: anything beyond the array's size minus the NUL
// is silently cut off, so that hostwall builds the very bytes iptables
// does. A NUL inside the argument cannot come from a command line and is
// refused.
func t1PutString(dst []byte, s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return fmt.Errorf("contains a NUL byte")
		}
	}
	if len(s) > len(dst)-1 {
		s = s[:len(dst)-1]
	}
	for i := range dst {
		dst[i] = 0
	}
	copy(dst, s)
	return nil
}

// t1CString returns a NUL-terminated char array's string, failing when
// the array holds no NUL: the kernel refuses such a payload, and printing
// it would mean guessing where it ends.
func t1CString(b []byte, what string) (string, error) {
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), nil
		}
	}
	return "", fmt.Errorf("%s is not NUL terminated", what)
}

// t1HasPrefixFold reports whether prefix starts s, ignoring ASCII case: the
// strncasecmp(name, arg, strlen(arg)) abbreviation several extensions allow.
func t1HasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
