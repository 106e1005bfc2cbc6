package main

import (
	"context"
	"io"

	"github.com/hostwall/hostwall/xtables"
)

func runDump(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dump", "[-4|-6] [-t TABLE] [--backend BACKEND]",
		"Print every rule with what the kernel holds, for debugging what hostwall\n"+
			"cannot print: on x_tables the name, revision and payload bytes of its\n"+
			"matches and target; on nf_tables its handle and expressions (xt payloads\n"+
			"in hex), in every table of the family.", stdout)
	v4, v6 := familyFlags(fs)
	table := fs.StringP("table", "t", "", "dump only `TABLE`")
	backend := backendFlag(fs)
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
	h, err := openHost(ctx, *backend, nil, []*xtables.Family{fam}, stderr)
	if err != nil {
		return err
	}
	defer h.Close()
	return h.Dump(ctx, stdout, fam, *table)
}
