package main

import (
	"context"
	"io"

	"github.com/hostwall/hostwall/xtables"
)

func runDump(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dump", "[-4|-6] [-t TABLE]",
		"Print every rule with the name, revision and payload bytes of its\n"+
			"matches and target, for debugging extensions hostwall cannot print.", stdout)
	v4, v6 := familyFlags(fs)
	table := fs.String("t", "", "dump only `TABLE`")
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
	return eachTable(ctx, fam, *table, func(t *xtables.Table) error { return xtables.Dump(stdout, t) })
}
