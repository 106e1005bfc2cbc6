package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/integration/nstest"
	"github.com/hostwall/hostwall/xtables"
)

// requireUserns fails (under CI) or skips when unprivileged users may
// not create user namespaces (Debian's and Ubuntu's switches).
func requireUserns(t *testing.T) {
	t.Helper()
	var missing []string
	for file, bad := range map[string]string{
		"/proc/sys/user/max_user_namespaces":                     "0",
		"/proc/sys/kernel/unprivileged_userns_clone":             "0",
		"/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1",
	} {
		if data, err := os.ReadFile(file); err == nil && strings.TrimSpace(string(data)) == bad {
			missing = append(missing, strings.TrimPrefix(file, "/proc/sys/")+" != "+bad)
		}
	}
	nstest.Unavailable(t, "test needs unprivileged user namespaces:", missing)
}

// cmdResult is how a command ended.
type cmdResult struct {
	stdout, stderr string
	code           int
}

// runCmd runs cmd; an error means it did not run or did not exit.
func runCmd(cmd *exec.Cmd) (cmdResult, error) {
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := cmdResult{stdout: o.String(), stderr: e.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		return r, fmt.Errorf("run %v: %w\n%s", cmd.Args, err, r.stderr)
	}
	return r, nil
}

func mustRunCmd(t *testing.T, cmd *exec.Cmd) cmdResult {
	t.Helper()
	r, err := runCmd(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// envWithout is the test's environment without the named variables.
func envWithout(names ...string) []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, name)
	})
}

// filterBlob reads the raw filter table of a namespace.
func filterBlob(t *testing.T, ns string) []byte {
	t.Helper()
	_, blob := nstest.ReadRaw(t, ns, xtables.IPv4, "filter")
	return blob
}

// TestApplyNoUserland: hostwall apply and save work from a root directory
// that holds nothing but the static binary and the policy file: no libc,
// no /etc, no /run, no /proc, as in a distroless image. Apply leaves the
// kernel with the bytes an apply with a whole system around leaves.
func TestApplyNoUserland(t *testing.T) {
	nstest.Require(t)
	nstest.RequireTools(t, "chroot")
	const policyFile = "testdata/policy/seed-docker.v4"
	pol, err := os.ReadFile(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(nstest.Bin)
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile("testdata/base/docker.v4.rules")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "hostwall"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "policy.v4"), pol, 0o644); err != nil {
		t.Fatal(err)
	}
	entries := func() []string {
		t.Helper()
		des, err := os.ReadDir(root)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, de := range des {
			names = append(names, de.Name())
		}
		return names
	}
	if got := entries(); !slices.Equal(got, []string{"hostwall", "policy.v4"}) {
		t.Fatalf("the root holds %v, want only the binary and the policy", got)
	}

	// The reference: the same apply with a whole system around it.
	refNS := nstest.Netns(t)
	nstest.Run(t, refNS, base, "iptables-legacy-restore", "-c")
	nstest.MustHostwall(t, refNS, "apply", "--backend", "legacy", "-4", policyFile)
	refInfo, refBlob := nstest.ReadRaw(t, refNS, xtables.IPv4, "filter")

	ns := nstest.Netns(t)
	nstest.Run(t, ns, base, "iptables-legacy-restore", "-c")
	chrooted := func(env []string, args ...string) cmdResult {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, "chroot", root, "/hostwall"}, args...)...)
		cmd.Env = env
		return mustRunCmd(t, cmd)
	}

	// The xtables lock lives in /run, which is not there: hostwall makes
	// the directory (an image without /run) and says so, then applies.
	r := chrooted(envWithout("XTABLES_LOCKFILE"), "apply", "--backend", "legacy", "-4", "/policy.v4")
	if r.code != 0 || !strings.Contains(r.stderr, "created it for the xtables lock") {
		t.Errorf("apply without /run: exit %d, want 0 and a warning that /run was made:\n%s%s", r.code, r.stdout, r.stderr)
	}
	nstest.Run(t, ns, base, "iptables-legacy-restore", "-c")

	env := append(envWithout("XTABLES_LOCKFILE"), "XTABLES_LOCKFILE=/xtables.lock")
	r = chrooted(env, "apply", "--backend", "legacy", "-4", "/policy.v4")
	if r.code != 0 || !strings.Contains(r.stdout, "IPv4 filter: written") {
		t.Fatalf("apply in a bare root: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	info, blob := nstest.ReadRaw(t, ns, xtables.IPv4, "filter")
	if !bytes.Equal(nstest.WithoutCounters(t, xtables.IPv4, info, blob), nstest.WithoutCounters(t, xtables.IPv4, refInfo, refBlob)) {
		t.Errorf("apply in a bare root left other bytes than apply on a full system:\n--- bare root\n%s--- full system\n%s",
			nstest.Run(t, ns, nil, "iptables-legacy-save", "-t", "filter"), nstest.Run(t, refNS, nil, "iptables-legacy-save", "-t", "filter"))
	}
	if r = chrooted(env, "apply", "--backend", "legacy", "-4", "/policy.v4"); r.code != 0 || !strings.Contains(r.stdout, "IPv4 filter: no change, nothing written") {
		t.Errorf("second apply in a bare root: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	for _, args := range [][]string{{"-t", "filter"}, {"-c", "-t", "filter"}} {
		r = chrooted(env, append([]string{"save", "--backend", "legacy"}, args...)...)
		want := nstest.StripComments(nstest.Run(t, ns, nil, "iptables-legacy-save", args...))
		if got := nstest.StripComments(r.stdout); r.code != 0 || got != want {
			t.Errorf("save %v in a bare root: exit %d, %s\n%s", args, r.code, nstest.FirstDiff(got, want), r.stderr)
		}
		if !strings.Contains(r.stdout, "-A FILTERS -j REJECT") {
			t.Errorf("save %v in a bare root does not show FILTERS:\n%s", args, r.stdout)
		}
	}
	// Without /proc the tables cannot be listed without creating them.
	if r = chrooted(env, "save", "--backend", "legacy"); r.code != 1 || !strings.Contains(r.stderr, "/proc is not mounted") {
		t.Errorf("save without -t and without /proc: exit %d, want 1 and a clear refusal:\n%s%s", r.code, r.stdout, r.stderr)
	}

	if got := entries(); !slices.Equal(got, []string{"hostwall", "policy.v4", "run", "xtables.lock"}) {
		t.Errorf("after the runs the root holds %v, want the binary, the policy, the /run hostwall made and the lock file", got)
	}
	if !lockFree(t, filepath.Join(root, "xtables.lock")) {
		t.Error("the xtables lock is still held")
	}
}

// nobody is the unprivileged user the privilege tests run hostwall as;
// the kernel needs no passwd entry for it.
const nobody = 65534

// asNobody prepares cmd to run as uid and gid 65534 with no groups and
// only the given ambient capabilities.
func asNobody(cmd *exec.Cmd, lockFile string, caps ...uintptr) {
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential:  &syscall.Credential{Uid: nobody, Gid: nobody},
		AmbientCaps: caps,
	}
	cmd.Env = append(envWithout("XTABLES_LOCKFILE"), "XTABLES_LOCKFILE="+lockFile)
}

// TestLeastPrivilege: an unprivileged user manages the tables of a
// network namespace it owns through a user namespace
// (unshare --user --map-root-user --net) as root manages its own; without
// CAP_NET_ADMIN over a namespace, hostwall fails with exit status 1 and
// a message naming the capability it lacks, and changes nothing.
func TestLeastPrivilege(t *testing.T) {
	nstest.Require(t)
	nstest.RequireTools(t, "unshare", "sh")
	requireUserns(t)

	// A directory the unprivileged user can read: the binary, the
	// policy, and a lock file it may take.
	dir, err := os.MkdirTemp("", "hostwall-priv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin, policyPath, lockFile := filepath.Join(dir, "hostwall"), filepath.Join(dir, "policy.v4"), filepath.Join(dir, "xtables.lock")
	data, err := os.ReadFile(nstest.Bin)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := os.ReadFile("testdata/policy/seed-docker.v4")
	if err != nil {
		t.Fatal(err)
	}
	for path, content := range map[string][]byte{bin: data, policyPath: pol, lockFile: nil} {
		if err := os.WriteFile(path, content, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(lockFile, nobody, nobody); err != nil {
		t.Fatal(err)
	}

	t.Run("own-userns", func(t *testing.T) {
		// What root's apply leaves in a fresh namespace.
		refNS := nstest.Netns(t)
		nstest.MustHostwall(t, refNS, "apply", "--backend", "legacy", "-4", policyPath)
		want := nstest.StripComments(nstest.Run(t, refNS, nil, "iptables-legacy-save", "-t", "filter"))

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		script := `set -e
test "$(cat /proc/self/uid_map | tr -s ' ')" = " 0 65534 1"
"$0" apply --backend legacy -4 "$1"
echo ---
"$0" apply --backend legacy -4 "$1"
echo ---
"$0" save --backend legacy -t filter`
		cmd := exec.CommandContext(ctx, "unshare", "--user", "--map-root-user", "--net", "sh", "-c", script, bin, policyPath)
		asNobody(cmd, lockFile)
		r := mustRunCmd(t, cmd)
		if r.code != 0 {
			t.Fatalf("as uid %d in its own user and network namespace: exit %d\n%s%s", nobody, r.code, r.stdout, r.stderr)
		}
		parts := strings.Split(r.stdout, "---\n")
		if len(parts) != 3 {
			t.Fatalf("unexpected output:\n%s", r.stdout)
		}
		if !strings.Contains(parts[0], "IPv4 filter: written") {
			t.Errorf("first apply did not write:\n%s", parts[0])
		}
		if !strings.Contains(parts[1], "IPv4 filter: no change, nothing written") {
			t.Errorf("second apply:\n%s", parts[1])
		}
		if got := nstest.StripComments(parts[2]); got != want {
			t.Errorf("the unprivileged user's table differs from root's: %s", nstest.FirstDiff(got, want))
		}
	})

	t.Run("without-cap-net-admin", func(t *testing.T) {
		ns := nstest.Netns(t)
		base, err := os.ReadFile("testdata/base/docker.v4.rules")
		if err != nil {
			t.Fatal(err)
		}
		nstest.Run(t, ns, base, "iptables-legacy-restore", "-c")
		before := filterBlob(t, ns)
		// A child forked from a thread inside ns starts there.
		var where cmdResult
		nstest.InNetns(t, ns, func() { where, err = runCmd(exec.Command("ip", "netns", "identify")) })
		if err != nil || strings.TrimSpace(where.stdout) != ns {
			t.Fatalf("a command started inside %s runs in %q (%v)", ns, where.stdout, err)
		}

		cases := []struct {
			name   string
			caps   []uintptr
			userns bool // in a user namespace of its own, which does not own ns
			want   string
		}{
			{"no-capabilities", nil, false, "missing capabilities CAP_NET_ADMIN and CAP_NET_RAW"},
			{"cap-net-raw-only", []uintptr{unix.CAP_NET_RAW}, false, "missing capability CAP_NET_ADMIN"},
			{"cap-net-admin-only", []uintptr{unix.CAP_NET_ADMIN}, false, "missing capability CAP_NET_RAW"},
			{"root-of-another-userns", nil, true, "not in the user namespace that owns this network namespace"},
		}
		for _, c := range cases {
			for _, args := range [][]string{{"apply", "--backend", "legacy", "-4", policyPath}, {"save", "--backend", "legacy", "-t", "filter"}} {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				argv := append([]string{bin}, args...)
				if c.userns {
					argv = append([]string{"unshare", "--user", "--map-root-user"}, argv...)
				}
				cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
				asNobody(cmd, lockFile, c.caps...)
				var r cmdResult
				nstest.InNetns(t, ns, func() { r, err = runCmd(cmd) })
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				if r.code != 1 || !strings.Contains(r.stderr, c.want) || strings.Contains(r.stderr, policyPath) || strings.Count(r.stderr, "\n") != 1 {
					t.Errorf("%s: hostwall %s: exit %d, want 1 and one line saying %q (not blaming the policy):\n%s%s",
						c.name, args[0], r.code, c.want, r.stdout, r.stderr)
				}
			}
		}
		if !bytes.Equal(filterBlob(t, ns), before) {
			t.Error("the filter table changed")
		}
	})
}
