package main

import (
	"context"
	"io"
	"time"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/xtables"
)

func familyFlags(fs *cmdFlags) (*bool, *bool) {
	v4 := fs.BoolP("ipv4", "4", false, "IPv4 tables (the default)")
	v6 := fs.BoolP("ipv6", "6", false, "IPv6 tables")
	return v4, v6
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

func runSave(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("save", "[-4|-6] [-t TABLE] [-c] [--backend BACKEND]",
		"Print the tables of this network namespace exactly as iptables-save prints\n"+
			"them, read from the kernel directly: on x_tables as iptables-legacy-save,\n"+
			"on nf_tables as iptables-nft-save 1.8.9 (its table order, built-in chains\n"+
			"it would create shown as ACCEPT [0:0]). A rule iptables-nft cannot read\n"+
			"(written with nft) is printed as a \"# hostwall:\" comment with its\n"+
			"expressions, where iptables-nft-save would skip the whole table.", stdout)
	v4, v6 := familyFlags(fs)
	table := fs.StringP("table", "t", "", "print only `TABLE`")
	counters := fs.BoolP("counters", "c", false, "print rule and policy counters as [packets:bytes]")
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
	warnings, err := h.Save(ctx, stdout, fam, *table, engine.SaveOptions{Counters: *counters, Now: time.Now()})
	warn(stderr, warnings)
	return err
}
