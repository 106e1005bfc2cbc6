package ext

import (
	"fmt"
	"strings"
)

// TakeOption reads one option of e starting at tokens[i]: an optional "!",
// "--name", then the declared number of arguments. It returns ok=false,
// consuming nothing, when tokens[i] is not an option of e, so the caller
// can offer the token to someone else.
func TakeOption(e *Extension, tokens []string, i int) (o OptionValue, next int, ok bool, err error) {
	start, invert := i, false
	if i < len(tokens) && tokens[i] == "!" {
		invert = true
		i++
	}
	if i >= len(tokens) || !strings.HasPrefix(tokens[i], "--") {
		return o, start, false, nil
	}
	decl := e.Option(tokens[i][2:])
	if decl == nil {
		return o, start, false, nil
	}
	o = OptionValue{Name: decl.Name, Invert: invert, Token: start}
	if invert && !decl.Invertible {
		return o, start, true, &OptionError{Option: decl.Name, Token: start, Err: fmt.Errorf("cannot be inverted with \"!\"")}
	}
	i++
	for n := 0; n < decl.Args; n++ {
		if i >= len(tokens) {
			return o, start, true, &OptionError{Option: decl.Name, Token: start, Err: fmt.Errorf("needs %d argument(s)", decl.Args)}
		}
		if tokens[i] == "!" {
			return o, start, true, &OptionError{Option: decl.Name, Token: i, Err: fmt.Errorf("\"!\" goes before the option (! --%s ...), not after it", decl.Name)}
		}
		o.Args = append(o.Args, tokens[i])
		i++
	}
	if decl.OptionalArg && i < len(tokens) && !strings.HasPrefix(tokens[i], "-") && !strings.HasPrefix(tokens[i], "!") {
		o.Args = append(o.Args, tokens[i])
		i++
	}
	return o, i, true, nil
}

// ParseOptions splits a whole option list (as written after "-m name" or
// "-j NAME") and builds the payload; it fails on any token that is not an
// option of e. It is what tests use; the rule parser interleaves options
// of several extensions and calls TakeOption itself.
func ParseOptions(e *Extension, r RuleInfo, tokens []string) ([]byte, error) {
	in := &ParseInput{RuleInfo: r, Revision: e.Revision}
	for i := 0; i < len(tokens); {
		o, next, ok, err := TakeOption(e, tokens, i)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%s %s: unknown option %q", e.Kind, e.Name, tokens[i])
		}
		in.Options = append(in.Options, o)
		i = next
	}
	data, err := e.Parse(in)
	if err != nil {
		return nil, err
	}
	if len(data) != e.PayloadSize() {
		return nil, fmt.Errorf("%s %s revision %d built %d bytes, want %d", e.Kind, e.Name, e.Revision, len(data), e.PayloadSize())
	}
	return data, nil
}

// SaveText returns what iptables-save prints for a payload: the name
// after -m or -j and the options, or an error if the payload is not one
// this extension can print.
func SaveText(e *Extension, r RuleInfo, data []byte) (name, opts string, err error) {
	if len(data) != e.PayloadSize() {
		return "", "", fmt.Errorf("%s %s revision %d: payload is %d bytes, want %d", e.Kind, e.KernelName(), e.Revision, len(data), e.PayloadSize())
	}
	var b strings.Builder
	if err := e.Save(&b, r, data); err != nil {
		return "", "", err
	}
	name = e.KernelName()
	if e.SaveName != nil {
		name = e.SaveName(data)
	}
	return name, b.String(), nil
}
