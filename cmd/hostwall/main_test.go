package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/xtables"
)

// cli runs hostwall in-process and returns its output and exit status.
func cli(args ...string) (string, string, int) {
	return cliStdin("", args...)
}

// cliStdin is cli with standard input.
func cliStdin(in string, args ...string) (string, string, int) {
	defer func(r io.Reader) { stdin = r }(stdin)
	stdin = strings.NewReader(in)
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestUsageAndHelp(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{nil, 2, "", "Usage: hostwall COMMAND"},
		{[]string{"--help"}, 0, "Commands:", ""},
		{[]string{"bogus"}, 2, "", `unknown command "bogus"`},
		{[]string{"apply", "-h"}, 0, "Usage: hostwall apply", ""},
		{[]string{"save", "--nope"}, 2, "", "unknown flag: --nope"},
		{[]string{"save", "-4", "-6"}, 2, "", "-4 and -6 exclude each other"},
		{[]string{"check", "-4", "/nonexistent/rules.v4"}, 1, "", "no such file"},
		{[]string{"restore", "a", "b"}, 2, "", "at most one FILE"},
	} {
		out, errOut, code := cli(c.args...)
		if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(errOut, c.err) {
			t.Errorf("hostwall %v: exit %d, stdout %q, stderr %q; want exit %d, %q, %q", c.args, code, out, errOut, c.code, c.out, c.err)
		}
	}
}

// TestCheckOffline: check needs neither root nor the kernel; it reports
// what apply would manage and names file:line:column on errors.
func TestCheckOffline(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "rules.v4")
	os.WriteFile(good, []byte("*filter\n:INPUT ACCEPT [0:0]\n:FILTERS - [0:0]\n-A INPUT -j FILTERS\n-A FILTERS -p tcp --dport 22 -j ACCEPT\n-A OUTPUT -j ACCEPT\nCOMMIT\n"), 0o644)
	out, errOut, code := cli("check", "-4", good)
	if code != 0 || !strings.Contains(out, "chain FILTERS, 1 rules") || !strings.Contains(out, "hook -A INPUT -j FILTERS") || !strings.Contains(out, "-A OUTPUT -j ACCEPT") {
		t.Errorf("check good file: exit %d\n%s%s", code, out, errOut)
	}
	bad := filepath.Join(dir, "bad.v4")
	os.WriteFile(bad, []byte("*filter\n:INPUT ACCEPT [0:0]\n:FILTERS - [0:0]\n-A FILTERS -p tcp --dport 22x -j ACCEPT\nCOMMIT\n"), 0o644)
	_, errOut, code = cli("check", "-4", bad)
	if code != 1 || !strings.Contains(errOut, bad+":4:19:") {
		t.Errorf("check bad file: exit %d, stderr %q", code, errOut)
	}
}

// seedV4 is a small policy: FILTERS, hooked from INPUT, and lines
// hostwall does not manage.
const seedV4 = "*filter\n:INPUT ACCEPT [0:0]\n:FILTERS - [0:0]\n-A INPUT -j FILTERS\n-A FILTERS -p tcp --dport 22 -j ACCEPT\n-A OUTPUT -j ACCEPT\nCOMMIT\n"

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestGNUOptions: every command takes GNU-style options with iptables'
// names; a command's options all parse (the run then stops at the
// unknown backend, after reading the file, before touching the kernel);
// an old single-dash long option gets a hint.
func TestGNUOptions(t *testing.T) {
	pol := writeFile(t, "rules.v4", seedV4)
	for _, args := range [][]string{
		{"apply", "--ipv4", pol, "--chain", "FILTERS", "--dry-run", "-w", "5", "--backend", "bogus"},
		{"apply", "-4", pol, "--chain=FILTERS", "--wait=5", "--backend=bogus", "--detailed-exitcode", "-v"},
		{"apply", "-4", pol, "-w", "--backend", "bogus", "-q"},
		{"apply", "-4", pol, "--json", "--backend", "bogus"},
		{"restore", "--noflush", "--counters", "--test", "--table", "filter", "--wait", "5", "--backend", "bogus", pol},
		{"restore", "-n", "-c", "-t", "-T", "filter", "-w", "5", pol, "--backend", "bogus"},
		{"restore", "-nctw", "5", "-Tfilter", "--backend", "bogus", pol},
		{"restore", "-4", "--backend", "bogus", "--", pol},
		{"save", "-4", "--table", "filter", "--counters", "--backend", "bogus"},
		{"save", "-6", "-t", "nat", "-c", "--backend", "bogus"},
		{"dump", "--ipv6", "--table=raw", "--backend", "bogus"},
	} {
		out, errOut, code := cli(args...)
		if code != 2 || !strings.Contains(errOut, `unknown backend "bogus"`) || out != "" {
			t.Errorf("hostwall %q: exit %d, stdout %q, stderr %q; want every option taken and exit 2 for the backend", args, code, out, errOut)
		}
	}
	for _, c := range []struct {
		args []string
		err  string
	}{
		{[]string{"apply", "-dry-run"}, "-dry-run: long options take two dashes: --dry-run"},
		{[]string{"check", "-4", pol, "-chain", "X"}, "-chain: long options take two dashes: --chain"},
		{[]string{"save", "-backend", "nft"}, "-backend: long options take two dashes: --backend"},
		{[]string{"restore", "--nope"}, "unknown flag: --nope"},
		{[]string{"apply", "-w", "soon"}, `unexpected argument "soon"`},
		{[]string{"apply", "--wait=soon"}, `"soon" is not a number of seconds`},
		{[]string{"apply", "-q", "-v", "-4", pol}, "-q and -v exclude each other"},
		{[]string{"apply", "-q", "--json", "-4", pol}, "--json and -q exclude each other"},
		{[]string{"apply", "-4", "-", "-6", "-"}, "standard input can be only one of the files"},
		{[]string{"--backend", "nft", "save"}, "--backend: give the command first"},
	} {
		out, errOut, code := cli(c.args...)
		if code != 2 || !strings.Contains(errOut, c.err) || out != "" {
			t.Errorf("hostwall %q: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, errOut, c.err)
		}
	}
}

// TestWaitOption: -w/--wait [SECONDS] reads as iptables' -w: a number
// of seconds, in the next word too; alone, as long as it takes; never
// taking a FILE operand for its number.
func TestWaitOption(t *testing.T) {
	for _, c := range []struct {
		args []string
		want time.Duration
		rest []string
	}{
		{nil, 10 * time.Second, nil},
		{[]string{"-w", "5"}, 5 * time.Second, nil},
		{[]string{"-w5"}, 5 * time.Second, nil},
		{[]string{"-w=5"}, 5 * time.Second, nil},
		{[]string{"--wait", "5"}, 5 * time.Second, nil},
		{[]string{"--wait=0.5"}, 500 * time.Millisecond, nil},
		{[]string{"-w", "0"}, 0, nil},
		{[]string{"-nw", "3", "FILE"}, 3 * time.Second, []string{"FILE"}},
		{[]string{"-w", "FILE"}, waitForever, []string{"FILE"}},
		{[]string{"FILE", "-w"}, waitForever, []string{"FILE"}},
		{[]string{"--wait", "--", "5"}, waitForever, []string{"5"}},
		{[]string{"-w", "1m30s"}, waitForever, []string{"1m30s"}},
		{[]string{"-w=1m30s"}, 90 * time.Second, nil},
	} {
		fs := newFlags("restore", "", "", io.Discard)
		fs.BoolP("noflush", "n", false, "")
		w := waitFlag(fs, "")
		if err := parseFlags(fs, c.args); err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if w.d != c.want || !slices.Equal(fs.Args(), c.rest) {
			t.Errorf("%q: wait %v, operands %q; want %v, %q", c.args, w.d, fs.Args(), c.want, c.rest)
		}
	}
}

// TestStdin: "-" as a rules file reads standard input, named <stdin>
// in what is printed and in errors.
func TestStdin(t *testing.T) {
	out, errOut, code := cliStdin(seedV4, "check", "-4", "-")
	if code != 0 || !strings.Contains(out, "<stdin>: IPv4 table filter: chain FILTERS, 1 rules") || !strings.Contains(out, "<stdin>:4:1: IPv4 table filter: hook -A INPUT -j FILTERS") {
		t.Errorf("check -4 -: exit %d\n%s%s", code, out, errOut)
	}
	bad := strings.Replace(seedV4, "--dport 22", "--dport 22x", 1)
	if _, errOut, code := cliStdin(bad, "check", "--ipv6", "-"); code != 1 || !strings.Contains(errOut, "<stdin>:5:") {
		t.Errorf("check --ipv6 - of a bad file: exit %d, stderr %q", code, errOut)
	}
}

// TestVersion: --version says hostwall's version, its commit and the
// Go version, at the top and on every command.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-V"}, {"apply", "--version"}, {"restore", "-V"}} {
		out, errOut, code := cli(args...)
		if code != 0 || !strings.HasPrefix(out, "hostwall ") || !strings.Contains(out, "\ncommit ") || !strings.Contains(out, "built with go1.") || errOut != "" {
			t.Errorf("hostwall %q: exit %d\n%s%s", args, code, out, errOut)
		}
	}
}

// TestVersionCommit: a binary built by go build in the work tree (VCS
// stamping on, -trimpath) names the commit it was built from.
func TestVersionCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hostwall")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD (the tests run in a clone): %v", err)
	}
	bin := filepath.Join(t.TempDir(), "hostwall")
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=true", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "\ncommit " + strings.TrimSpace(string(head))
	if !strings.Contains(string(out), want) || !regexp.MustCompile(`(?m)^hostwall v\S+$`).Match(out) {
		t.Errorf("--version of a VCS-stamped build:\n%s\nwant a module version and %q", out, want)
	}
}

// TestChainPerFamily: --chain4 and --chain6 own a chain in one family,
// --chain in both; FILTERS only where none is given.
func TestChainPerFamily(t *testing.T) {
	v4 := writeFile(t, "rules.v4", "*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n:C - [0:0]\n-A INPUT -j A\n-A INPUT -j C\nCOMMIT\n")
	v6 := writeFile(t, "rules.v6", "*filter\n:INPUT ACCEPT [0:0]\n:B - [0:0]\n:C - [0:0]\n-A INPUT -j B\n-A INPUT -j C\nCOMMIT\n")
	out, errOut, code := cli("check", "-4", v4, "-6", v6, "--chain4", "A", "--chain6", "B", "--chain", "C")
	for _, want := range []string{"IPv4 table filter: chain A,", "IPv4 table filter: chain C,", "IPv6 table filter: chain B,", "IPv6 table filter: chain C,"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("check with per-family chains: exit %d, no %q in\n%s%s", code, want, out, errOut)
		}
	}
	if _, errOut, code := cli("check", "-4", v4, "-6", v6, "--chain4", "A"); code != 1 || !strings.Contains(errOut, "owned chain FILTERS is not declared") || !strings.Contains(errOut, v6) {
		t.Errorf("IPv6 without a --chain6 owns FILTERS: exit %d, stderr %q", code, errOut)
	}
}

// TestCheckSummary: check lists at most 10 unmanaged lines, then
// "… N more"; -v lists all; -q prints nothing.
func TestCheckSummary(t *testing.T) {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FILTERS - [0:0]\n-A INPUT -j FILTERS\n")
	for i := range 30 {
		fmt.Fprintf(&b, "-A OUTPUT -d 10.0.0.%d -j ACCEPT\n", i)
	}
	b.WriteString("COMMIT\n")
	pol := writeFile(t, "rules.v4", b.String())
	out, _, code := cli("check", "-4", pol)
	if code != 0 || strings.Count(out, "-A OUTPUT") != 9 || !strings.Contains(out, "… 21 more (-v prints all)") {
		t.Errorf("check, summarised: exit %d\n%s", code, out)
	}
	out, _, code = cli("check", "-v", "-4", pol)
	if code != 0 || strings.Count(out, "-A OUTPUT") != 30 || strings.Contains(out, "more") {
		t.Errorf("check -v: exit %d\n%s", code, out)
	}
	if out, errOut, code := cli("check", "--quiet", "-4", pol); code != 0 || out != "" || errOut != "" {
		t.Errorf("check -q: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// fakeReport is the report of an apply that wrote n owned rules.
func fakeReport(n, attempts int) *engine.Report {
	p := &engine.Plan{Current: &xtables.Table{Name: "filter"}, Next: &xtables.Table{Name: "filter", Chains: []*xtables.Chain{xtables.NewUserChain("FILTERS")}}, Added: n}
	p.Diff = append(p.Diff, "+ -N FILTERS")
	p.ChainsCreated = []string{"FILTERS"}
	for i := range n {
		p.Diff = append(p.Diff, fmt.Sprintf("+ -A FILTERS -s 10.%d.%d.%d -j DROP", i>>16, i>>8&255, i&255))
	}
	return &engine.Report{Family: xtables.IPv4, Tables: []*engine.TableReport{{Table: "filter", Plan: p, Written: true, Attempts: attempts}}}
}

// TestReportSummary: a large apply prints a few lines, not one per rule;
// -v prints them all; "planned again" reads right.
func TestReportSummary(t *testing.T) {
	var b strings.Builder
	printReport(&b, fakeReport(200000, 1), false, summaryLines)
	if lines := strings.Count(b.String(), "\n"); lines != 12 || !strings.Contains(b.String(), "IPv4 filter: written: owned rules +200000 -0, hooks +0 -0, chains created FILTERS, 0 counters kept\n") ||
		!strings.HasSuffix(b.String(), "  … 199991 more (-v prints all)\n") {
		t.Errorf("summarised report of %d lines:\n%s", lines, b.String())
	}
	b.Reset()
	printReport(&b, fakeReport(200000, 1), false, math.MaxInt)
	if lines := strings.Count(b.String(), "\n"); lines != 200002 {
		t.Errorf("verbose report: %d lines, want 200002", lines)
	}
	b.Reset()
	printReport(&b, fakeReport(10, 1), false, summaryLines) // 11 diff lines: all shown
	if strings.Contains(b.String(), "more") || strings.Count(b.String(), "\n") != 12 {
		t.Errorf("report of 11 diff lines:\n%s", b.String())
	}
	for attempts, want := range map[int]string{2: "(planned again once: another writer got in)", 4: "(planned again 3 times: other writers got in)"} {
		b.Reset()
		printReport(&b, fakeReport(1, attempts), false, summaryLines)
		if !strings.Contains(b.String(), want) {
			t.Errorf("%d attempts: %s", attempts, b.String())
		}
	}
}

// TestErrorsSayItOnce: an error names each thing once.
func TestErrorsSayItOnce(t *testing.T) {
	dir := t.TempDir()
	_, errOut, code := cli("check", "-4", dir)
	if code != 1 || strings.Count(errOut, dir) != 1 || !strings.Contains(errOut, "is a directory") {
		t.Errorf("check of a directory: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = cli("restore", "-4", dir)
	if code != 1 || strings.Count(errOut, dir) != 1 {
		t.Errorf("restore of a directory: exit %d, stderr %q", code, errOut)
	}
}

// jsonFields lists the JSON keys of a struct type and of the structs
// its fields hold.
func jsonFields(t reflect.Type, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out[name] = true
		jsonFields(f.Type, out)
	}
}

// readmeSection is the README's text from a heading to the next one of
// the same or a higher level.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no %q", heading)
	}
	text = text[i+len(heading)+2:]
	level := strings.Repeat("#", strings.Index(heading, " "))
	for _, l := range regexp.MustCompile(`(?m)^#+ `).FindAllStringIndex(text, -1) {
		if l[1]-l[0]-1 <= len(level) {
			return text[:l[0]]
		}
	}
	return text
}

// TestJSONDocumented: every key of apply --json is documented in the
// README, and the document is what the README says it is.
func TestJSONDocumented(t *testing.T) {
	doc := readmeSection(t, "### apply --json")
	fields := map[string]bool{}
	jsonFields(reflect.TypeFor[jsonReport](), fields)
	for name := range fields {
		if !strings.Contains(doc, "`"+name+"`") {
			t.Errorf("README's apply --json section does not document %q", name)
		}
	}
	j := newJSONReport(false)
	j.fill(nil, []*engine.Report{fakeReport(1, 1)})
	var b bytes.Buffer
	j.write(&b)
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	if m["schema_version"] != float64(1) {
		t.Errorf("schema_version %v", m["schema_version"])
	}
	for _, key := range []string{"backend", "reason", "dry_run", "changed", "families"} {
		if _, ok := m[key]; !ok {
			t.Errorf("no %q in %s", key, b.String())
		}
	}
	if _, ok := m["error"]; ok {
		t.Errorf("error set without an error: %s", b.String())
	}
	// The README's example parses and has the same keys.
	ex := regexp.MustCompile("(?s)```json\n(.*?)```").FindStringSubmatch(doc)
	if ex == nil {
		t.Fatal("README's apply --json section has no example")
	}
	var exm jsonReport
	dec := json.NewDecoder(strings.NewReader(ex[1]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&exm); err != nil {
		t.Errorf("README's example: %v", err)
	}
}

// readmeCommands maps each command to the options its line in README's
// Commands block names.
func readmeCommands(t *testing.T) map[string][]string {
	t.Helper()
	block := regexp.MustCompile("(?s)```\n(.*?)```").FindStringSubmatch(readmeSection(t, "## Commands"))
	if block == nil {
		t.Fatal("README's Commands section has no block")
	}
	out := map[string][]string{}
	cmd := ""
	opt := regexp.MustCompile(`--[a-z0-9-]+|(?:^|[\[| ])(-[a-zA-Z0-9])\b`)
	for _, line := range strings.Split(block[1], "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 1 && f[0] == "hostwall" && !strings.HasPrefix(f[1], "-") && f[1] != "COMMAND":
			cmd = f[1]
			out[cmd] = nil
		case len(f) > 0 && f[0] == "hostwall":
			cmd = ""
			continue
		}
		if cmd == "" {
			continue
		}
		for _, m := range opt.FindAllStringSubmatch(line, -1) {
			o := m[0]
			if m[1] != "" {
				o = m[1]
			}
			if !slices.Contains(out[cmd], o) {
				out[cmd] = append(out[cmd], o)
			}
		}
	}
	return out
}

// TestReadmeMatchesHelp: README's Commands block and each command's
// --help name the same options.
func TestReadmeMatchesHelp(t *testing.T) {
	readme := readmeCommands(t)
	if len(readme) != len(commands) {
		t.Errorf("README's Commands block shows %d commands, hostwall has %d", len(readme), len(commands))
	}
	for _, c := range commands {
		help, _, code := cli(c.name, "--help")
		if code != 0 {
			t.Fatalf("%s --help: exit %d", c.name, code)
		}
		// Option lines: "  -n, --noflush ..." or "      --chain NAME ...".
		helpOpts := map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)^  (?:(-[a-zA-Z0-9]), )?\s*(--[a-z0-9-]+)`).FindAllStringSubmatch(help, -1) {
			helpOpts[m[2]] = true
			if m[1] != "" {
				helpOpts[m[1]] = true
			}
		}
		opts, ok := readme[c.name]
		if !ok {
			t.Errorf("README's Commands block does not show %s", c.name)
			continue
		}
		for _, o := range opts {
			if !helpOpts[o] {
				t.Errorf("README shows %s %s; %s --help has no such option", c.name, o, c.name)
			}
		}
		for o := range helpOpts {
			if strings.HasPrefix(o, "--") && o != "--help" && o != "--version" && !slices.Contains(opts, o) && !slices.Contains(opts, shortOf(help, o)) {
				t.Errorf("%s --help has %s; README's Commands block does not show it", c.name, o)
			}
		}
		if strings.Contains(help, " -chain") || strings.Contains(help, " -dry-run") || strings.Contains(help, " -backend") {
			t.Errorf("%s --help shows a single-dash long option:\n%s", c.name, help)
		}
	}
}

// shortOf is the short form help gives a long option, "" if none.
func shortOf(help, long string) string {
	m := regexp.MustCompile(`(?m)^  (-[a-zA-Z0-9]), ` + regexp.QuoteMeta(long) + `\b`).FindStringSubmatch(help)
	if m == nil {
		return ""
	}
	return m[1]
}
