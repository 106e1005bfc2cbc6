package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
)

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("restore", "[-4|-6] [-n] [-c] [-t] [-T TABLE] [-w [SECONDS]] [--backend BACKEND] [FILE|-]",
		"Load tables from FILE (or standard input: no FILE, or -) in iptables-restore\n"+
			"format, leaving the kernel as iptables-legacy-restore or iptables-nft-restore\n"+
			"1.8.9 would, for images without an iptables userland. The options are\n"+
			"iptables-restore's. Every table in the file is checked before the first\n"+
			"one is written; on nf_tables the whole file is one transaction.", stdout)
	v4, v6 := familyFlags(fs)
	noflush := fs.BoolP("noflush", "n", false, "do not flush: keep the tables' other chains and rules")
	counters := fs.BoolP("counters", "c", false, "set rule and policy counters from the file")
	test := fs.BoolP("test", "t", false, "only check: parse and build every table, write nothing")
	table := fs.StringP("table", "T", "", "restore only `TABLE` of the file")
	wait := waitFlag(fs, " (x_tables only)")
	backend := backendFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fam, err := pickFamily(*v4, *v6)
	if err != nil {
		return err
	}
	name, data, err := readInput(fs.Args())
	if err != nil {
		return err
	}
	file, err := policy.Parse(name, data)
	if err != nil {
		return err
	}
	if *table != "" {
		var only []*policy.Block
		for _, b := range file.Tables {
			if b.Table == *table {
				only = append(only, b)
			}
		}
		if len(only) == 0 {
			return fmt.Errorf("%s has no table %s", name, *table)
		}
		file.Tables = only
	}
	h, err := openHost(ctx, *backend, nil, []*xtables.Family{fam}, stderr)
	if err != nil {
		return err
	}
	defer h.Close()
	return h.Restore(ctx, fam, file, engine.RestoreOptions{NoFlush: *noflush, Counters: *counters, Test: *test, LockWait: wait.lockWait()})
}

// readInput reads the one optional FILE operand, or standard input when
// there is none or it is "-".
func readInput(args []string) (string, []byte, error) {
	switch len(args) {
	case 0:
		return readNamed("-")
	case 1:
		return readNamed(args[0])
	}
	return "", nil, usagef("at most one FILE")
}

// readNamed reads a rules file, or standard input for "-", and returns
// the name to give it in messages.
func readNamed(path string) (string, []byte, error) {
	if path != "-" {
		data, err := readFileLimited(path)
		return path, data, err
	}
	data, err := io.ReadAll(io.LimitReader(stdin, maxInput+1))
	if err != nil {
		return "", nil, fmt.Errorf("read standard input: %w", err)
	}
	if len(data) > maxInput {
		return "", nil, fmt.Errorf("standard input is larger than %d bytes", maxInput)
	}
	return stdinName, data, nil
}

// maxInput bounds a rules file: 64 MiB holds several hundred thousand
// rules, far past what the kernel takes in one table.
const maxInput = 64 << 20

func readFileLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError: "open PATH: …"
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxInput+1))
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, err // "read PATH: …" already
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxInput {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxInput)
	}
	return data, nil
}
