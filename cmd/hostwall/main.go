// Command hostwall keeps a host's firewall in one dedicated chain
// (FILTERS), hooked from INPUT and DOCKER-USER, and changes nothing else.
// It talks to the kernel directly and runs no other program.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Exit statuses: apply --detailed-exitcode tells a write (3) from no
// change (0); 1 and 2 always mean an error and a usage mistake.
const (
	exitOK      = 0
	exitError   = 1
	exitUsage   = 2
	exitChanged = 3
)

// errChanged ends apply --detailed-exitcode when something was (or,
// with --dry-run, would be) written: exit status 3.
var errChanged = errors.New("changed")

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
	{"watch", "apply, then keep applying as files, kernel and interfaces change", runWatch},
	{"status", "print the watcher's state and the counters of every owned rule", runStatus},
	{"confirm", "keep the rules of a pending apply --confirm", runConfirm},
}

const mainUsage = `Usage: hostwall COMMAND [OPTIONS]
       hostwall --version | --help

hostwall keeps a host firewall in one chain of its own (FILTERS in the
filter table, hooked from INPUT and DOCKER-USER) and leaves every other
chain, rule and counter as Docker, Kubernetes and others wrote them.
It talks to the kernel directly (nf_tables as iptables-nft writes it, or
x_tables as iptables-legacy does); no iptables binary is needed.

Commands:
`

func usage(w io.Writer) {
	fmt.Fprint(w, mainUsage)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'hostwall COMMAND --help' for the options of a command.\n"+
		"Exit status: 0 success, 1 error, 2 usage mistake; apply --detailed-exitcode:\n"+
		"3 when something was written; 130 (SIGINT), 143 (SIGTERM): stopped before writing.\n")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		if len(args) > 1 && args[0] == "help" {
			return run([]string{args[1], "--help"}, stdout, stderr)
		}
		usage(stdout)
		return exitOK
	case "-V", "--version", "version":
		printVersion(stdout)
		return exitOK
	case generateCommand: // hidden: man page and completions (generate.go)
		var ue *usageError
		switch err := runGenerate(args[1:], stdout); {
		case err == nil, errors.Is(err, errHelpShown):
			return exitOK
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "hostwall %s: %v\n", generateCommand, err)
			return exitUsage
		default:
			fmt.Fprintf(stderr, "hostwall %s: %v\n", generateCommand, err)
			return exitError
		}
	}
	ctx, stop := signalContext() // signals.go
	defer stop()
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		var ue *usageError
		switch {
		case err == nil, errors.Is(err, errHelpShown):
			return exitOK
		case errors.Is(err, errChanged):
			return exitChanged
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "hostwall %s: %v\nRun 'hostwall %s --help' for help.\n", c.name, err, c.name)
			return exitUsage
		default:
			fmt.Fprintf(stderr, "hostwall %s: %v\n", c.name, err)
			if code, ok := signalStatus(ctx); ok {
				return code // 130 for SIGINT, 143 for SIGTERM
			}
			return exitError
		}
	}
	if len(args[0]) > 0 && args[0][0] == '-' {
		fmt.Fprintf(stderr, "hostwall: %s: give the command first (hostwall COMMAND [OPTIONS])\nRun 'hostwall --help' for the list.\n", args[0])
		return exitUsage
	}
	fmt.Fprintf(stderr, "hostwall: unknown command %q\nRun 'hostwall --help' for the list.\n", args[0])
	return exitUsage
}
