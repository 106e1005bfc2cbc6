package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
)

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("restore", "[-4|-6] [-n] [-c] [-w DURATION] [--backend BACKEND] [FILE]",
		"Load tables from FILE (or standard input) in iptables-restore format,\n"+
			"leaving the kernel as iptables-legacy-restore or iptables-nft-restore 1.8.9\n"+
			"would, for images without an iptables userland. Every table in the file\n"+
			"is checked before the first one is written; on nf_tables the whole file\n"+
			"is one transaction.", stdout)
	v4, v6 := familyFlags(fs)
	noflush := fs.Bool("n", false, "do not flush: keep the tables' other chains and rules (--noflush)")
	counters := fs.Bool("c", false, "set counters from the file (--counters)")
	wait := fs.Duration("w", 10*time.Second, "how long to wait for the xtables lock (x_tables only)")
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
	h, err := openHost(ctx, *backend, nil, []*xtables.Family{fam}, stderr)
	if err != nil {
		return err
	}
	defer h.Close()
	return h.Restore(ctx, fam, file, engine.RestoreOptions{NoFlush: *noflush, Counters: *counters, LockWait: *wait})
}

// readInput reads the one optional FILE argument, or standard input.
func readInput(args []string) (string, []byte, error) {
	switch len(args) {
	case 0:
		data, err := io.ReadAll(io.LimitReader(os.Stdin, maxInput+1))
		if err != nil {
			return "", nil, fmt.Errorf("read standard input: %w", err)
		}
		if len(data) > maxInput {
			return "", nil, fmt.Errorf("standard input is larger than %d bytes", maxInput)
		}
		return "<stdin>", data, nil
	case 1:
		data, err := readFileLimited(args[0])
		return args[0], data, err
	}
	return "", nil, usagef("at most one FILE")
}

// maxInput bounds a rules file: 64 MiB holds several hundred thousand
// rules, far past what the kernel takes in one table.
const maxInput = 64 << 20

func readFileLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxInput {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxInput)
	}
	return data, nil
}
