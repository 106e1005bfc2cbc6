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
	fam, err := pickFamily(*v4, *v6)
	if err != nil {
		return err
	}
	names, err := tablesToRead(fam, *table)
	if err != nil {
		return err
	}
	conn, err := xtables.Open(fam)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, name := range names {
		t, err := conn.Read(ctx, name)
		if err != nil {
			return err
		}
		if err := xtables.Dump(stdout, t); err != nil {
			return err
		}
	}
	return nil
}
