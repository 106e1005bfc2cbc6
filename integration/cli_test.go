package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hostwall/hostwall/integration/nstest"
	"github.com/hostwall/hostwall/xtables"
)

// The CLI's conventions on a real kernel, each test in network
// namespaces of its own, on both backends where the backend matters.

// cliBackend is a backend with the iptables that is its oracle.
type cliBackend struct{ name, restore, save string }

var cliBackends = []cliBackend{
	{"legacy", "iptables-legacy-restore", "iptables-legacy-save"},
	{"nft", "iptables-nft-restore", "iptables-nft-save"},
}

// eachBackend runs fn for each backend in a namespace holding Docker's
// tables (testdata/base/docker.v4.rules) written by that backend's
// iptables-restore.
func eachBackend(t *testing.T, fn func(t *testing.T, b cliBackend, ns string)) {
	t.Helper()
	base, err := os.ReadFile("testdata/base/docker.v4.rules")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range cliBackends {
		t.Run(b.name, func(t *testing.T) {
			if b.name == "nft" {
				requireNft(t)
			} else {
				nstest.Require(t)
			}
			ns := nstest.Netns(t)
			// The seed policy hooks DOCKER-USER from eth0: a namespace
			// without one would draw apply's missing-interface warning.
			nstest.Run(t, ns, nil, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer")
			nstest.Run(t, ns, base, b.restore, "-c")
			fn(t, b, ns)
		})
	}
}

// policyFile writes a policy into the test's temporary directory.
func policyFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// seedWith is the seed policy with extra FILTERS rules before its
// final REJECT.
func seedWith(t *testing.T, extra string) string {
	t.Helper()
	pol, err := os.ReadFile("testdata/policy/seed-docker.v4")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(string(pol), "-A FILTERS -j REJECT", extra+"-A FILTERS -j REJECT", 1)
}

// manyRules is n FILTERS rules, one line each.
func manyRules(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "-A FILTERS -s 198.51.100.%d/32 -j DROP\n", i)
	}
	return b.String()
}

// saveFilter is the filter table as the backend's iptables-save prints it.
func saveFilter(t *testing.T, b cliBackend, ns string) string {
	t.Helper()
	return nstest.StripComments(nstest.Run(t, ns, nil, b.save, "-t", "filter"))
}

// TestCLIDetailedExitcode: apply --detailed-exitcode exits 3 when it
// wrote something and 0 when nothing changed; with --dry-run, 3 when it
// would write (and writes nothing); errors stay 1.
func TestCLIDetailedExitcode(t *testing.T) {
	eachBackend(t, func(t *testing.T, b cliBackend, ns string) {
		seed := policyFile(t, "seed.v4", seedWith(t, ""))
		before := saveFilter(t, b, ns)
		if out, errOut, code := nstest.Hostwall(t, ns, "apply", "--backend", b.name, "--dry-run", "--detailed-exitcode", "-4", seed); code != 3 || !strings.Contains(out, "plan (dry run, nothing written)") {
			t.Errorf("dry run with changes: exit %d, want 3\n%s%s", code, out, errOut)
		}
		if saveFilter(t, b, ns) != before {
			t.Fatal("the dry run wrote")
		}
		if out, errOut, code := nstest.Hostwall(t, ns, "apply", "--backend", b.name, "--detailed-exitcode", "-4", seed); code != 3 || !strings.Contains(out, "IPv4 filter: written") {
			t.Errorf("first apply: exit %d, want 3\n%s%s", code, out, errOut)
		}
		for _, extra := range [][]string{nil, {"--dry-run"}} {
			args := append([]string{"apply", "--backend", b.name, "--detailed-exitcode", "-4", seed}, extra...)
			if out, errOut, code := nstest.Hostwall(t, ns, args...); code != 0 || !strings.Contains(out, "no change, nothing written") {
				t.Errorf("apply %v without changes: exit %d, want 0\n%s%s", extra, code, out, errOut)
			}
		}
		if out, errOut, code := nstest.Hostwall(t, ns, "apply", "--backend", b.name, "-4", seed); code != 0 {
			t.Errorf("apply without --detailed-exitcode: exit %d, want 0\n%s%s", code, out, errOut)
		}
		bad := policyFile(t, "bad.v4", seedWith(t, "-A FILTERS -j NOWHERE\n"))
		if out, errOut, code := nstest.Hostwall(t, ns, "apply", "--backend", b.name, "--detailed-exitcode", "-4", bad); code != 1 {
			t.Errorf("bad policy: exit %d, want 1\n%s%s", code, out, errOut)
		}
	})
}

// TestCLIJSON: apply --json prints one JSON document on stdout (the
// whole diff, never shortened) and warnings only on stderr; after an
// error the document says what it was.
func TestCLIJSON(t *testing.T) {
	eachBackend(t, func(t *testing.T, b cliBackend, ns string) {
		// 8080 is published by Docker's DNAT: a warning on stderr.
		pol := policyFile(t, "rules.v4", seedWith(t, "-A FILTERS -p tcp -m tcp --dport 8080 -j ACCEPT\n"+manyRules(20)))
		out, errOut, code := nstest.Hostwall(t, ns, "apply", "--backend", b.name, "--json", "-4", pol)
		if code != 0 || !strings.Contains(errOut, "warning:") || !strings.Contains(errOut, "8080") {
			t.Fatalf("apply --json: exit %d, want 0 and the published-port warning on stderr\n%s%s", code, out, errOut)
		}
		var rep struct {
			SchemaVersion int    `json:"schema_version"`
			Backend       string `json:"backend"`
			Reason        string `json:"reason"`
			DryRun        bool   `json:"dry_run"`
			Changed       bool   `json:"changed"`
			Error         *string
			Families      []struct {
				Family    string
				File      string
				Unmanaged []struct{ Pos, Text string }
				Tables    []struct {
					Table            string
					Changed, Written bool
					RulesAdded       int      `json:"rules_added"`
					RulesRemoved     int      `json:"rules_removed"`
					HooksInserted    []string `json:"hooks_inserted"`
					HooksRemoved     []string `json:"hooks_removed"`
					ChainsCreated    []string `json:"chains_created"`
					CountersKept     int      `json:"counters_kept"`
					Attempts         int
					Diff             []string
				}
			}
		}
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rep); err != nil || dec.More() {
			t.Fatalf("stdout is not one JSON document of the documented fields (%v):\n%s", err, out)
		}
		if rep.SchemaVersion != 1 || rep.Backend != b.name || rep.Reason != "as asked" || rep.DryRun || !rep.Changed || rep.Error != nil || len(rep.Families) != 1 {
			t.Fatalf("report: %+v", rep)
		}
		f := rep.Families[0]
		if f.Family != "ipv4" || f.File != pol || len(f.Unmanaged) == 0 || len(f.Tables) != 1 {
			t.Fatalf("family: %+v", f)
		}
		tb := f.Tables[0]
		// 7 seed rules, 8080, 20 more: 28 added; -N FILTERS, -N DOCKER-USER, 2 hooks.
		if tb.Table != "filter" || !tb.Changed || !tb.Written || tb.RulesAdded != 28 || tb.RulesRemoved != 0 || len(tb.HooksInserted) != 2 ||
			len(tb.HooksRemoved) != 0 || len(tb.ChainsCreated) == 0 || tb.Attempts != 1 || len(tb.Diff) != 28+2+len(tb.ChainsCreated) {
			t.Errorf("table: %+v", tb)
		}
		if strings.Contains(out, "warning") {
			t.Error("a warning on stdout")
		}

		// Nothing to do: written false, empty lists (not null).
		out, errOut, code = nstest.Hostwall(t, ns, "apply", "--backend", b.name, "--json", "-4", pol)
		if code != 0 || !strings.Contains(out, `"changed": false`) || !strings.Contains(out, `"written": false`) || !strings.Contains(out, `"diff": []`) {
			t.Errorf("second apply --json: exit %d\n%s%s", code, out, errOut)
		}

		// An error: exit 1, the document names it, the message is on stderr.
		forgot := policyFile(t, "forgot.v4", strings.Replace(seedWith(t, "-A FILTERS -j LOGDROP\n-A LOGDROP -j DROP\n"), ":FILTERS - [0:0]", ":FILTERS - [0:0]\n:LOGDROP - [0:0]", 1))
		out, errOut, code = nstest.Hostwall(t, ns, "apply", "--backend", b.name, "--json", "-4", forgot)
		var failed map[string]any
		if err := json.Unmarshal([]byte(out), &failed); err != nil || code != 1 {
			t.Fatalf("apply --json that fails: exit %d, %v\n%s%s", code, err, out, errOut)
		}
		if msg, _ := failed["error"].(string); !strings.Contains(msg, "--chain LOGDROP") || !strings.Contains(errOut, msg) {
			t.Errorf("error in the document %q, on stderr %q", failed["error"], errOut)
		}
	})
}

// TestCLIReportSummary: apply prints counts and the first 10 lines of
// a table's diff, then "… N more"; -v all of it; -q nothing at all.
func TestCLIReportSummary(t *testing.T) {
	eachBackend(t, func(t *testing.T, b cliBackend, ns string) {
		pol := policyFile(t, "rules.v4", seedWith(t, manyRules(200)))
		out, errOut, code := nstest.Hostwall(t, ns, "apply", "--backend", b.name, "--dry-run", "-4", pol)
		if code != 0 || strings.Count(out, "\n  + ") != 10 || !strings.Contains(out, "… 200 more (-v prints all)") || strings.Count(out, "\n") > 30 {
			t.Errorf("dry run, summarised: exit %d\n%s%s", code, out, errOut)
		}
		out, errOut, code = nstest.Hostwall(t, ns, "apply", "--backend", b.name, "--dry-run", "--verbose", "-4", pol)
		if code != 0 || strings.Count(out, "-A FILTERS -s 198.51.100.") != 200 || strings.Contains(out, "more (-v") {
			t.Errorf("dry run -v: exit %d\n%.2000s%s", code, out, errOut)
		}
		out, errOut, code = nstest.Hostwall(t, ns, "apply", "--backend", b.name, "-q", "-4", pol)
		if code != 0 || out != "" || errOut != "" {
			t.Errorf("apply -q: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		if !strings.Contains(saveFilter(t, b, ns), "-A FILTERS -s 198.51.100.199/32 -j DROP") {
			t.Error("apply -q did not write")
		}
		out, errOut, code = nstest.Hostwall(t, ns, "apply", "--backend", b.name, "-4", strings.Replace(pol, ".v4", ".missing", 1), "--quiet")
		if code != 1 || out != "" || !strings.Contains(errOut, "no such file") {
			t.Errorf("apply -q of a missing file: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
}

// TestCLIStdin: "-" reads the rules from standard input, for apply -4 -
// and restore -.
func TestCLIStdin(t *testing.T) {
	eachBackend(t, func(t *testing.T, b cliBackend, ns string) {
		pol := []byte(seedWith(t, ""))
		out, err := nstest.Try(ns, pol, nstest.Bin, "apply", "--backend", b.name, "-4", "-")
		if err != nil || !strings.Contains(out, "IPv4 filter: written") {
			t.Fatalf("apply -4 -: %v\n%s", err, out)
		}
		want := saveFilter(t, b, ns)
		nat := []byte("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o eth9 -j MASQUERADE\nCOMMIT\n")
		if out, err := nstest.Try(ns, nat, nstest.Bin, "restore", "--backend", b.name, "--noflush", "-"); err != nil {
			t.Fatalf("restore -: %v\n%s", err, out)
		}
		if got := nstest.Run(t, ns, nil, b.save, "-t", "nat"); !strings.Contains(got, "-A POSTROUTING -o eth9 -j MASQUERADE") {
			t.Errorf("restore - did not load the nat table:\n%s", got)
		}
		if saveFilter(t, b, ns) != want {
			t.Error("restore of nat changed filter")
		}
	})
}

// TestCLIRestoreOptions: restore takes iptables-restore's long options
// with their meanings: --noflush, --counters, --test (nothing written),
// --table (only that table of the file).
func TestCLIRestoreOptions(t *testing.T) {
	eachBackend(t, func(t *testing.T, b cliBackend, ns string) {
		file := policyFile(t, "both.rules", "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o eth9 -j MASQUERADE\nCOMMIT\n"+
			"*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:X - [0:0]\n[3:4] -A X -j ACCEPT\nCOMMIT\n")
		save := func() string {
			return nstest.StripComments(nstest.Run(t, ns, nil, b.save, "-c"))
		}
		before := save()
		for _, test := range [][]string{{"--test"}, {"-t"}, {"--test", "--noflush", "--counters"}} {
			nstest.MustHostwall(t, ns, append(append([]string{"restore", "--backend", b.name}, test...), file)...)
			if got := save(); got != before {
				t.Fatalf("restore %v wrote: %s", test, nstest.FirstDiff(got, before))
			}
		}
		nstest.MustHostwall(t, ns, "restore", "--backend", b.name, "--noflush", "--counters", "--table", "filter", file)
		got := save()
		if !strings.Contains(got, "[3:4] -A X -j ACCEPT") || !strings.Contains(got, "-A DOCKER-USER -j RETURN") || strings.Contains(got, "eth9") {
			t.Errorf("restore --noflush --counters --table filter:\n%s", got)
		}
		nstest.MustHostwall(t, ns, "restore", "--backend", b.name, "-n", "-T", "nat", file)
		if got := save(); !strings.Contains(got, "-A POSTROUTING -o eth9 -j MASQUERADE") || !strings.Contains(got, "-A DOCKER ! -i docker0 -p tcp") {
			t.Errorf("restore -n -T nat:\n%s", got)
		}
	})
}

// TestCLIWait: -w/--wait [SECONDS] waits for the xtables lock as
// iptables -w does: SECONDS at most, or without a number until it is
// free.
func TestCLIWait(t *testing.T) {
	nstest.Require(t)
	ns := nstest.Netns(t)
	lockFile := filepath.Join(os.TempDir(), "hwtest-"+ns+".lock") // nstest's XTABLES_LOCKFILE for ns
	pol := policyFile(t, "rules.v4", seedWith(t, ""))
	hold := func() *xtables.Lock {
		lock, err := xtables.AcquireLock(context.Background(), lockFile)
		if err != nil {
			t.Fatal(err)
		}
		return lock
	}
	lock := hold()
	for _, args := range [][]string{
		{"apply", "--backend", "legacy", "-4", pol, "-w", "1"},
		{"apply", "--backend", "legacy", "-4", pol, "--wait", "1"},
		{"restore", "--backend", "legacy", "-w", "1", "testdata/base/docker.v4.rules"},
	} {
		start := time.Now()
		out, errOut, code := nstest.Hostwall(t, ns, args...)
		took := time.Since(start)
		if code != 1 || !strings.Contains(errOut, "another app is currently holding the xtables lock") || took < time.Second || took > 8*time.Second {
			t.Errorf("%v with the lock held: exit %d after %v, want 1 after about 1s\n%s%s", args, code, took, out, errOut)
		}
	}
	// -w alone waits until the lock is free.
	for _, args := range [][]string{{"apply", "--backend", "legacy", "-w", "-4", pol}, {"restore", "--backend", "legacy", "-4", "--wait", "testdata/base/docker.v4.rules"}} {
		if lock == nil {
			lock = hold()
		}
		done := make(chan struct{})
		var out, errOut string
		var code int
		go func() {
			defer close(done)
			out, errOut, code = nstest.Hostwall(t, ns, args...)
		}()
		select {
		case <-done:
			t.Fatalf("%v returned while the lock was held: exit %d\n%s%s", args, code, out, errOut)
		case <-time.After(11 * time.Second): // past the 10 s without -w
		}
		lock.Release()
		lock = nil
		<-done
		if code != 0 {
			t.Errorf("%v once the lock was free: exit %d\n%s%s", args, code, out, errOut)
		}
	}
}

// TestCLIDryRunPrivilege: apply --dry-run works wherever apply does: in
// a root with nothing but the binary (no /proc, no lock file it could
// create) and as an unprivileged user in a network namespace it owns
// through a user namespace, where /proc/net/ip_tables_names is not
// readable. It takes no lock and writes nothing.
func TestCLIDryRunPrivilege(t *testing.T) {
	nstest.Require(t)
	nstest.RequireTools(t, "chroot")
	bin, err := os.ReadFile(nstest.Bin)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := os.ReadFile("testdata/policy/seed-docker.v4")
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile("testdata/base/docker.v4.rules")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("bare-root", func(t *testing.T) {
		root := t.TempDir()
		if err := os.WriteFile(filepath.Join(root, "hostwall"), bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "policy.v4"), pol, 0o644); err != nil {
			t.Fatal(err)
		}
		ns := nstest.Netns(t)
		nstest.Run(t, ns, base, "iptables-legacy-restore", "-c")
		before := filterBlob(t, ns)
		// A lock file that cannot be made (its directory would be a
		// regular file; hostwall creates a missing lock directory, so a
		// merely absent one would not do): no write can lock, a dry run
		// needs no lock.
		env := append(envWithout("XTABLES_LOCKFILE"), "XTABLES_LOCKFILE=/hostwall/xtables.lock")
		chrooted := func(args ...string) cmdResult {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, "chroot", root, "/hostwall"}, args...)...)
			cmd.Env = env
			return mustRunCmd(t, cmd)
		}
		r := chrooted("apply", "--backend", "legacy", "--dry-run", "-4", "/policy.v4")
		if r.code != 0 || !strings.Contains(r.stdout, "IPv4 filter: plan (dry run, nothing written)") {
			t.Errorf("dry run without /proc and without a lock: exit %d, want 0\n%s%s", r.code, r.stdout, r.stderr)
		}
		if r = chrooted("apply", "--backend", "legacy", "-4", "/policy.v4"); r.code != 1 || !strings.Contains(r.stderr, "/hostwall/xtables.lock") {
			t.Errorf("apply without a lock: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
		}
		if !bytes.Equal(filterBlob(t, ns), before) {
			t.Error("the filter table changed")
		}
	})

	t.Run("own-userns", func(t *testing.T) {
		nstest.RequireTools(t, "unshare", "sh")
		requireUserns(t)
		dir, err := os.MkdirTemp("", "hostwall-dryrun-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		binPath, policyPath, lockFile := filepath.Join(dir, "hostwall"), filepath.Join(dir, "policy.v4"), filepath.Join(dir, "xtables.lock")
		for path, content := range map[string][]byte{binPath: bin, policyPath: pol, lockFile: nil} {
			if err := os.WriteFile(path, content, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chown(lockFile, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// /proc/net/ip_tables_names is not readable there (it belongs to
		// root of the user namespace's owner): apply never needed it.
		script := `
test -r /proc/net/ip_tables_names && echo "ip_tables_names readable"
"$0" apply --backend legacy --dry-run -4 "$1"; echo "exit $?"
echo ---
"$0" apply --backend legacy -4 "$1"; echo "exit $?"
echo ---
"$0" apply --backend legacy --dry-run --detailed-exitcode -4 "$1"; echo "exit $?"`
		cmd := exec.CommandContext(ctx, "unshare", "--user", "--map-root-user", "--net", "sh", "-c", script, binPath, policyPath)
		asNobody(cmd, lockFile)
		r := mustRunCmd(t, cmd)
		parts := strings.Split(r.stdout, "---\n")
		if len(parts) != 3 || !strings.Contains(parts[0], "plan (dry run, nothing written)") || !strings.HasSuffix(parts[0], "exit 0\n") ||
			!strings.Contains(parts[1], "IPv4 filter: written") || !strings.HasSuffix(parts[2], "exit 0\n") || !strings.Contains(parts[2], "no change") {
			t.Errorf("as uid %d in its own user and network namespace:\n%s%s", nobody, r.stdout, r.stderr)
		}
	})
}

// TestCLIForgottenChain: an owned chain jumping to a chain the file
// declares but hostwall does not own points at the line of the jump,
// suggests --chain, and writes nothing; with --chain both are applied.
func TestCLIForgottenChain(t *testing.T) {
	eachBackend(t, func(t *testing.T, b cliBackend, ns string) {
		text := strings.Replace(seedWith(t, "-A FILTERS -j LOGDROP\n-A LOGDROP -j LOG\n-A LOGDROP -j DROP\n"), ":FILTERS - [0:0]", ":FILTERS - [0:0]\n:LOGDROP - [0:0]", 1)
		pol := policyFile(t, "rules.v4", text)
		line := 0
		for i, l := range strings.Split(text, "\n") {
			if l == "-A FILTERS -j LOGDROP" {
				line = i + 1
			}
		}
		before := saveFilter(t, b, ns)
		out, errOut, code := nstest.Hostwall(t, ns, "apply", "--backend", b.name, "-4", pol)
		if code != 1 || !strings.Contains(errOut, fmt.Sprintf("%s:%d:", pol, line)) || !strings.Contains(errOut, "give --chain FILTERS --chain LOGDROP") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("forgotten --chain: exit %d, want 1, %s:%d and the --chain to give, on one line\n%s%s", code, pol, line, out, errOut)
		}
		if saveFilter(t, b, ns) != before {
			t.Fatal("the refused apply wrote")
		}
		out, errOut, code = nstest.Hostwall(t, ns, "apply", "--backend", b.name, "-4", pol, "--chain", "FILTERS", "--chain", "LOGDROP")
		if got := saveFilter(t, b, ns); code != 0 || !strings.Contains(got, "-A FILTERS -j LOGDROP") || !strings.Contains(got, "-A LOGDROP -j LOG") {
			t.Errorf("with --chain LOGDROP: exit %d\n%s%s%s", code, out, errOut, got)
		}
	})
}

// TestCLIHookOrder: hooks are inserted in the file's order on both
// backends: around a hook already there, and all of them into a
// DOCKER-USER that does not exist yet.
func TestCLIHookOrder(t *testing.T) {
	eachBackend(t, func(t *testing.T, b cliBackend, ns string) {
		// A filter table without DOCKER-USER.
		nstest.Run(t, ns, []byte("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"), b.restore)
		hooks := func(in ...string) string {
			var s strings.Builder
			for _, i := range in {
				fmt.Fprintf(&s, "-A INPUT -i %s -j FILTERS\n", i)
			}
			return "*filter\n:INPUT ACCEPT [0:0]\n:FILTERS - [0:0]\n:DOCKER-USER - [0:0]\n" + s.String() +
				"-A DOCKER-USER -i eth0 -j FILTERS\n-A DOCKER-USER -i eth1 -j FILTERS\n-A FILTERS -j DROP\nCOMMIT\n"
		}
		nstest.MustHostwall(t, ns, "apply", "--backend", b.name, "-4", policyFile(t, "one.v4", hooks("eth1")))
		// Another program puts its rule first.
		nstest.Run(t, ns, []byte("*filter\n-I INPUT 1 -p udp --dport 53 -j ACCEPT\nCOMMIT\n"), b.restore, "-n")
		nstest.MustHostwall(t, ns, "apply", "--backend", b.name, "-4", policyFile(t, "three.v4", hooks("eth0", "eth1", "eth2")))
		var got []string
		for _, l := range strings.Split(saveFilter(t, b, ns), "\n") {
			if strings.HasPrefix(l, "-A INPUT ") || strings.HasPrefix(l, "-A DOCKER-USER ") {
				got = append(got, l)
			}
		}
		want := []string{
			"-A INPUT -i eth0 -j FILTERS", // first in the file: at the top
			"-A INPUT -p udp -m udp --dport 53 -j ACCEPT",
			"-A INPUT -i eth1 -j FILTERS", // there already: kept in place
			"-A INPUT -i eth2 -j FILTERS", // after eth1, as in the file
			"-A DOCKER-USER -i eth0 -j FILTERS",
			"-A DOCKER-USER -i eth1 -j FILTERS",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("hooks:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if out := nstest.MustHostwall(t, ns, "apply", "--backend", b.name, "-4", policyFile(t, "again.v4", hooks("eth0", "eth1", "eth2"))); !strings.Contains(out, "no change") {
			t.Errorf("the same file again: %s", out)
		}
	})
}

// TestCLIErrorsOnce: a write the kernel refuses (apply or restore) is
// reported naming the family, the table and the file once, on one line.
func TestCLIErrorsOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, b cliBackend, ns string) {
		pol := policyFile(t, "dnat.v4", seedWith(t, "-A FILTERS -p tcp -j DNAT --to-destination 192.0.2.1\n"))
		out, errOut, code := nstest.Hostwall(t, ns, "apply", "--backend", b.name, "-4", pol)
		if code != 1 || strings.Count(errOut, "IPv4") > 1 || strings.Count(errOut, "table filter") > 1 || strings.Count(errOut, "\n") != 1 {
			t.Errorf("refused write: exit %d, want 1 and each thing said once\n%s%s", code, out, errOut)
		}
		file := policyFile(t, "dnat.rules", "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j DNAT --to-destination 192.0.2.1\nCOMMIT\n")
		out, errOut, code = nstest.Hostwall(t, ns, "restore", "--backend", b.name, "--noflush", file)
		if code != 1 || strings.Count(errOut, file) > 1 || strings.Count(errOut, "IPv4") > 1 || strings.Count(errOut, "\n") != 1 {
			t.Errorf("refused restore: exit %d, want 1 and each thing said once\n%s%s", code, out, errOut)
		}
	})
}
