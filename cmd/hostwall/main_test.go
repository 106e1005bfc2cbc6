package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cli runs hostwall in-process and returns its output and exit status.
func cli(args ...string) (string, string, int) {
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
		{[]string{"save", "--nope"}, 2, "", "flag provided but not defined: -nope"},
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
