package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
)

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("restore", "[-4|-6] [-n] [-c] [-w DURATION] [FILE]",
		"Load tables from FILE (or standard input) in iptables-restore format, as\n"+
			"iptables-legacy-restore does, for images without an iptables userland.\n"+
			"Every table in the file is checked before the first one is written.", stdout)
	v4, v6 := familyFlags(fs)
	noflush := fs.Bool("n", false, "do not flush: keep the tables' other chains and rules (--noflush)")
	counters := fs.Bool("c", false, "set counters from the file (--counters)")
	wait := fs.Duration("w", 10*time.Second, "how long to wait for the xtables lock")
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
	lockCtx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()
	lock, err := xtables.AcquireLock(lockCtx, xtables.LockFile())
	if err != nil {
		return err
	}
	defer lock.Release()
	conn, err := xtables.Open(fam)
	if err != nil {
		return err
	}
	defer conn.Close()
	existing, err := xtables.TableNames(fam)
	if err != nil {
		return err
	}
	supported := func(k ext.Kind, n string, rev uint8) (bool, error) { return conn.Revision(k == ext.Target, n, rev) }
	// Build every table first: a mistake anywhere in the file leaves
	// the kernel untouched.
	var tables []*xtables.Table
	for _, b := range file.Tables {
		var base *xtables.Table
		if slices.Contains(existing, b.Table) {
			if base, err = conn.Read(ctx, b.Table); err != nil {
				return err
			}
		}
		t, err := policy.Build(b, policy.BuildOptions{Family: fam, Base: base, NoFlush: *noflush, Counters: *counters, Supported: supported})
		if err != nil {
			return err
		}
		tables = append(tables, t)
	}
	for _, t := range tables {
		if err := conn.Restore(ctx, t); err != nil {
			return fmt.Errorf("write table %s: %w", t.Name, err)
		}
	}
	return nil
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
