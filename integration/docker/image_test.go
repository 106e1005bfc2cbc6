package docker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hostwall/hostwall/integration/nstest"
)

// TestImage: hostwall's container image, as make image builds it (the
// builder cmd/hostwall/internal/imagebuild on the static binary), is
// loaded with docker load into Debian's dockerd 20.10 (iptables-legacy)
// and Docker 29 (iptables-nft) and run as the README says: host
// network, only NET_ADMIN and NET_RAW, the rules files mounted
// read-only, the host's xtables lock mounted in. apply puts FILTERS and
// its hooks where Docker's rules are; on x_tables the mounted lock is
// the one iptables takes, and without it hostwall makes /run (the image
// has none) and says the lock is shared with nobody. Then watch, run
// detached, puts back a hook flushed under it and answers /readyz.
func TestImage(t *testing.T) {
	requireDocker(t)
	archive, version := buildImage(t)
	for _, gen := range []string{"20.10", "29"} {
		t.Run(gen, func(t *testing.T) {
			opts := dockerOpts{}
			if gen == "29" {
				requireDockerNft(t)
				opts = dockerOpts{engine: docker29Engine(t), iptables: nft}
			}
			imageOnDocker(t, opts, archive, version)
		})
	}
}

// buildImage runs the image builder as make image does, on the binary
// the tests built, for this machine's architecture.
func buildImage(t *testing.T) (archive []byte, version string) {
	t.Helper()
	start := time.Now()
	version = "test-" + randHex(4)
	out := filepath.Join(t.TempDir(), "hostwall-image.tar")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", "../../cmd/hostwall/internal/imagebuild",
		"-arch", runtime.GOARCH, "-version", version, "-revision", "test", "-o", out, nstest.Bin)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "SOURCE_DATE_EPOCH=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("imagebuild: %v\n%s", err, b)
	} else {
		t.Logf("%s(built in %v)", b, time.Since(start).Round(time.Millisecond))
	}
	archive, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return archive, version
}

// v6Rules is the IPv6 file beside policyFile's IPv4 one.
const v6Rules = `*filter
:INPUT ACCEPT [0:0]
:FILTERS - [0:0]
-A INPUT -j FILTERS
-A FILTERS -i lo -j ACCEPT
-A FILTERS -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FILTERS -p ipv6-icmp -j ACCEPT
-A FILTERS -j REJECT
COMMIT
`

// metricsAddr is where the watcher serves /metrics and /readyz, in the
// Docker host's namespace (host network).
const metricsAddr = "127.0.0.1:19101"

func imageOnDocker(t *testing.T, opts dockerOpts, archive []byte, version string) {
	sc := newScene(t)
	d := newDockerHostWith(t, sc.hostNS, opts)
	d.start()
	start := time.Now()
	ref := "hostwall:" + version
	tool := "iptables-" + string(d.opts.iptables)
	save := func() string {
		t.Helper()
		return nstest.StripComments(nstest.Run(t, d.ns, nil, tool+"-save", "-t", "filter"))
	}
	checkApplied := func(when string) {
		t.Helper()
		s := save()
		if d.opts.iptables == nft {
			checkNftHooks(t, d, s, sc.veth)
			expectNoLegacy(t, d.ns, when)
		} else {
			checkHooks(t, s, sc.veth)
		}
		if !strings.Contains(s, "\n-A FILTERS -j REJECT") {
			t.Errorf("%s: no FILTERS rules in %s-save:\n%s", when, tool, s)
		}
		v6 := nstest.StripComments(nstest.Run(t, d.ns, nil, "ip6tables-"+string(d.opts.iptables)+"-save", "-t", "filter"))
		if !strings.Contains(v6, "\n-A INPUT -j FILTERS\n") {
			t.Errorf("%s: no IPv6 INPUT hook in ip6tables-%s-save:\n%s", when, d.opts.iptables, v6)
		}
	}

	// docker load: both tags, the labels, the entrypoint.
	loaded := d.mustDocker(archive, "load")
	for _, tag := range []string{"hostwall:latest", ref} {
		if !strings.Contains(loaded, "Loaded image: "+tag) {
			t.Errorf("docker load did not load %s: %q", tag, loaded)
		}
	}
	inspect := d.mustDocker(nil, "image", "inspect", "-f",
		`{{index .Config.Labels "org.opencontainers.image.version"}} {{json .Config.Entrypoint}} {{.Architecture}}`, "hostwall:latest")
	if want := version + ` ["/usr/sbin/hostwall"] ` + runtime.GOARCH; inspect != want {
		t.Errorf("image inspect: %q, want %q", inspect, want)
	}

	// The rules files, and the host's lock file, mounted as the README
	// says (--mount, which refuses a missing source, not -v, which would
	// make a directory of it).
	rules := t.TempDir()
	for name, text := range map[string]string{"rules.v4": policyFile(sc.veth), "rules.v6": v6Rules} {
		if err := os.WriteFile(filepath.Join(rules, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if f, err := os.OpenFile(d.lock, os.O_CREATE|os.O_RDONLY, 0o600); err != nil {
		t.Fatal(err)
	} else {
		f.Close()
	}
	rulesMount := "--mount=type=bind,source=" + rules + ",target=/etc/iptables,readonly"
	lockMount := "--mount=type=bind,source=" + d.lock + ",target=/run/xtables.lock"
	runArgs := func(mounts ...string) []string {
		return append([]string{"--network", "host", "--cap-drop", "ALL", "--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW"}, mounts...)
	}
	applyArgs := []string{"apply", "-4", "/etc/iptables/rules.v4", "-6", "/etc/iptables/rules.v6"}

	out, errOut, code := d.run(append(append([]string{"run", "--rm"}, runArgs(rulesMount, lockMount)...), append([]string{ref}, applyArgs...)...)...)
	if code != 0 || !strings.Contains(out, "written") || warnings(errOut) != nil {
		t.Fatalf("docker run %s apply: exit %d\n%s%s", ref, code, out, errOut)
	}
	t.Logf("hostwall apply in the container (%v after dockerd was up):\n%s", time.Since(start).Round(time.Millisecond), out)
	checkApplied("after apply in the container")

	if d.opts.iptables == legacy {
		// The mounted lock is the host's: held by another program, the
		// container's apply waits for it, then gives up.
		f, err := os.Open(d.lock)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		_, errOut, code = d.run(append(append([]string{"run", "--rm"}, runArgs(rulesMount, lockMount)...), append([]string{ref}, append(applyArgs, "-w", "0.5")...)...)...)
		f.Close()
		if code != 1 || !strings.Contains(errOut, "another app is currently holding the xtables lock") {
			t.Errorf("apply with the host's lock held: exit %d, stderr %q; want 1 and the lock busy", code, errOut)
		}
		// Without the lock mounted: the image has no /run; hostwall
		// makes it, applies (nothing to change), and warns.
		out, errOut, code = d.run(append(append([]string{"run", "--rm"}, runArgs(rulesMount)...), append([]string{ref}, applyArgs...)...)...)
		if code != 0 || !strings.Contains(out, "no change") ||
			!strings.Contains(errOut, "hostwall: warning: /run did not exist: created it for the xtables lock /run/xtables.lock") {
			t.Errorf("apply without the lock mounted: exit %d\nstdout %q\nstderr %q\nwant no change and the warning", code, out, errOut)
		}
	}

	// watch, detached: ready once applied; a flushed INPUT (the hook)
	// is put back.
	watchStart := time.Now()
	watchArgs := []string{"watch", "-4", "/etc/iptables/rules.v4", "-6", "/etc/iptables/rules.v6",
		"--interval", "200ms", "--metrics-addr", metricsAddr}
	d.mustDocker(nil, append(append([]string{"run", "-d", "--name", "hostwall-watch"}, runArgs(rulesMount, lockMount)...), append([]string{ref}, watchArgs...)...)...)
	waitFor(t, d, 15*time.Second, "watch ready", func() (bool, string) {
		code, body, err := httpGet(t, d.ns, metricsAddr, "/readyz")
		if err != nil {
			return false, err.Error()
		}
		return code == http.StatusOK, fmt.Sprintf("%d %s", code, body)
	})
	t.Logf("watch ready in %v", time.Since(watchStart).Round(time.Millisecond))
	nstest.Run(t, d.ns, nil, tool, "-F", "INPUT")
	if s := save(); strings.Contains(s, "-A INPUT -j FILTERS") {
		t.Fatalf("INPUT still hooked after -F INPUT:\n%s", s)
	}
	flushed := time.Now()
	waitFor(t, d, 15*time.Second, "the hook put back", func() (bool, string) {
		s := save()
		return strings.Contains(s, "\n-A INPUT -j FILTERS\n"), s
	})
	t.Logf("watch put the flushed hook back in %v", time.Since(flushed).Round(time.Millisecond))
	checkApplied("after watch repaired the hook")
	if _, body, err := httpGet(t, d.ns, metricsAddr, "/metrics"); err != nil {
		t.Error(err)
	} else if m := regexp.MustCompile(`(?m)^hostwall_drift_repairs_total ([1-9]\d*)$`).FindStringSubmatch(body); m == nil {
		t.Errorf("/metrics counts no drift repair:\n%s", body)
	}
	// docker stop sends SIGTERM: watch stops and leaves the firewall.
	d.mustDocker(nil, "stop", "-t", "10", "hostwall-watch")
	exit := d.mustDocker(nil, "inspect", "-f", "{{.State.ExitCode}}", "hostwall-watch")
	logs, stderr, _ := d.run("logs", "hostwall-watch")
	t.Logf("watch exited %s after docker stop; its log:\n%s%s", exit, logs, stderr)
	checkApplied("after docker stop of the watcher")
	t.Logf("image test on Docker %s: %v after dockerd was up", d.opts.engine.name, time.Since(start).Round(time.Millisecond))
}

// run runs the docker client and returns its stdout, stderr and exit
// status (-1 when it could not run).
func (d *dockerHost) run(args ...string) (stdout, stderr string, code int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.cli, args...)
	cmd.Env = cleanEnv("DOCKER_HOST=unix://"+d.sock(), "DOCKER_CONFIG="+d.path("cli"))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		code = -1
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), code
}

// waitFor polls cond every 100 ms until it holds, failing the test
// after within with cond's last word.
func waitFor(t *testing.T, d *dockerHost, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			logs, stderr, _ := d.run("logs", "hostwall-watch")
			t.Fatalf("%s: not within %v: %s\nwatcher's log:\n%s%s", what, within, last, logs, stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// httpGet fetches path from addr inside a namespace (HTTP/1.0, one
// connection made there).
func httpGet(t *testing.T, ns, addr, path string) (int, string, error) {
	t.Helper()
	conn, err := dial(t, ns, addr)
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: hostwall\r\n\r\n", path); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}
