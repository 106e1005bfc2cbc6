package ext

// optionSet is what libxtables' option machinery (xtables_option_parse,
// xtables_options_fcheck) checks for every extension's option table: an
// option may be given only once (unless it is declared multi), options
// declared exclusive never together, and some need another. Options are
// keyed by name, or by a key their aliases share (--sport and
// --source-port). Every extension uses this one set, so users read one
// wording for each of these mistakes.
type optionSet struct {
	in   *ParseInput
	seen map[string]OptionValue
}

func newOptionSet(in *ParseInput) *optionSet {
	return &optionSet{in: in, seen: map[string]OptionValue{}}
}

// once records o under its name and fails if it was given before.
func (s *optionSet) once(o OptionValue) error { return s.onceAs(o, o.Name) }

// onceAs records o under key and fails if key was given before.
func (s *optionSet) onceAs(o OptionValue, key string) error {
	if _, dup := s.seen[key]; dup {
		return errOnce(s.in, o)
	}
	s.seen[key] = o
	return nil
}

// onceExcluding is once, failing also when one of excl (the options o
// cannot be combined with) was given before it.
func (s *optionSet) onceExcluding(o OptionValue, excl ...string) error {
	if err := s.once(o); err != nil {
		return err
	}
	for _, x := range excl {
		if prev, clash := s.seen[x]; clash && x != o.Name {
			return s.together(o, prev)
		}
	}
	return nil
}

// record notes an option that may be given more than once (--next).
func (s *optionSet) record(o OptionValue) { s.seen[o.Name] = o }

// given returns the option recorded under key (the zero value if none).
func (s *optionSet) given(key string) OptionValue { return s.seen[key] }

// has reports whether the option (or key) was given.
func (s *optionSet) has(key string) bool {
	_, ok := s.seen[key]
	return ok
}

// empty reports that no option was given.
func (s *optionSet) empty() bool { return len(s.seen) == 0 }

// exclusive fails when more than one of the named options was given,
// naming the later one as iptables does.
func (s *optionSet) exclusive(keys ...string) error {
	var first *OptionValue
	for _, k := range keys {
		o, ok := s.seen[k]
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
		return s.together(o, *first)
	}
	return nil
}

func (s *optionSet) together(later, earlier OptionValue) error {
	return errTogether(s.in, later, earlier.Name)
}

// requires fails when name was given without any of others.
func (s *optionSet) requires(name string, others ...string) error {
	o, ok := s.seen[name]
	if !ok {
		return nil
	}
	for _, n := range others {
		if s.has(n) {
			return nil
		}
	}
	return errRequires(s.in, o, others[0])
}

// The wordings of optionSet's errors, for the extensions that check these
// mistakes by hand (an extension with a single option, or one whose
// options share a key only in its own bookkeeping) to say the same.

// errOnce: o was given a second time.
func errOnce(in *ParseInput, o OptionValue) error {
	return in.Errorf(o, "option \"--%s\" can only be used once", o.Name)
}

// errTogether: o cannot be combined with the earlier option other.
func errTogether(in *ParseInput, o OptionValue, other string) error {
	return in.Errorf(o, "option \"--%s\" cannot be used together with \"--%s\"", o.Name, other)
}

// errRequires: o needs other, which was not given.
func errRequires(in *ParseInput, o OptionValue, other string) error {
	return in.Errorf(o, "option \"--%s\" also requires \"--%s\"", o.Name, other)
}
