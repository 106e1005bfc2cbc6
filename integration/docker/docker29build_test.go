package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hostwall/hostwall/integration/nstest"
)

// Docker 29's engine is the Go module github.com/moby/moby/v2; this is
// the newest tag the Go module proxy serves (releases/versions.yaml in
// it names 29.8.0 as the last release). dockerd's own --version says
// "library-import": the module build stamps no version.
const (
	docker29Module  = "github.com/moby/moby/v2"
	docker29Version = "v2.0.0-beta.24"
)

// docker29Cmds are what the tests need built: dockerd, and its own
// docker-proxy (Debian's 20.10 one fails with "failed to start
// docker-proxy, check that the current version is in your $PATH").
var docker29Cmds = []string{"dockerd", "docker-proxy"}

// cacheRoot is where built engines stay between test runs: outside the
// clone, so that a fresh checkout or `git clean` does not cost another
// build. $HOSTWALL_TEST_CACHE moves it.
func cacheRoot() string {
	if d := os.Getenv("HOSTWALL_TEST_CACHE"); d != "" {
		return d
	}
	return "/var/cache/hostwall-test"
}

// stampName marks a complete cache directory; it is written last, before
// the directory is renamed into place.
const stampName = "BUILT"

// docker29Engine returns Docker 29's engine, building it the first time
// (about 4 minutes on 2 cores) into cacheRoot()/docker29-VERSION. Builds
// go to a temporary directory beside it, renamed into place when done, so
// an interrupted build never leaves a half cache; a lock file keeps two
// test processes from building at once. Without a Go toolchain and no
// cache the test is skipped, or fails under CI=true.
func docker29Engine(t *testing.T) engine {
	t.Helper()
	root := cacheRoot()
	dir := filepath.Join(root, "docker29-"+docker29Version)
	eng := engine{
		name:    "29",
		dockerd: filepath.Join(dir, "dockerd"),
		proxy:   filepath.Join(dir, "docker-proxy"),
		modern:  true,
	}
	if cacheComplete(dir) {
		return eng
	}
	if _, err := exec.LookPath("go"); err != nil {
		nstest.Unavailable(t, "docker 29 test needs", []string{"go (to build " + docker29Module + "@" + docker29Version + " into " + dir + ")"})
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	unlock := lockFile(t, filepath.Join(root, "docker29-"+docker29Version+".lock"), 30*time.Minute)
	defer unlock()
	if cacheComplete(dir) { // another test process built it meanwhile
		return eng
	}
	// Whatever is here is a leftover: a build interrupted before its
	// rename, or a directory without its stamp.
	stale, _ := filepath.Glob(filepath.Join(root, ".docker29-"+docker29Version+".build-*"))
	if _, err := os.Lstat(dir); err == nil {
		stale = append(stale, dir)
	}
	for _, p := range stale {
		t.Logf("removing the leftover %s", p)
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
	}
	tmp, err := os.MkdirTemp(root, ".docker29-"+docker29Version+".build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp) // nothing left once renamed
	start := time.Now()
	t.Logf("building Docker 29's engine (%s@%s) into %s; the first time takes minutes", docker29Module, docker29Version, dir)
	for _, cmd := range docker29Cmds {
		goInstall(t, tmp, docker29Module+"/cmd/"+cmd+"@"+docker29Version)
	}
	out, err := exec.Command(filepath.Join(tmp, "dockerd"), "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("the built dockerd --version: %v\n%s", err, out)
	}
	goVersion, _ := exec.Command("go", "version").Output()
	stamp := fmt.Sprintf("%s@%s\ncommands: %s\n%sdockerd --version: %sbuilt %s in %v\n",
		docker29Module, docker29Version, strings.Join(docker29Cmds, " "), goVersion, out,
		time.Now().UTC().Format(time.RFC3339), time.Since(start).Round(time.Second))
	if err := os.WriteFile(filepath.Join(tmp, stampName), []byte(stamp), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp made it 0700
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("built Docker 29's engine in %v", time.Since(start).Round(time.Second))
	return eng
}

// cacheComplete: the stamp is there, and so is every command.
func cacheComplete(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, stampName)); err != nil {
		return false
	}
	for _, cmd := range docker29Cmds {
		if st, err := os.Stat(filepath.Join(dir, cmd)); err != nil || st.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// goInstall runs `go install pkg@version` with GOBIN=bin, bounded in
// time. It builds with go install's own defaults (cgo as the toolchain
// has it); a cgo failure is retried once with CGO_ENABLED=0.
func goInstall(t *testing.T, bin, pkg string) {
	t.Helper()
	out, err := runGoInstall(bin, pkg)
	if err != nil && bytes.Contains(out, []byte("cgo")) {
		t.Logf("go install %s failed with cgo; trying CGO_ENABLED=0:\n%s", pkg, out)
		out, err = runGoInstall(bin, pkg, "CGO_ENABLED=0")
	}
	if err != nil {
		t.Fatalf("go install %s: %v\n%s", pkg, err, out)
	}
}

func runGoInstall(bin, pkg string, env ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", pkg)
	// Outside any module of ours, and with none of the caller's flags
	// (-mod=vendor and the like do not apply to pkg@version).
	cmd.Dir = bin
	cmd.Env = append(os.Environ(), append([]string{"GOBIN=" + bin, "GOFLAGS=", "GOWORK=off"}, env...)...)
	// Its own process group, killed whole on timeout; and gone with the
	// test process if that dies (go test's own timeout). Pdeathsig is
	// sent when the forking thread exits: the goroutine keeps that thread
	// until the build is over.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd.CombinedOutput()
}

// lockFile takes an exclusive flock on path, waiting at most within; the
// returned function releases it. The kernel releases it too if the test
// process dies.
func lockFile(t *testing.T, path string, within time.Duration) func() {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(within)
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			t.Fatalf("lock %s: %v", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			t.Fatalf("lock %s: still held by another process after %v", path, within)
		}
		if !logged {
			t.Logf("waiting for %s: another test process is building", path)
			logged = true
		}
		time.Sleep(time.Second)
	}
}
