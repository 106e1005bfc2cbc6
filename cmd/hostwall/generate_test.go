package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/xtables"
)

// generated runs hostwall __generate what.
func generated(t *testing.T, what string, args ...string) string {
	t.Helper()
	out, errOut, code := cli(append([]string{generateCommand, what}, args...)...)
	if code != 0 || errOut != "" || out == "" {
		t.Fatalf("hostwall %s %s: exit %d, stderr %q", generateCommand, what, code, errOut)
	}
	return out
}

// needTool skips without the program, except under CI=true.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found (Debian package %s; make deps installs it)", name, pkg)
		}
		t.Skipf("%s not found (Debian package %s)", name, pkg)
	}
	return p
}

// section is the text of s from the line that starts with from up to
// the next line that starts with to (or the end).
func section(s, from, to string) string {
	i := strings.Index(s, "\n"+from)
	if i < 0 {
		return ""
	}
	s = s[i+1:]
	if j := strings.Index(s[1:], "\n"+to); j >= 0 {
		s = s[:j+1]
	}
	return s
}

// TestGeneratedDocsCoverCLI: the man page and both completions name
// every command and, under it, every long and short option its own
// option set defines (hidden ones excepted).
func TestGeneratedDocsCoverCLI(t *testing.T) {
	man := generated(t, "man", "--date", "2025-01-02")
	bash := generated(t, "bash")
	zsh := generated(t, "zsh")
	if !strings.Contains(man, `.TH HOSTWALL 8 "2025-01-02"`) {
		t.Errorf("man page header:\n%.200s", man)
	}
	if len(commands) < 7 {
		t.Fatalf("%d commands", len(commands))
	}
	for _, c := range commands {
		fs, err := commandFlags(c)
		if err != nil {
			t.Fatal(err)
		}
		manSec := section(man, ".SS "+c.name+"\n", ".S")
		bashSec := section(bash, "    "+c.name+")\n", "        ;;")
		zshSec := section(zsh, "    "+c.name+")\n", "      ;;")
		if manSec == "" || bashSec == "" || zshSec == "" {
			t.Errorf("%s: missing from the man page (%t), bash (%t) or zsh (%t)", c.name, manSec != "", bashSec != "", zshSec != "")
			continue
		}
		if !strings.Contains(bash, "compgen -W '"+c.name+" ") && !strings.Contains(bash, " "+c.name+" ") {
			t.Errorf("bash: %s not among the commands", c.name)
		}
		if !strings.Contains(zsh, "    '"+c.name+":") {
			t.Errorf("zsh: %s not among the commands", c.name)
		}
		n := 0
		fs.VisitAll(func(f *pflag.Flag) {
			n++
			forms := []string{"--" + f.Name}
			if f.Shorthand != "" {
				forms = append(forms, "-"+f.Shorthand)
			}
			for _, o := range forms {
				inMan := strings.Contains(manSec, `\fB`+strings.ReplaceAll(o, "-", `\-`)+`\fR`)
				inBash := slices.Contains(strings.FieldsFunc(bashSec, func(r rune) bool { return strings.ContainsRune(" '|)", r) }), o)
				inZsh := strings.Contains(zshSec, "'"+o) || strings.Contains(zshSec, "'*"+o)
				if f.Hidden {
					if inMan || inBash || inZsh {
						t.Errorf("%s %s is hidden, yet documented", c.name, o)
					}
					continue
				}
				if !inMan {
					t.Errorf("man page, %s: no %s", c.name, o)
				}
				if !inBash {
					t.Errorf("bash completion, %s: no %s", c.name, o)
				}
				if !inZsh {
					t.Errorf("zsh completion, %s: no %s", c.name, o)
				}
			}
		})
		if n < 2 {
			t.Errorf("%s: %d options read", c.name, n)
		}
	}
	if out, _, code := cli("--help"); code != 0 || strings.Contains(out, generateCommand) {
		t.Errorf("hostwall --help shows %s", generateCommand)
	}
	if _, errOut, code := cli(generateCommand, "pdf"); code != exitUsage || !strings.Contains(errOut, "man, bash, zsh") {
		t.Errorf("__generate pdf: exit %d, %q", code, errOut)
	}
}

// TestArgValues: the values the completions offer are the ones hostwall
// takes.
func TestArgValues(t *testing.T) {
	for _, b := range argValues["BACKEND"] {
		if _, err := engine.ParseBackend(b); err != nil {
			t.Error(err)
		}
	}
	for _, tb := range argValues["TABLE"] {
		if xtables.TableHooks(tb) == nil {
			t.Errorf("table %q is not a standard table", tb)
		}
	}
	for _, c := range commands {
		fs, _ := commandFlags(c)
		fs.VisitAll(func(f *pflag.Flag) {
			arg, usage := pflag.UnquoteUsage(f)
			for _, v := range argValues[arg] {
				if arg != "TABLE" && !strings.Contains(usage, v) {
					t.Errorf("%s --%s: its help does not name %q, which the completions offer", c.name, f.Name, v)
				}
			}
		})
	}
}

// TestManPageRenders: groff formats hostwall(8) without a warning (-ww)
// and man -l shows it.
func TestManPageRenders(t *testing.T) {
	groff := needTool(t, "groff", "groff-base")
	page := filepath.Join(t.TempDir(), "hostwall.8")
	if err := os.WriteFile(page, []byte(generated(t, "man", "--date", "2025-01-02")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", page).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("groff -man -ww: %v\n%s", err, out)
	}
	text, err := exec.Command(groff, "-man", "-Tascii", "-P-c", "-P-b", "-P-u", page).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"NAME", "hostwall - keep a host firewall", "SYNOPSIS", "COMMANDS", "-w, --wait[=SECONDS]", "-4, --ipv4 FILE", "EXIT STATUS", "/etc/iptables/rules.v4"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("rendered man page lacks %q", want)
		}
	}
}

// TestBashCompletion runs the completion function as bash would.
func TestBashCompletion(t *testing.T) {
	bash := needTool(t, "bash", "bash")
	script := generated(t, "bash")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.v4"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		words []string // as bash splits them (COMP_WORDBREAKS splits at =)
		want  string
	}{
		{[]string{"hostwall", "ap"}, "apply"},
		{[]string{"hostwall", "--ver"}, "--version"},
		{[]string{"hostwall", "apply", "--back"}, "--backend"},
		{[]string{"hostwall", "apply", "--dry-run", "-"}, "-4 --ipv4 -6 --ipv6 --chain"},
		{[]string{"hostwall", "apply", "--backend", "n"}, "nft native"},
		{[]string{"hostwall", "apply", "--backend", "=", "l"}, "legacy"},
		{[]string{"hostwall", "apply", "--backend", "="}, "auto legacy nft native"},
		{[]string{"hostwall", "apply", "-4", "ru"}, "rules.v4"},
		{[]string{"hostwall", "apply", "--chain", ""}, ""},
		{[]string{"hostwall", "save", "-t", "ra"}, "raw"},
		{[]string{"hostwall", "restore", "-n", "r"}, "rules.v4"},
		{[]string{"hostwall", "restore", "--no"}, "--noflush"},
		{[]string{"hostwall", "watch", "--log-format", ""}, "text json"},
		{[]string{"hostwall", "dump", "-w"}, ""},
	} {
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", script+`
COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _hostwall
echo "${COMPREPLY[*]}"`, "bash")
		cmd.Args = append(cmd.Args, c.words...)
		cmd.Dir = dir
		out, err := cmd.Output()
		got := strings.TrimSpace(string(out))
		if err != nil || !strings.HasPrefix(got, c.want) || (c.want == "" && got != "") {
			t.Errorf("%q: %q (%v), want %q", c.words, got, err, c.want)
		}
	}
}

// TestZshCompletion completes in an interactive zsh (zpty), as a user
// pressing Tab would.
func TestZshCompletion(t *testing.T) {
	zsh := needTool(t, "zsh", "zsh")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "_hostwall"), []byte(generated(t, "zsh")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(zsh, "-n", filepath.Join(dir, "_hostwall")).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	const harness = `zmodload zsh/zpty
zpty z 'TERM=dumb zsh -f -i'
zpty -w z "PS1='>'; fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D; setopt nobeep; LISTMAX=1000; print RE''ADY"
out= i=0
until [[ $out == *READY*'>'* ]] || (( ++i > 300 )); do
  zpty -r -t z chunk && out+=$chunk || sleep 0.05
done
zpty -w -n z "$2"$'\t'
sleep 1
out=
while zpty -r -t z chunk; do out+=$chunk; done
print -r -- "${out##*READY}"
zpty -d z`
	for _, c := range []struct{ line, want string }{
		{"hostwall ", "watch  -- apply, then keep applying"},
		{"hostwall save -", "--table     -t  -- print only TABLE"},
		{"hostwall apply --backend ", "auto    legacy  native  nft"},
		{"hostwall restore -T ", "filter    mangle    nat       raw       security"},
	} {
		t.Run(c.line, func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command(zsh, "-f", "-c", harness, "zsh", dir, c.line).CombinedOutput()
			// Columns as wide as the longest entry: compare words.
			got := strings.Join(strings.Fields(string(out)), " ")
			if err != nil || !strings.Contains(got, strings.Join(strings.Fields(c.want), " ")) {
				t.Errorf("zsh, %q<Tab>: %v\n%s\nwant %q", c.line, err, out, c.want)
			}
		})
	}
}
