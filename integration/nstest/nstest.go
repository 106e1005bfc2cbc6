// Package nstest is the harness of hostwall's integration tests: network
// namespaces made and removed per test, commands run inside them, and the
// Hostwall binary built once per test run. Only tests import it.
package nstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/xtables"
)

// Main is TestMain for a package of integration tests: it builds the
// hostwall binary from cmdDir (relative to the package) and runs them.
func Main(m *testing.M, cmdDir string) {
	cleanup, err := Build(cmdDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// Build compiles the static hostwall binary into a temporary directory
// and sets Bin; the returned function removes it. Where no Go toolchain
// is at hand (the VM test), $HOSTWALL_BIN names a prebuilt binary.
func Build(pkgDir string) (func(), error) {
	if p := os.Getenv("HOSTWALL_BIN"); p != "" {
		Bin = p
		return func() {}, nil
	}
	dir, err := os.MkdirTemp("", "hostwall-it-")
	if err != nil {
		return nil, err
	}
	Bin = filepath.Join(dir, "hostwall")
	build := exec.Command("go", "build", "-trimpath", "-o", Bin, pkgDir)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("build hostwall: %v\n%s", err, out)
	}
	return func() { os.RemoveAll(dir) }, nil
}

// Bin is the static hostwall binary built by Build.
var Bin string

// Require fails (under CI) or skips (elsewhere) when a prerequisite of
// the integration tests is missing.
func Require(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	missing = append(missing, MissingTools("ip", "iptables-legacy-restore", "iptables-legacy-save", "ip6tables-legacy-restore", "ip6tables-legacy-save")...)
	Unavailable(t, "integration test needs", missing)
}

// RequireTools is Require for further programs a test runs.
func RequireTools(t *testing.T, tools ...string) {
	t.Helper()
	Unavailable(t, "test needs", MissingTools(tools...))
}

// MissingTools lists the programs not found on $PATH.
func MissingTools(tools ...string) []string {
	var missing []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	return missing
}

// Unavailable ends a test whose prerequisites are missing: a failure
// under CI=true, so that a green CI run means every test ran, and a skip
// elsewhere. It does nothing when missing is empty.
func Unavailable(t *testing.T, what string, missing []string) {
	t.Helper()
	if len(missing) == 0 {
		return
	}
	msg := what + " " + strings.Join(missing, ", ")
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: failing instead of skipping)")
	}
	t.Skip(msg)
}

// Netns creates a network namespace that is removed when the test ends.
func Netns(t *testing.T) string {
	t.Helper()
	var b [4]byte
	rand.Read(b[:])
	name := "hwtest-" + hex.EncodeToString(b[:])
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", name, err, out)
		}
		os.Remove(filepath.Join(os.TempDir(), "hwtest-"+name+".lock"))
	})
	return name
}

// InNetns runs fn on an OS thread that has entered the namespace, so
// sockets fn opens belong to it; the thread is returned to the test's
// namespace after.
func InNetns(t *testing.T, ns string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	var failure any
	go func() {
		defer close(done)
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			failure = err
			return
		}
		defer orig.Close()
		target, err := os.Open("/run/netns/" + ns)
		if err != nil {
			failure = err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			failure = err
			return
		}
		defer func() {
			if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err == nil {
				runtime.UnlockOSThread()
			} // else: leave the thread locked so it dies with the goroutine
			if r := recover(); r != nil {
				failure = r
			}
		}()
		fn()
	}()
	<-done
	if failure != nil {
		t.Fatalf("in netns %s: %v", ns, failure)
	}
}

// Run runs a command inside a namespace with stdin and returns stdout;
// a non-zero exit fails the test.
func Run(t *testing.T, ns string, stdin []byte, name string, args ...string) string {
	t.Helper()
	out, err := Try(ns, stdin, name, args...)
	if err != nil {
		t.Fatalf("%s %s in %s: %v", name, strings.Join(args, " "), ns, err)
	}
	return out
}

// Try is nsRun returning the error, stderr included in it.
func Try(ns string, stdin []byte, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Each test has its own lock file: tests in different namespaces do
	// not contend, and the machine's /run/xtables.lock is left alone.
	cmd.Env = append(os.Environ(), "XTABLES_LOCKFILE="+filepath.Join(os.TempDir(), "hwtest-"+ns+".lock"))
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// StripComments drops the "# Generated by"/"# Completed on" lines.
func StripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}

// FirstDiff describes where two texts part, for readable failures.
func FirstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  got  %q\n  want %q", i+1, x, y)
		}
	}
	return "no difference"
}

// ReadRaw reads a table's info and blob inside a namespace.
func ReadRaw(t *testing.T, ns string, fam *xtables.Family, table string) (xtables.Info, []byte) {
	t.Helper()
	var info xtables.Info
	var blob []byte
	InNetns(t, ns, func() {
		conn, err := xtables.Open(fam)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if info, blob, err = conn.ReadRaw(ctx, table); err != nil {
			t.Fatal(err)
		}
	})
	return info, blob
}

// WithoutCounters is a table's blob with every counter zeroed: what two
// tables with the same rules have in common whatever traffic they saw.
func WithoutCounters(t *testing.T, fam *xtables.Family, info xtables.Info, blob []byte) []byte {
	t.Helper()
	tbl, err := xtables.Decode(fam, info, blob)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range tbl.Chains {
		c.Counters = xtables.Counters{}
		for _, r := range c.Rules {
			r.Counters = xtables.Counters{}
		}
	}
	enc, err := xtables.Encode(tbl)
	if err != nil {
		t.Fatal(err)
	}
	return enc.Blob
}

// Hostwall runs the binary in a namespace and returns its output and
// exit status.
func Hostwall(t *testing.T, ns string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, Bin}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.Env = append(os.Environ(), "XTABLES_LOCKFILE="+filepath.Join(os.TempDir(), "hwtest-"+ns+".lock"))
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run hostwall: %v", err)
	}
	return o.String(), e.String(), code
}

func MustHostwall(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, errOut, code := Hostwall(t, ns, args...)
	if code != 0 {
		t.Fatalf("hostwall %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// LoopbackTraffic makes n TCP connections over the namespace's loopback,
// so rules on lo count packets. Nothing leaves the namespace.
func LoopbackTraffic(t *testing.T, ns string, n int) {
	t.Helper()
	InNetns(t, ns, func() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		// Every connection is closed on both sides before this returns:
		// a server close that came later would move the counters of a
		// test that compares them with what it read after the traffic.
		closed := make(chan struct{}, n)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
				closed <- struct{}{}
			}
		}()
		for i := 0; i < n; i++ {
			c, err := net.DialTimeout("tcp", ln.Addr().String(), 2*time.Second)
			if err != nil {
				ln.Close()
				t.Fatal(err)
			}
			c.Close()
		}
		for i := 0; i < n; i++ {
			select {
			case <-closed:
			case <-time.After(5 * time.Second):
				ln.Close()
				t.Fatalf("the server closed %d of %d connections", i, n)
			}
		}
		ln.Close()
	})
}

func FindLine(t *testing.T, text, suffix string) string {
	t.Helper()
	for _, l := range strings.Split(text, "\n") {
		if strings.HasSuffix(l, suffix) {
			return l
		}
	}
	t.Fatalf("no line ending in %q in:\n%s", suffix, text)
	return ""
}

// ChildPID is the first child of process pid, as the kernel lists them
// (/proc/PID/task/PID/children): the program a wrapper such as timeout
// runs, to be signalled by PID.
func ChildPID(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0, err
	}
	var child int
	if _, err := fmt.Sscan(string(b), &child); err != nil {
		return 0, fmt.Errorf("process %d has no child", pid)
	}
	return child, nil
}
