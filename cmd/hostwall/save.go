package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/hostwall/hostwall/xtables"
)

func familyFlags(fs interface {
	BoolVar(*bool, string, bool, string)
}) (*bool, *bool) {
	var v4, v6 bool
	fs.BoolVar(&v4, "4", false, "IPv4 tables (the default)")
	fs.BoolVar(&v6, "6", false, "IPv6 tables")
	return &v4, &v6
}

func pickFamily(v4, v6 bool) (*xtables.Family, error) {
	if v4 && v6 {
		return nil, usagef("-4 and -6 exclude each other")
	}
	if v6 {
		return xtables.IPv6, nil
	}
	return xtables.IPv4, nil
}

// tablesToRead returns the tables to print: the one asked for, or all
// that exist. It never names a table that does not exist yet, because
// reading one would make the kernel create it.
func tablesToRead(f *xtables.Family, only string) ([]string, error) {
	names, err := xtables.TableNames(f)
	if (errors.Is(err, xtables.ErrNoProc) || errors.Is(err, os.ErrPermission)) && only != "" {
		// In a bare image without /proc the user's -t is all we have;
		// iptables-save -t reads the table the same way.
		return []string{only}, nil
	}
	if err != nil {
		return nil, err
	}
	if only == "" {
		return names, nil
	}
	if !slices.Contains(names, only) {
		return nil, fmt.Errorf("%s table %q does not exist in this network namespace (hostwall does not create tables by reading them)", f, only)
	}
	return []string{only}, nil
}

func runSave(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("save", "[-4|-6] [-t TABLE] [-c]",
		"Print the tables of this network namespace exactly as iptables-legacy-save\n"+
			"and ip6tables-legacy-save print them, read from the kernel directly.", stdout)
	v4, v6 := familyFlags(fs)
	table := fs.String("t", "", "print only `TABLE`")
	counters := fs.Bool("c", false, "print rule counters as [packets:bytes]")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	fam, err := pickFamily(*v4, *v6)
	if err != nil {
		return err
	}
	return eachTable(ctx, fam, *table, func(t *xtables.Table) error {
		return xtables.Save(stdout, t, xtables.SaveOptions{Counters: *counters, Now: time.Now()})
	})
}

// eachTable reads the tables asked for (one, or all that exist) and
// hands each to fn. The socket is opened first, so that a missing
// capability is what gets reported.
func eachTable(ctx context.Context, fam *xtables.Family, only string, fn func(*xtables.Table) error) error {
	conn, err := xtables.Open(fam)
	if err != nil {
		return err
	}
	defer conn.Close()
	names, err := tablesToRead(fam, only)
	if err != nil {
		return err
	}
	for _, name := range names {
		t, err := conn.Read(ctx, name)
		if err != nil {
			return err
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	return nil
}
