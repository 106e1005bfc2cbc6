// Command hostwall keeps a host's firewall in one dedicated chain
// (FILTERS), hooked from INPUT and DOCKER-USER, and changes nothing else.
// It talks to the kernel directly and runs no other program.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"apply", "make the owned chains and their hooks what the rules files say", runApply},
	{"check", "validate rules files offline, without root", runCheck},
	{"save", "print tables as iptables-save does", runSave},
	{"restore", "load tables from an iptables-restore file", runRestore},
	{"dump", "print tables with the kernel bytes of every match and target", runDump},
}

const mainUsage = `Usage: hostwall COMMAND [OPTIONS]

hostwall keeps a host firewall in one chain of its own (FILTERS in the
filter table, hooked from INPUT and DOCKER-USER) and leaves every other
chain, rule and counter as Docker, Kubernetes and others wrote them.
It talks to the kernel's x_tables directly; no iptables binary is needed.

Commands:
`

func usage(w io.Writer) {
	fmt.Fprint(w, mainUsage)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'hostwall COMMAND -h' for the options of a command.\n")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		var ue *usageError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "hostwall %s: %v\nRun 'hostwall %s -h' for help.\n", c.name, err, c.name)
			return 2
		default:
			fmt.Fprintf(stderr, "hostwall %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "hostwall: unknown command %q\nRun 'hostwall --help' for the list.\n", args[0])
	return 2
}

// cmdFlags is a command's flag set with its help text.
type cmdFlags struct {
	*flag.FlagSet
	help func()
}

// newFlags makes a FlagSet whose -h prints the command's help to stdout
// and whose mistakes are reported once, as usage errors.
func newFlags(name, synopsis, description string, stdout io.Writer) *cmdFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // the flag package would print it on every mistake
	help := func() {
		fmt.Fprintf(stdout, "Usage: hostwall %s %s\n\n%s\n\nOptions:\n", name, synopsis, description)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return &cmdFlags{FlagSet: fs, help: help}
}

func parseFlags(fs *cmdFlags, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.help()
			return err
		}
		return usagef("%v", err)
	}
	return nil
}
