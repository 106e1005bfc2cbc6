package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// cmdFlags is a command's GNU-style option set (pflag: -x and --long,
// --opt=value, -abc clusters, options after operands, "--" ends them)
// with the command's help text.
type cmdFlags struct {
	*pflag.FlagSet
	name, synopsis, description string
	stdout                      io.Writer
	help, version               *bool
}

// newFlags makes a command's option set. -h/--help prints the help to
// stdout, -V/--version the version; mistakes are reported once, as
// usage errors.
func newFlags(name, synopsis, description string, stdout io.Writer) *cmdFlags {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // pflag would print it on every mistake
	fs.SortFlags = false
	c := &cmdFlags{FlagSet: fs, name: name, synopsis: synopsis, description: description, stdout: stdout}
	c.help = fs.BoolP("help", "h", false, "print this help and exit")
	c.version = fs.BoolP("version", "V", false, "print hostwall's version, commit and Go version, and exit")
	return c
}

// errHelpShown ends a command after -h or -V printed what was asked:
// exit status 0.
var errHelpShown = errors.New("help shown")

// parseFlags parses args; on -h or -V it prints and returns errHelpShown.
func parseFlags(fs *cmdFlags, args []string) error {
	if c, ok := fs.stdout.(*flagCollector); ok { // generate.go reads the options
		c.fs = fs
		return errHelpShown
	}
	if err := fs.Parse(joinOptionalArgs(fs.FlagSet, args)); err != nil {
		return usagef("%s", explainFlagError(fs.FlagSet, args, err))
	}
	switch {
	case *fs.help:
		fs.printHelp()
		return errHelpShown
	case *fs.version:
		printVersion(fs.stdout)
		return errHelpShown
	}
	return nil
}

// explainFlagError adds a hint to pflag's message where the mistake is
// an old single-dash long option (-dry-run, -chain NAME).
func explainFlagError(fs *pflag.FlagSet, args []string, err error) string {
	for _, a := range args {
		if a == "--" {
			break
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if len(name) > 1 && fs.Lookup(name) != nil {
				return fmt.Sprintf("%s: long options take two dashes: -%s", a, a)
			}
		}
	}
	return err.Error()
}

// joinOptionalArgs lets an option whose argument is optional (-w
// [SECONDS], as iptables' -w) take a number as the next word, as
// iptables does: "-w 5", "-w5" and "--wait 5" become "-w=5" and
// "--wait=5", the forms pflag reads as an optional argument; "-w"
// followed by anything else stays an option without its argument.
func joinOptionalArgs(fs *pflag.FlagSet, args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(append(out, a), args[i+1:]...)
		}
		next := ""
		if i+1 < len(args) && secondsRE.MatchString(args[i+1]) {
			next = args[i+1]
		}
		switch {
		case strings.HasPrefix(a, "--"):
			if f := fs.Lookup(a[2:]); f != nil && f.NoOptDefVal != "" && f.Value.Type() != "bool" && next != "" {
				a += "=" + next
				i++
			}
		case len(a) > 1 && a[0] == '-':
			// A cluster of shorthands: booleans, then perhaps the
			// optional-argument one, then perhaps its number.
			for j := 1; j < len(a); j++ {
				f := fs.ShorthandLookup(a[j : j+1])
				if f == nil || f.NoOptDefVal == "" {
					break // unknown, or its argument follows: pflag's
				}
				if f.Value.Type() == "bool" {
					continue
				}
				switch rest := a[j+1:]; {
				case rest == "" && next != "":
					a += "=" + next
					i++
				case rest != "" && secondsRE.MatchString(rest):
					a = a[:j+1] + "=" + rest
				}
				break
			}
		}
		out = append(out, a)
	}
	return out
}

// secondsRE is a number of seconds as iptables' -w takes it (hostwall
// also takes a fraction).
var secondsRE = regexp.MustCompile(`^[0-9]+(\.[0-9]*)?$`)

// printHelp prints the command's usage, description and options.
func (fs *cmdFlags) printHelp() {
	w := fs.stdout
	fmt.Fprintf(w, "Usage: hostwall %s %s\n\n%s\n\nOptions:\n", fs.name, fs.synopsis, fs.description)
	type row struct{ left, usage string }
	var rows, last []row
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return // internal plumbing, never in --help
		}
		left := "    "
		if f.Shorthand != "" {
			left = "-" + f.Shorthand + ", "
		}
		left += "--" + f.Name
		varname, usage := pflag.UnquoteUsage(f)
		if f.Value.Type() == "bool" {
			varname = ""
		}
		switch {
		case f.NoOptDefVal != "" && varname != "":
			left += "[=" + varname + "]"
		case varname != "":
			left += " " + varname
		}
		if f.Name == "help" || f.Name == "version" {
			last = append(last, row{left, usage})
		} else {
			rows = append(rows, row{left, usage})
		}
		width = max(width, len(left))
	})
	for _, r := range append(rows, last...) {
		lines := strings.Split(r.usage, "\n")
		fmt.Fprintf(w, "  %-*s  %s\n", width, r.left, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(w, "  %-*s  %s\n", width, "", l)
		}
	}
}

// waitValue is -w/--wait [SECONDS]: how long to wait for the xtables
// lock. As iptables: a number of seconds; without one, as long as it
// takes (until the lock is free or hostwall is interrupted). Unlike
// iptables, not giving -w waits defaultWait rather than not at all.
type waitValue struct{ d time.Duration }

// defaultWait is the lock wait without -w.
const defaultWait = 10 * time.Second

// waitForever is what -w without a number waits: as long as a process
// may (iptables' -w without a number).
const waitForever = time.Duration(math.MaxInt64)

// waitNoArg is the NoOptDefVal of -w: the value pflag sets when -w
// comes without a number.
const waitNoArg = "forever"

func (w *waitValue) String() string {
	if w.d == waitForever {
		return waitNoArg
	}
	return strconv.FormatFloat(w.d.Seconds(), 'f', -1, 64)
}

func (w *waitValue) Set(s string) error {
	if s == waitNoArg {
		w.d = waitForever
		return nil
	}
	if secondsRE.MatchString(s) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f > float64(waitForever/time.Second) {
			return fmt.Errorf("%q is not a number of seconds", s)
		}
		w.d = time.Duration(f * float64(time.Second))
		return nil
	}
	// hostwall's earlier -w took Go durations (10s, 1m30s): still taken.
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("%q is not a number of seconds", s)
	}
	w.d = d
	return nil
}

func (w *waitValue) Type() string { return "seconds" }

// waitFlag registers -w/--wait [SECONDS] on a command that takes the
// xtables lock.
func waitFlag(fs *cmdFlags, what string) *waitValue {
	w := &waitValue{d: defaultWait}
	f := fs.VarPF(w, "wait", "w", "wait up to `SECONDS` for the xtables lock"+what+";\nwithout SECONDS as long as it takes (as iptables -w);\nwithout -w, 10 seconds")
	f.NoOptDefVal = waitNoArg
	return w
}
