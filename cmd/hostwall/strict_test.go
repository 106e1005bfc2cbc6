package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckStrict: check warns about silent lockouts and gaps on
// stderr, naming the line, and --strict makes a warning exit 1; the
// seed article's own files pass --strict.
func TestCheckStrict(t *testing.T) {
	seeds, _ := filepath.Glob("../../integration/testdata/policy/*")
	if len(seeds) == 0 {
		t.Fatal("no seed files")
	}
	for _, f := range seeds {
		flag := "-4"
		if strings.HasSuffix(f, ".v6") {
			flag = "-6"
		}
		if _, errOut, code := cli("check", "--strict", flag, f); code != 0 || errOut != "" {
			t.Errorf("check --strict %s: exit %d\n%s", f, code, errOut)
		}
	}
	dir := t.TempDir()
	for _, tc := range []struct{ name, text, warning string }{
		{"nohook.v4", "*filter\n:INPUT ACCEPT [0:0]\n:FILTERS - [0:0]\n-A FILTERS -j REJECT\nCOMMIT\n",
			"nohook.v4:3: IPv4 table filter: nothing jumps to FILTERS (no hook)"},
		{"dockeruser.v4", "*filter\n:INPUT ACCEPT [0:0]\n:FILTERS - [0:0]\n:DOCKER-USER - [0:0]\n-A INPUT -j FILTERS\n-A DOCKER-USER -j FILTERS\n-A FILTERS -j REJECT\nCOMMIT\n",
			"dockeruser.v4:6:1: -A DOCKER-USER -j FILTERS without -i"},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, errOut, code := cli("check", "-4", path)
		if code != 0 || !strings.Contains(errOut, "hostwall: warning: "+filepath.Join(dir, tc.warning)) {
			t.Errorf("check %s: exit %d, want 0 and the warning %q:\n%s", tc.name, code, tc.warning, errOut)
		}
		_, errOut, code = cli("check", "--strict", "-4", path)
		if code != 1 || !strings.Contains(errOut, "1 warning(s), and --strict") {
			t.Errorf("check --strict %s: exit %d, want 1:\n%s", tc.name, code, errOut)
		}
	}
}
