package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"

	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hostwall/hostwall/integration/nstest"
	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
)

// variant is one generated rule: "-A CHAIN OPTS" in TABLE.
type variant struct {
	table, chain, opts string
	seed               int // line of the seed it came from
}

func (v variant) line() string { return "-A " + v.chain + " " + v.opts }

// diffChains are the chains the differential test's tables declare.
var diffChains = map[string][]string{
	"filter": {"INPUT", "FORWARD", "OUTPUT"},
	"mangle": {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"},
	"nat":    {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
	"raw":    {"PREROUTING", "OUTPUT"},
}

// diffVariants derives rule variants from the seed corpus: the seed
// itself, every long option cut to each shorter prefix of at least two
// characters (getopt_long's abbreviations, valid or ambiguous),
// "--opt=value", a short option's argument attached, and "!" put before
// each option in turn. iptables decides which are valid.
func diffVariants(t *testing.T, path string) []variant {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var out []variant
	add := func(v variant) {
		if k := v.table + " " + v.line(); !seen[k] {
			seen[k] = true
			out = append(out, v)
		}
	}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.SplitN(line, " ", 3)
		table, chain, opts := f[0], f[1], f[2]
		toks := diffTokens(opts)
		mk := func(ts []string) variant {
			return variant{table: table, chain: chain, opts: strings.Join(ts, " "), seed: n + 1}
		}
		add(mk(toks))
		for i, tok := range toks {
			with := func(repl ...string) {
				ts := append(append(append([]string(nil), toks[:i]...), repl...), toks[i+1:]...)
				add(mk(ts))
			}
			if strings.HasPrefix(tok, "--") && len(tok) > 4 {
				for l := len(tok) - 1; l >= 4; l-- {
					if l < len(tok)-3 && l > 5 && l%2 == 1 {
						continue // keep the count modest: all short cuts, some long ones
					}
					with(tok[:l])
				}
				if i+1 < len(toks) && !strings.HasPrefix(toks[i+1], "-") && toks[i+1] != "!" {
					ts := append(append(append([]string(nil), toks[:i]...), tok+"="+toks[i+1]), toks[i+2:]...)
					add(mk(ts))
				}
			}
			if len(tok) == 2 && tok[0] == '-' && strings.IndexByte("sdpio", tok[1]) >= 0 && i+1 < len(toks) {
				ts := append(append(append([]string(nil), toks[:i]...), tok+toks[i+1]), toks[i+2:]...)
				add(mk(ts))
			}
			if strings.HasPrefix(tok, "-") && tok != "-j" && tok != "-m" && tok != "-g" && (i == 0 || toks[i-1] != "!") {
				with("!", tok)
			}
		}
	}
	return out
}

// diffTokens splits options as the seed file writes them: words, and
// double-quoted strings kept whole (quotes included).
func diffTokens(s string) []string {
	var out []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"') + 2
			out = append(out, s[:end])
			s = s[end:]
			continue
		}
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			end = len(s)
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}

// diffFile is a rules file with one table block holding vs.
func diffFile(table string, vs []variant) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%s\n", table)
	for _, c := range diffChains[table] {
		fmt.Fprintf(&b, ":%s ACCEPT [0:0]\n", c)
	}
	if table == "filter" {
		b.WriteString(":FWD - [0:0]\n")
	}
	for _, v := range vs {
		b.WriteString(v.line() + "\n")
	}
	b.WriteString("COMMIT\n")
	return b.Bytes()
}

// diffHeaderLines is how many lines diffFile writes before the rules.
func diffHeaderLines(table string) int {
	n := 1 + len(diffChains[table])
	if table == "filter" {
		n++
	}
	return n
}

var restoreLineRe = regexp.MustCompile(`line:? (\d+)`)

// TestDifferential runs the generated variants of every seed through
// iptables-legacy-restore 1.8.9 and through hostwall:
//
//   - each variant iptables-legacy-restore --test refuses, hostwall
//     refuses too, naming file:line;
//   - each it accepts, hostwall accepts;
//   - the accepted variants the kernel also takes, loaded by iptables in
//     one restore per table, are byte for byte the table hostwall builds
//     and encodes from the same file.
//
// Variants are checked in batches: one restore per table, and on a
// refusal the refused line is dropped and the rest run again; a kernel
// refusal (reported at COMMIT) is found by bisection.
func TestDifferential(t *testing.T) {
	nstest.Require(t)
	nstest.RequireTools(t, "iptables-legacy-restore", "ip6tables-legacy-restore")
	for _, fam := range []*xtables.Family{xtables.IPv4, xtables.IPv6} {
		suffix, tool := "v4", "iptables-legacy-restore"
		if fam == xtables.IPv6 {
			suffix, tool = "v6", "ip6tables-legacy-restore"
		}
		t.Run(suffix, func(t *testing.T) {
			start := time.Now()
			vs := diffVariants(t, "testdata/diff/seeds."+suffix)
			ns := nstest.Netns(t)
			hwNS := nstest.Netns(t)
			byTable := map[string][]variant{}
			var tables []string
			for _, v := range vs {
				if byTable[v.table] == nil {
					tables = append(tables, v.table)
				}
				byTable[v.table] = append(byTable[v.table], v)
			}
			var accepted, refused, kernelRefused, mismatched int
			for _, table := range tables {
				// Acceptance: drop refused lines one by one.
				ok, bad := diffAccept(t, ns, tool, table, byTable[table])
				refused += len(bad)
				accepted += len(ok)
				for _, v := range bad {
					if err := diffHostwall(t, ns, fam, table, []variant{v}, nil); err == nil {
						mismatched++
						t.Errorf("iptables refuses, hostwall accepts: %s %s (seed line %d)", table, v.line(), v.seed)
					} else if !strings.Contains(err.Error(), "diff.rules:") {
						t.Errorf("hostwall's error does not name file:line: %v", err)
					}
				}
				// What the kernel refuses (after iptables' parser took
				// it) hostwall may refuse earlier; the rest it must take.
				loadable := diffLoadable(t, ns, tool, table, ok)
				for _, v := range loadable {
					if err := diffHostwall(t, ns, fam, table, []variant{v}, nil); err != nil {
						mismatched++
						t.Errorf("iptables accepts, hostwall refuses: %s %s (seed line %d): %v", table, v.line(), v.seed, err)
					}
				}
				kernelRefused += len(ok) - len(loadable)
				if len(loadable) == 0 {
					continue
				}
				nstest.Run(t, ns, diffFile(table, loadable), tool)
				_, want := nstest.ReadRaw(t, ns, fam, table)
				var got []byte
				if err := diffHostwall(t, hwNS, fam, table, loadable, &got); err != nil {
					t.Errorf("hostwall refuses the accepted set of %s: %v", table, err)
					continue
				}
				if !bytes.Equal(got, want) {
					// Find the variant: the first rule whose bytes differ.
					for _, v := range loadable {
						nstest.Run(t, ns, diffFile(table, []variant{v}), tool)
						_, w := nstest.ReadRaw(t, ns, fam, table)
						var g []byte
						if diffHostwall(t, hwNS, fam, table, []variant{v}, &g) == nil && !bytes.Equal(g, w) {
							mismatched++
							t.Errorf("kernel bytes differ at byte %d: %s %s (seed line %d)", diffAt(g, w), table, v.line(), v.seed)
						}
					}
				}
			}
			t.Logf("%d variants: %d accepted by iptables (%d of them refused by the kernel), %d refused; %d mismatches; %v",
				len(vs), accepted, kernelRefused, refused, mismatched, time.Since(start).Round(time.Millisecond))
		})
	}
}

// diffAccept splits vs into what iptables-restore --test accepts and
// refuses, by running the batch and dropping the line it names.
func diffAccept(t *testing.T, ns, tool, table string, vs []variant) (ok, bad []variant) {
	rest := append([]variant(nil), vs...)
	for len(rest) > 0 {
		_, err := nstest.Try(ns, diffFile(table, rest), tool, "--test")
		if err == nil {
			return append(ok, rest...), bad
		}
		m := restoreLineRe.FindStringSubmatch(err.Error())
		if m == nil {
			t.Fatalf("%s --test: no line in %v", tool, err)
		}
		n, _ := strconv.Atoi(m[1])
		i := n - diffHeaderLines(table) - 1
		if i < 0 || i >= len(rest) {
			t.Fatalf("%s --test: line %d outside the rules: %v", tool, n, err)
		}
		ok = append(ok, rest[:i]...)
		bad = append(bad, rest[i])
		rest = rest[i+1:]
	}
	return ok, bad
}

// diffLoadable is the part of vs the kernel takes, found by bisection.
func diffLoadable(t *testing.T, ns, tool, table string, vs []variant) []variant {
	if len(vs) == 0 {
		return nil
	}
	if _, err := nstest.Try(ns, diffFile(table, vs), tool); err == nil {
		return vs
	}
	if len(vs) == 1 {
		return nil
	}
	h := len(vs) / 2
	return append(diffLoadable(t, ns, tool, table, vs[:h]), diffLoadable(t, ns, tool, table, vs[h:])...)
}

// diffHostwall parses and builds vs as hostwall does, with the
// kernel's revisions; with blob set it also encodes the table.
func diffHostwall(t *testing.T, ns string, fam *xtables.Family, table string, vs []variant, blob *[]byte) error {
	file, err := policy.Parse("diff.rules", diffFile(table, vs))
	if err != nil {
		return err
	}
	var berr error
	nstest.InNetns(t, ns, func() {
		conn, err := xtables.Open(fam)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		tbl, err := policy.Build(file.Tables[0], policy.BuildOptions{
			Family: fam,
			Supported: func(k ext.Kind, name string, rev uint8) (bool, error) {
				return conn.Revision(k == ext.Target, name, rev)
			},
		})
		if err != nil {
			berr = err
			return
		}
		if blob != nil {
			// Through the kernel, which fills in comefrom as it did
			// for iptables' table.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if berr = conn.Restore(ctx, tbl); berr != nil {
				return
			}
			_, *blob, berr = conn.ReadRaw(ctx, table)
		}
	})
	return berr
}
