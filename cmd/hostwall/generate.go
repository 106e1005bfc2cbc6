package main

// hostwall __generate man|bash|zsh writes the man page hostwall(8) and
// the bash and zsh completions. They are made from the command table
// and from each command's own pflag option set, the ones its --help
// prints and its parser reads, so they cannot drift from the CLI.
// The command is hidden (not in the usage); make release runs it.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/xtables"
)

// generateCommand is the hidden command's name.
const generateCommand = "__generate"

// flagCollector is the standard output a command is run with to read
// its option set: parseFlags hands the set over instead of parsing, and
// the command returns before doing anything.
type flagCollector struct{ fs *cmdFlags }

func (*flagCollector) Write(p []byte) (int, error) { return len(p), nil }

// commandFlags returns the option set command c defines.
func commandFlags(c command) (*cmdFlags, error) {
	col := &flagCollector{}
	// --help as well: should the hand-over ever be missed, the command
	// prints its help to the collector and still does nothing.
	err := c.run(context.Background(), []string{"--help"}, col, io.Discard)
	if col.fs == nil {
		return nil, fmt.Errorf("%s defined no option set (%v)", c.name, err)
	}
	return col.fs, nil
}

// option is one option of a command, as the docs show it.
type option struct {
	long, short string
	arg         string // the argument's name, "" for none
	optionalArg bool   // -w [SECONDS]: the argument may be left out
	repeatable  bool
	usage       string // as --help prints it, lines joined
}

// options lists fs's options in --help's order (help and version last).
func options(fs *cmdFlags) []option {
	var out, last []option
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return // internal plumbing, never documented
		}
		arg, usage := pflag.UnquoteUsage(f)
		if f.Value.Type() == "bool" {
			arg = ""
		}
		o := option{
			long: f.Name, short: f.Shorthand, arg: arg,
			optionalArg: arg != "" && f.NoOptDefVal != "",
			usage:       strings.Join(strings.Fields(usage), " "),
		}
		switch f.Value.(type) {
		case *chainList, pflag.SliceValue:
			o.repeatable = true
		}
		if f.Name == "help" || f.Name == "version" {
			last = append(last, o)
		} else {
			out = append(out, o)
		}
	})
	return append(out, last...)
}

// docCommand is a command with its options, for the docs.
type docCommand struct {
	command
	synopsis, description string
	options               []option
	operand               string // "FILE" for restore's [FILE|-], "" for none
}

func docCommands() ([]docCommand, error) {
	var out []docCommand
	for _, c := range commands {
		fs, err := commandFlags(c)
		if err != nil {
			return nil, err
		}
		d := docCommand{command: c, synopsis: strings.Join(strings.Fields(fs.synopsis), " "), description: fs.description, options: options(fs)}
		// An operand is a bracketed word of the synopsis that is no
		// option's argument: restore's [FILE|-].
		for _, m := range operandRE.FindAllStringSubmatch(d.synopsis, -1) {
			if !slices.ContainsFunc(d.options, func(o option) bool { return o.arg == m[1] }) {
				d.operand = m[1]
			}
		}
		out = append(out, d)
	}
	return out, nil
}

var operandRE = regexp.MustCompile(`\[([A-Z]+)(?:\|-)?\]`)

// argValues lists the values an option's argument takes, by the name
// its usage gives the argument; FILE is a file name.
var argValues = map[string][]string{
	"BACKEND": {string(engine.Auto), string(engine.LegacyBackend), string(engine.NFTBackend), string(engine.NativeBackend)},
	"TABLE":   {"filter", "nat", "mangle", "raw", "security"},
	"FORMAT":  {"text", "json"},
}

func runGenerate(args []string, stdout io.Writer) error {
	fs := newFlags(generateCommand, "man|bash|zsh [--date YYYY-MM-DD]", "Write hostwall(8) or a shell completion to standard output.", stdout)
	date := fs.String("date", "", "the man page's `DATE` (make release: the commit's date)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give one of man, bash, zsh")
	}
	cmds, err := docCommands()
	if err != nil {
		return err
	}
	var b bytes.Buffer
	switch fs.Arg(0) {
	case "man":
		manPage(&b, cmds, *date)
	case "bash":
		bashCompletion(&b, cmds)
	case "zsh":
		zshCompletion(&b, cmds)
	default:
		return usagef("unknown output %q: give one of man, bash, zsh", fs.Arg(0))
	}
	_, err = stdout.Write(b.Bytes())
	return err
}

// mainHelp is hostwall --help split into its description paragraphs
// and its exit status text.
func mainHelp() (description []string, exitStatus string) {
	var b bytes.Buffer
	usage(&b)
	text := b.String()
	text, exitStatus, _ = strings.Cut(text, "Exit status:")
	for _, p := range strings.Split(text, "\n\n") {
		p = strings.TrimSpace(p)
		if p == "" || strings.HasPrefix(p, "Usage:") || strings.HasPrefix(p, "Commands:") || strings.HasPrefix(p, "Run 'hostwall") {
			continue
		}
		description = append(description, p)
	}
	return description, strings.Join(strings.Fields(exitStatus), " ")
}

// roff escapes text for a man page: backslashes, minus signs (so
// options can be copied), and characters outside ASCII; a line that
// would start with a control character gets \&.
func roff(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r == '-':
			b.WriteString(`\-`)
		case r == '—':
			b.WriteString(`\(em`)
		case r == '–':
			b.WriteString(`\(en`)
		case r == '…':
			b.WriteString(`.\|.\|.`)
		case r == '→':
			b.WriteString(`\(->`)
		case r == '‘', r == '’':
			b.WriteString(`'`)
		case r == '“', r == '”':
			b.WriteString(`\(dq`)
		case r >= utf8.RuneSelf:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	out := b.String()
	if strings.HasPrefix(out, ".") || strings.HasPrefix(out, "'") {
		out = `\&` + out
	}
	return out
}

// roffText is a paragraph of text, one source line per line of s.
func roffText(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, roff(l))
		}
	}
	return strings.Join(lines, "\n")
}

// roffOption is an option's tag: \fB\-w\fR, \fB\-\-wait\fR[=\fISECONDS\fR].
func roffOption(o option) string {
	s := ""
	if o.short != "" {
		s = `\fB\-` + roff(o.short) + `\fR, `
	}
	s += `\fB\-\-` + roff(o.long) + `\fR`
	switch {
	case o.optionalArg:
		s += `[=\fI` + roff(o.arg) + `\fR]`
	case o.arg != "":
		s += ` \fI` + roff(o.arg) + `\fR`
	}
	return s
}

func manPage(w io.Writer, cmds []docCommand, date string) {
	ver, _, _ := buildInfo()
	description, exitStatus := mainHelp()
	fmt.Fprintf(w, `.\" hostwall(8). Generated by 'hostwall %s man' from hostwall's own
.\" command table and option definitions; do not edit.
.TH HOSTWALL 8 "%s" "hostwall %s" "System Administration"
.nh
.ad l
.SH NAME
hostwall \- keep a host firewall in one chain of its own, beside Docker and Kubernetes
.SH SYNOPSIS
.B hostwall
.I COMMAND
.RI [ OPTIONS ]
.br
.B hostwall
.BR \-\-version " | " \-\-help
.SH DESCRIPTION
`, generateCommand, date, roff(ver))
	for i, p := range description {
		if i > 0 {
			fmt.Fprintln(w, ".PP")
		}
		fmt.Fprintln(w, roffText(p))
	}
	fmt.Fprintln(w, ".PP\nThe options are GNU-style: a short option takes one dash (\\fB\\-4\\fR), a long\none two (\\fB\\-\\-ipv4\\fR); an argument follows as the next word or after =;\nshort options cluster (\\fB\\-nc\\fR); options may follow operands, and \\fB\\-\\-\\fR ends them.")
	fmt.Fprintln(w, ".SH COMMANDS")
	for _, c := range cmds {
		fmt.Fprintf(w, ".SS %s\n", c.name)
		fmt.Fprintf(w, ".B hostwall %s\n%s\n.PP\n", c.name, roffText(c.synopsis))
		for i, p := range strings.Split(c.description, "\n\n") {
			if i > 0 {
				fmt.Fprintln(w, ".PP")
			}
			fmt.Fprintln(w, roffText(p))
		}
		for _, o := range c.options {
			fmt.Fprintf(w, ".TP\n%s\n%s\n", roffOption(o), roffText(o.usage))
		}
	}
	fmt.Fprintf(w, ".SH EXIT STATUS\n%s\n", roffText(exitStatus))
	fmt.Fprintf(w, `.SH FILES
.TP
.I %s
.TQ
.I %s
The rules files apply, check, status and watch read when neither
\fB\-4\fR nor \fB\-6\fR is given, where iptables\-persistent keeps them.
.TP
.I %s
The xtables lock, shared with iptables (x_tables only).
.SH SEE ALSO
.BR iptables (8),
.BR iptables\-save (8),
.BR iptables\-restore (8),
.BR nft (8)
`, roff(defaultFiles[xtables.IPv4]), roff(defaultFiles[xtables.IPv6]), roff(xtables.DefaultLockFile))
}

// shellQuote quotes s for sh in single quotes.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func bashCompletion(w io.Writer, cmds []docCommand) {
	top := []string{"-h", "--help", "-V", "--version"}
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	fmt.Fprintf(w, `# bash completion for hostwall(8). Generated by 'hostwall %s bash' from
# hostwall's own command table and option definitions; do not edit.
# Install as /usr/share/bash-completion/completions/hostwall.

_hostwall_files()
{
    local IFS=$'\n'
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$1"))
}

_hostwall()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local opt=$prev opts operand=""
    COMPREPLY=()
    if ((COMP_CWORD == 1)); then
        COMPREPLY=($(compgen -W %s -- "$cur"))
        return 0
    fi
    # --option=value: bash splits the word at "=" (COMP_WORDBREAKS).
    if [[ $cur == = ]]; then
        cur=""
    elif [[ $prev == = ]] && ((COMP_CWORD > 2)); then
        opt=${COMP_WORDS[COMP_CWORD-2]}
    fi
    case ${COMP_WORDS[1]} in
`, generateCommand, shellQuote(strings.Join(append(names, top...), " ")))
	for _, c := range cmds {
		fmt.Fprintf(w, "    %s)\n", c.name)
		// The argument of an option that needs one: files, a list, or
		// nothing to offer. An optional argument (-w [SECONDS]) offers
		// the options, as the next word may be one.
		var files, free []string
		lists := map[string][]string{}
		var listArgs []string
		var opts []string
		for _, o := range c.options {
			forms := []string{"--" + o.long}
			if o.short != "" {
				forms = []string{"-" + o.short, "--" + o.long}
			}
			opts = append(opts, forms...)
			switch {
			case o.arg == "" || o.optionalArg:
			case o.arg == "FILE":
				files = append(files, forms...)
			case argValues[o.arg] != nil:
				if lists[o.arg] == nil {
					listArgs = append(listArgs, o.arg)
				}
				lists[o.arg] = append(lists[o.arg], forms...)
			default:
				free = append(free, forms...)
			}
		}
		if len(files)+len(free)+len(listArgs) > 0 {
			fmt.Fprintln(w, `        case $opt in`)
			if len(files) > 0 {
				fmt.Fprintf(w, "        %s) _hostwall_files \"$cur\"; return 0 ;;\n", strings.Join(files, "|"))
			}
			for _, a := range listArgs {
				fmt.Fprintf(w, "        %s) COMPREPLY=($(compgen -W %s -- \"$cur\")); return 0 ;;\n", strings.Join(lists[a], "|"), shellQuote(strings.Join(argValues[a], " ")))
			}
			if len(free) > 0 {
				fmt.Fprintf(w, "        %s) return 0 ;;\n", strings.Join(free, "|"))
			}
			fmt.Fprintln(w, `        esac`)
		}
		fmt.Fprintf(w, "        opts=%s\n", shellQuote(strings.Join(opts, " ")))
		if c.operand == "FILE" {
			fmt.Fprintln(w, `        operand=file`)
		}
		fmt.Fprintln(w, "        ;;")
	}
	fmt.Fprint(w, `    *) return 0 ;;
    esac
    if [[ $cur != -* && $operand == file ]]; then
        _hostwall_files "$cur"
    else
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    fi
    return 0
}
complete -F _hostwall hostwall
`)
}

// zshDesc is an option's description for _arguments: its usage
// without parenthesised asides, up to the first semicolon, with the
// characters _arguments gives a meaning escaped.
func zshDesc(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	s, _, _ = strings.Cut(b.String(), ";")
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, " ,", ",")), " ")
	s = strings.TrimRight(s, ",: ")
	return strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`, `:`, `\:`).Replace(s)
}

func zshCompletion(w io.Writer, cmds []docCommand) {
	fmt.Fprintf(w, `#compdef hostwall
# zsh completion for hostwall(8). Generated by 'hostwall %s zsh' from
# hostwall's own command table and option definitions; do not edit.
# Install as _hostwall in a directory of $fpath.

_hostwall() {
  local curcontext=$curcontext state line ret=1
  local -a commands
  commands=(
`, generateCommand)
	for _, c := range cmds {
		fmt.Fprintf(w, "    %s\n", shellQuote(c.name+":"+strings.ReplaceAll(c.summary, ":", `\:`)))
	}
	fmt.Fprintf(w, `  )
  _arguments -C \
    '(- *)'{-h,--help}'[print the usage and exit]' \
    '(- *)'{-V,--version}'[print the version and exit]' \
    '1:command:->command' \
    '*::option:->option' && ret=0
  case $state in
  command)
    _describe -t commands 'hostwall command' commands && ret=0
    ;;
  option)
    curcontext=${curcontext%%:*:*}-$words[1]:
    case $words[1] in
`)
	for _, c := range cmds {
		fmt.Fprintf(w, "    %s)\n      _arguments -s -S \\\n", c.name)
		for _, o := range c.options {
			fmt.Fprintf(w, "        %s \\\n", zshSpec(o))
		}
		if c.operand == "FILE" {
			fmt.Fprintln(w, `        '1::FILE (- for standard input):_files' \`)
		}
		fmt.Fprintln(w, "        && ret=0\n      ;;")
	}
	fmt.Fprint(w, `    esac
    ;;
  esac
  return ret
}

_hostwall "$@"
`)
}

// zshSpec is an option's _arguments spec, quoted for the shell.
func zshSpec(o option) string {
	short, long := "-"+o.short, "--"+o.long
	if o.arg != "" {
		short += "+" // -t TABLE or -tTABLE
		long += "="  // --table TABLE or --table=TABLE
	}
	if o.optionalArg {
		short, long = "-"+o.short+"+", "--"+o.long+"=-"
	}
	action := ""
	switch {
	case o.arg == "":
	case o.arg == "FILE":
		action = ":" + o.arg + ":_files"
	case argValues[o.arg] != nil:
		action = ":" + o.arg + ":(" + strings.Join(argValues[o.arg], " ") + ")"
	default:
		action = ":" + o.arg + ": "
	}
	if o.optionalArg {
		action = ":" + action
	}
	desc := "[" + zshDesc(o.usage) + "]"
	if o.short == "" {
		spec := long + desc + action
		if o.repeatable {
			spec = "*" + spec
		}
		return shellQuote(spec)
	}
	prefix := "(-" + o.short + " --" + o.long + ")"
	if o.long == "help" || o.long == "version" {
		prefix = "(- *)"
	}
	if o.repeatable {
		prefix = "*"
	}
	return shellQuote(prefix) + "{" + shellQuote(short) + "," + shellQuote(long) + "}" + shellQuote(desc+action)
}
