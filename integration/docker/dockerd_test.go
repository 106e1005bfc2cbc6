package docker

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hostwall/hostwall/integration/nstest"
)

// busyboxPath is where Debian's busybox-static puts its binary.
const busyboxPath = "/bin/busybox"

// dockerCLI is the engine's own client. A newer docker CLI elsewhere on
// PATH (some images put one in /usr/local/bin) may speak another API
// version, so the docker.io package's /usr/bin/docker comes first.
func dockerCLI() string {
	if st, err := os.Stat("/usr/bin/docker"); err == nil && st.Mode()&0o111 != 0 {
		return "/usr/bin/docker"
	}
	p, _ := exec.LookPath("docker")
	return p
}

// requireDocker is nstest.Require for this package: root, iptables-legacy
// (the backend dockerd is given) and Debian's docker.io and busybox-static.
// Missing ones skip the test, or fail it under CI=true.
func requireDocker(t *testing.T) {
	t.Helper()
	nstest.Require(t)
	missing := nstest.MissingTools("dockerd", "containerd", "containerd-shim-runc-v2", "runc", "docker-proxy", "docker-init", "unshare", "nsenter", "sh", "mount")
	if dockerCLI() == "" {
		missing = append(missing, "docker (the client)")
	}
	if err := staticELF(busyboxPath); err != nil {
		missing = append(missing, "a static "+busyboxPath+" (busybox-static): "+err.Error())
	}
	if len(missing) > 0 {
		missing = append(missing, "(make deps installs them)")
	}
	nstest.Unavailable(t, "docker test needs", missing)
}

// staticELF reports why path is not a statically linked executable: the
// image holds nothing but busybox, so it must need no loader.
func staticELF(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("dynamically linked")
		}
	}
	return nil
}

// netns creates a network namespace removed when the test ends, as
// nstest.Netns does, under a name of this test's own ("hwdock-") so that
// anything left behind is told from other tests' namespaces.
func netns(t *testing.T) string {
	t.Helper()
	name := "hwdock-" + randHex(4)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", name, err, out)
		}
		os.Remove(filepath.Join(os.TempDir(), "hwtest-"+name+".lock")) // nstest's lock file
	})
	return name
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// busyboxImage is a tar of a root filesystem: the static busybox, a
// symlink per applet, and /www/index.html holding token.
func busyboxImage(token string) ([]byte, error) {
	bin, err := os.ReadFile(busyboxPath)
	if err != nil {
		return nil, fmt.Errorf("read busybox: %w", err)
	}
	list, err := exec.Command(busyboxPath, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox --list: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	add := func(h *tar.Header, data []byte) error {
		h.ModTime = now
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, d := range []string{"bin/", "www/", "tmp/"} {
		if err := add(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755}, nil); err != nil {
			return nil, err
		}
	}
	if err := add(&tar.Header{Typeflag: tar.TypeReg, Name: "bin/busybox", Mode: 0o755, Size: int64(len(bin))}, bin); err != nil {
		return nil, err
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		if err := add(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777}, nil); err != nil {
			return nil, err
		}
	}
	page := []byte(token + "\n")
	if err := add(&tar.Header{Typeflag: tar.TypeReg, Name: "www/index.html", Mode: 0o644, Size: int64(len(page))}, page); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// xtVariant is the iptables dockerd is given: the -legacy (x_tables) or
// the -nft (nf_tables) build of iptables, ip6tables and their -save and
// -restore.
type xtVariant string

const (
	legacy xtVariant = "legacy"
	nft    xtVariant = "nft"
)

// engine is a Docker engine: its dockerd and, where Debian's does not
// fit it, its own docker-proxy. containerd, runc and docker-init are
// Debian's for every engine.
type engine struct {
	name    string // for test names and logs: "20.10", "29"
	dockerd string // absolute path
	proxy   string // docker-proxy to put first on PATH; "" for PATH's
	modern  bool   // Docker 29's daemon.json (time-namespaces off; no key file)
}

// debianEngine is Debian's docker.io, found on PATH.
func debianEngine(t *testing.T) engine {
	t.Helper()
	p, err := exec.LookPath("dockerd")
	if err != nil {
		t.Fatal(err)
	}
	return engine{name: "20.10", dockerd: p}
}

// dockerOpts chooses what newDockerHostWith runs.
type dockerOpts struct {
	engine   engine    // zero: Debian's dockerd
	iptables xtVariant // "": legacy
	// firewallBackend is daemon.json's "firewall-backend" (Docker 29):
	// "" (its default, iptables) or "nftables". The nftables backend
	// refuses to start without IPv4 forwarding, so it is turned on in
	// the namespace first.
	firewallBackend string
}

// dockerHost is a real dockerd running in a network namespace of the
// test's, with every path of its own: data, exec state, pid file, API
// socket, cgroup parent, and a tmpfs over /run in a mount namespace of
// its own (containerd puts its shims' sockets in /run/containerd, which
// no flag moves). Docker's iptables is the variant chosen (legacy or nft)
// through a directory of symlinks first on its PATH, which also holds
// the engine's dockerd and docker-proxy when they are not Debian's.
type dockerHost struct {
	t      *testing.T
	ns     string // network namespace dockerd runs in
	nsIno  uint64 // its inode, to find its processes
	dir    string // everything on disk
	cgroup string // --cgroup-parent
	lock   string // XTABLES_LOCKFILE, shared with hostwall (nstest's)
	cli    string
	opts   dockerOpts

	cmd    *exec.Cmd
	exited chan struct{}
}

func (d *dockerHost) path(name string) string { return filepath.Join(d.dir, name) }
func (d *dockerHost) sock() string            { return d.path("docker.sock") }

// newDockerHost is Debian's dockerd on iptables-legacy.
func newDockerHost(t *testing.T, ns string) *dockerHost {
	t.Helper()
	return newDockerHostWith(t, ns, dockerOpts{})
}

// newDockerHostWith prepares the paths, the PATH directory and the
// daemon's config; start runs dockerd. Cleanup stops everything and
// checks nothing stayed.
func newDockerHostWith(t *testing.T, ns string, opts dockerOpts) *dockerHost {
	t.Helper()
	if opts.engine.dockerd == "" {
		opts.engine = debianEngine(t)
	}
	if opts.iptables == "" {
		opts.iptables = legacy
	}
	if opts.firewallBackend != "" && !opts.engine.modern {
		t.Fatalf("firewall-backend %q needs Docker 29; dockerd %s refuses the key", opts.firewallBackend, opts.engine.name)
	}
	dir, err := os.MkdirTemp("", "hwdocker-")
	if err != nil {
		t.Fatal(err)
	}
	d := &dockerHost{
		t:      t,
		ns:     ns,
		dir:    dir,
		cgroup: "hwtest-docker-" + randHex(4),
		lock:   filepath.Join(os.TempDir(), "hwtest-"+ns+".lock"),
		cli:    dockerCLI(),
		opts:   opts,
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+ns, &st); err != nil {
		t.Fatalf("stat netns %s: %v", ns, err)
	}
	d.nsIno = st.Ino
	untouched := hostPathsBefore()
	t.Cleanup(func() { d.cleanup(untouched) })

	bin := d.path("bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{}
	for _, fam := range []string{"iptables", "ip6tables"} {
		for _, suffix := range []string{"", "-save", "-restore"} {
			target, err := exec.LookPath(fam + "-" + string(opts.iptables) + suffix)
			if err != nil {
				t.Fatal(err)
			}
			links[fam+suffix] = target
		}
	}
	links["dockerd"] = opts.engine.dockerd
	if opts.engine.proxy != "" {
		links["docker-proxy"] = opts.engine.proxy
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	// The daemon's own config file, not /etc/docker/daemon.json.
	config := map[string]any{}
	if opts.engine.modern {
		// Debian's runc 1.1.5 knows no time namespace: without this
		// every docker run fails (namespace {"time" ""} does not exist).
		config["features"] = map[string]bool{"time-namespaces": false}
	} else {
		// dockerd 20.10 makes a key file: not /etc/docker/key.json.
		config["deprecated-key-path"] = d.path("key.json")
	}
	if opts.firewallBackend != "" {
		config["firewall-backend"] = opts.firewallBackend
	}
	js, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.path("daemon.json"), append(js, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if opts.firewallBackend == "nftables" {
		nstest.Run(t, ns, nil, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
	}
	return d
}

// save is iptables-save of dockerd's variant in its namespace, comments
// stripped.
func (d *dockerHost) save(args ...string) string {
	d.t.Helper()
	return nstest.StripComments(nstest.Run(d.t, d.ns, nil, "iptables-"+string(d.opts.iptables)+"-save", args...))
}

// natRules is where Docker's DNAT rules are, in whichever firewall
// backend the daemon was given: iptables-save's nat table, or nft's
// table ip docker-bridges.
func (d *dockerHost) natRules() string {
	d.t.Helper()
	if d.opts.firewallBackend == "nftables" {
		out, err := nstest.Try(d.ns, nil, "nft", "list", "table", "ip", "docker-bridges")
		if err != nil {
			return err.Error()
		}
		return out
	}
	return d.save("-t", "nat")
}

// nftDNAT matches Docker's nftables DNAT of port to ip:80 (ip a regexp),
// as nft 1.0.6 lists it: `iifname != "docker0" tcp dport 8080 counter
// packets 0 bytes 0 dnat to 172.17.0.2:80 comment "DNAT"`.
func nftDNAT(port, ip string) *regexp.Regexp {
	return regexp.MustCompile(`\btcp dport ` + port + ` (counter packets \d+ bytes \d+ )?dnat (ip )?to ` + ip + `:80\b`)
}

// hasDNAT reports whether Docker's rules DNAT the host's port to ip:80.
func (d *dockerHost) hasDNAT(port, ip string) bool {
	d.t.Helper()
	if d.opts.firewallBackend == "nftables" {
		return nftDNAT(port, regexp.QuoteMeta(ip)).MatchString(d.natRules())
	}
	return strings.Contains(d.natRules(), "--dport "+port+" -j DNAT --to-destination "+ip+":80")
}

// start runs dockerd and waits until its API answers.
func (d *dockerHost) start() {
	t := d.t
	t.Helper()
	dockerd := filepath.Join(d.path("bin"), "dockerd")
	log, err := os.OpenFile(d.path("dockerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	args := []string{
		"--mount", "--propagation", "private", "--",
		"nsenter", "--net=/run/netns/" + d.ns, "--",
		"sh", "-c", `mount -t tmpfs -o mode=0755 hwtest-docker-run /run && exec "$@"`, "sh",
		dockerd,
		"--config-file", d.path("daemon.json"),
		"--data-root", d.path("data"),
		"--exec-root", d.path("exec"),
		"--pidfile", d.path("docker.pid"),
		"-H", "unix://" + d.sock(),
		"--cgroup-parent", "/" + d.cgroup,
		"--iptables=true",
	}
	cmd := exec.Command("unshare", args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = cleanEnv("PATH="+d.path("bin")+":"+os.Getenv("PATH"), "XTABLES_LOCKFILE="+d.lock)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dockerd: %v", err)
	}
	d.cmd, d.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) { cmd.Wait(); close(exited) }(d.exited)

	// unshare, nsenter and sh each exec the next: the PID is dockerd's.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := d.api()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
		if resp, err := client.Do(req); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) == "OK" {
				break
			}
		}
		select {
		case <-d.exited:
			t.Fatalf("dockerd exited while starting:\n%s", d.logTail())
		case <-ctx.Done():
			t.Fatalf("dockerd did not answer within 60s:\n%s", d.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if pid, err := os.ReadFile(d.path("docker.pid")); err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(cmd.Process.Pid) {
		t.Fatalf("pid file %q (%v), started PID %d", pid, err, cmd.Process.Pid)
	}
}

// cleanEnv is the test's environment without anything that would point
// dockerd or its client elsewhere (DOCKER_*, NOTIFY_SOCKET), plus set.
func cleanEnv(set ...string) []string {
	env := set
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "DOCKER_") || name == "NOTIFY_SOCKET" || slices.ContainsFunc(set, func(s string) bool { return strings.HasPrefix(s, name+"=") }) {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (d *dockerHost) api() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.sock())
		},
	}}
}

// stop ends dockerd by its PID: SIGTERM (dockerd stops its containers),
// SIGKILL if it has not exited within 30 s.
func (d *dockerHost) stop() error {
	if d.cmd == nil {
		return nil
	}
	defer func() { d.cmd = nil }()
	select {
	case <-d.exited:
		return fmt.Errorf("dockerd (PID %d) had exited by itself:\n%s", d.cmd.Process.Pid, d.logTail())
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		return nil
	case <-time.After(30 * time.Second):
	}
	d.cmd.Process.Kill()
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
	}
	return fmt.Errorf("dockerd (PID %d) ignored SIGTERM for 30s and was killed", d.cmd.Process.Pid)
}

// docker runs the client against this dockerd.
func (d *dockerHost) docker(stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.cli, args...)
	cmd.Env = cleanEnv("DOCKER_HOST=unix://"+d.sock(), "DOCKER_CONFIG="+d.path("cli"))
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

func (d *dockerHost) mustDocker(stdin []byte, args ...string) string {
	d.t.Helper()
	out, err := d.docker(stdin, args...)
	if err != nil {
		d.t.Fatalf("%v\n%s", err, d.logTail())
	}
	return out
}

func (d *dockerHost) logTail() string {
	b, _ := os.ReadFile(d.path("dockerd.log"))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 25 {
		lines = lines[len(lines)-25:]
	}
	return "dockerd log (last lines):\n  " + strings.Join(lines, "\n  ")
}

// leftovers lists the processes this dockerd left: any process in its
// network namespace (dockerd, containerd, shims, docker-proxy) or in its
// cgroup parent (the containers').
func (d *dockerHost) leftovers() []int {
	var pids []int
	want := fmt.Sprintf("net:[%d]", d.nsIno)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid)); err == nil && link == want {
			pids = append(pids, pid)
		}
	}
	for _, dir := range d.cgroupDirs() {
		filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() || e.Name() != "cgroup.procs" {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && !slices.Contains(pids, pid) {
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	slices.Sort(pids)
	return pids
}

// waitNoProcesses waits (bounded) until dockerd's processes are all gone.
func (d *dockerHost) waitNoProcesses(within time.Duration) []int {
	deadline := time.Now().Add(within)
	for {
		left := d.leftovers()
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cgroupDirs are the --cgroup-parent directories in every hierarchy.
func (d *dockerHost) cgroupDirs() []string {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + d.cgroup)
	if st, err := os.Stat("/sys/fs/cgroup/" + d.cgroup); err == nil && st.IsDir() {
		dirs = append(dirs, "/sys/fs/cgroup/"+d.cgroup)
	}
	return dirs
}

func describe(pids []int) string {
	var b strings.Builder
	for _, pid := range pids {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		fmt.Fprintf(&b, "\n  %d %s", pid, strings.ReplaceAll(string(bytes.TrimRight(cmdline, "\x00")), "\x00", " "))
	}
	return b.String()
}

// cleanup removes everything the test started, and fails the test for
// anything a clean shutdown should not have left.
func (d *dockerHost) cleanup(untouched map[string]bool) {
	t := d.t
	if d.cmd != nil {
		if ids, err := d.docker(nil, "ps", "-aq"); err == nil && ids != "" {
			if _, err := d.docker(nil, append([]string{"rm", "-f"}, strings.Fields(ids)...)...); err != nil {
				t.Error(err)
			}
		}
		if err := d.stop(); err != nil {
			t.Error(err)
		}
	}
	if left := d.waitNoProcesses(10 * time.Second); len(left) > 0 {
		t.Errorf("processes left after dockerd stopped (killed now):%s", describe(left))
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		d.waitNoProcesses(10 * time.Second)
	}
	for _, dir := range d.cgroupDirs() {
		if err := removeCgroup(dir); err != nil {
			t.Error(err)
		}
	}
	if mounts := mountsUnder(d.dir); len(mounts) > 0 {
		t.Errorf("mounts left under %s: %s", d.dir, strings.Join(mounts, ", "))
	} else if err := os.RemoveAll(d.dir); err != nil {
		t.Errorf("remove %s: %v", d.dir, err)
	}
	os.Remove(d.lock)
	for p, existed := range hostPathsBefore() {
		if existed && !untouched[p] {
			t.Errorf("%s was created outside the test's own paths", p)
		}
	}
}

// hostPathsBefore: the paths a default dockerd would write, which this
// one must not.
func hostPathsBefore() map[string]bool {
	m := map[string]bool{}
	for _, p := range []string{"/etc/docker/key.json", "/run/containerd", "/run/docker", "/run/docker.sock", "/var/lib/docker", "/var/lib/containerd"} {
		_, err := os.Lstat(p)
		m[p] = err == nil
	}
	return m
}

// removeCgroup removes a cgroup directory, children first, retrying while
// the kernel still counts exiting tasks in it.
func removeCgroup(dir string) error {
	var err error
	for try := 0; try < 50; try++ {
		var dirs []string
		filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		err = nil
		for i := len(dirs) - 1; i >= 0; i-- {
			if e := syscall.Rmdir(dirs[i]); e != nil && !errors.Is(e, syscall.ENOENT) {
				err = fmt.Errorf("rmdir %s: %w", dirs[i], e)
			}
		}
		if err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// mountsUnder lists this mount namespace's mount points below dir.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return []string{err.Error()}
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			out = append(out, fields[4])
		}
	}
	return out
}

// dial opens a TCP connection from inside a namespace; the socket stays
// in that namespace whatever goroutine uses it afterwards.
func dial(t *testing.T, ns, addr string) (conn net.Conn, err error) {
	t.Helper()
	nstest.InNetns(t, ns, func() {
		d := net.Dialer{Timeout: 3 * time.Second}
		conn, err = d.Dial("tcp", addr)
	})
	return conn, err
}

// get sends an HTTP/1.0 GET on conn and returns the whole response.
func get(conn net.Conn) (string, error) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\nHost: test\r\n\r\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(conn)
	return string(b), err
}
