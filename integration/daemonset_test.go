package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/hostwall/hostwall/cmd/hostwall/kubernetes"
	"github.com/hostwall/hostwall/integration/nstest"
)

// imageBinary is where make image puts hostwall; the DaemonSet's
// command names it.
const imageBinary = "/usr/sbin/hostwall"

// TestDaemonSet runs the DaemonSet's container as the kubelet would, the
// container runtime aside: its exact command and args (the image's
// binary being the one the tests built) in a network namespace of the
// test's (hostNetwork: the node's), in a mount namespace where each of
// its volumeMounts is bind-mounted at its mountPath over an empty /etc
// and /run (the image has neither): the ConfigMap's files laid out as
// the kubelet writes them (..data symlink) and read-only, the hostPath
// lock (the test namespace's xtables lock standing for the node's
// /run/xtables.lock), the emptyDir. The watcher must apply the files
// (FILTERS and its INPUT hooks, in the backend it detects), answer the
// readinessProbe, apply a ConfigMap update as the kubelet makes it (a
// swap of ..data), and leave the rules when SIGTERM stops it.
//
// It runs on two nodes: one whose rules are in nf_tables, one whose
// kube-proxy-like rule is in x_tables (iptables-legacy), where the lock
// is what keeps writers apart.
func TestDaemonSet(t *testing.T) {
	nstest.Require(t)
	nstest.RequireTools(t, "unshare", "sh", "mount", "mkdir", "timeout", "iptables-nft", "iptables-nft-save", "ip6tables-nft-save")
	for _, node := range []string{"nft", "legacy"} {
		t.Run(node, func(t *testing.T) { daemonSetOn(t, node) })
	}
}

func daemonSetOn(t *testing.T, node string) {
	start := time.Now()
	ds, err := kubernetes.DaemonSet()
	if err != nil {
		t.Fatal(err)
	}
	cm, err := kubernetes.ConfigMap()
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.Container(ds)
	if err != nil {
		t.Fatal(err)
	}
	if !ds.Spec.Template.Spec.HostNetwork {
		t.Fatal("not hostNetwork: the container would not be in the node's namespace")
	}
	ns := nstest.Netns(t)
	nstest.Run(t, ns, nil, "ip", "link", "set", "lo", "up") // a node's is; the probe goes through it
	// What is already on the node decides the backend hostwall detects.
	nstest.Run(t, ns, nil, "iptables-"+node, "-A", "FORWARD", "-s", "192.0.2.1", "-j", "DROP")
	lock := filepath.Join(os.TempDir(), "hwtest-"+ns+".lock") // what nstest's iptables take in ns
	if f, err := os.OpenFile(lock, os.O_CREATE|os.O_RDONLY, 0o600); err != nil {
		t.Fatal(err)
	} else {
		f.Close()
	}

	// The volumes, as the kubelet provides them on the node.
	volumes := map[string]corev1.Volume{}
	for _, v := range ds.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	var configDir, runDir string
	type bind struct {
		src, dst string
		ro       bool
	}
	var binds []bind
	for _, m := range c.VolumeMounts {
		v := volumes[m.Name]
		var src string
		switch {
		case v.ConfigMap != nil:
			if v.ConfigMap.Name != cm.Name {
				t.Fatalf("volume %s is ConfigMap %s; the example is %s", v.Name, v.ConfigMap.Name, cm.Name)
			}
			configDir = t.TempDir()
			writeConfigMap(t, configDir, "..2020_01_01_00_00_00.1", cm.Data)
			src = configDir
		case v.HostPath != nil && v.HostPath.Path == "/run/xtables.lock":
			src = lock
		case v.EmptyDir != nil:
			runDir = t.TempDir()
			src = runDir
		default:
			t.Fatalf("volume %s: no stand-in for %+v", v.Name, v.VolumeSource)
		}
		binds = append(binds, bind{src, m.MountPath, m.ReadOnly})
	}
	slices.SortFunc(binds, func(a, b bind) int { return strings.Count(a.dst, "/") - strings.Count(b.dst, "/") })

	// The mount namespace: tmpfs over the top directory of every mount
	// point, the mount points made in it, the binds.
	var script strings.Builder
	script.WriteString("set -e\n")
	var roots []string
	for _, b := range binds {
		root := "/" + strings.Split(b.dst, "/")[1]
		if !slices.Contains(roots, root) {
			roots = append(roots, root)
			fmt.Fprintf(&script, "mount -t tmpfs -o mode=0755 hwtest-daemonset %s\n", shq(root))
		}
	}
	for _, b := range binds {
		st, err := os.Stat(b.src)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&script, "mkdir -p %s\n", shq(path.Dir(b.dst)))
		if st.IsDir() {
			fmt.Fprintf(&script, "mkdir -p %s\n", shq(b.dst))
		} else {
			fmt.Fprintf(&script, ": > %s\n", shq(b.dst))
		}
		fmt.Fprintf(&script, "mount --bind %s %s\n", shq(b.src), shq(b.dst))
		if b.ro {
			fmt.Fprintf(&script, "mount -o remount,bind,ro %s\n", shq(b.dst))
		}
	}
	script.WriteString(`exec "$@"` + "\n")

	// The container's command and args, its environment and no other.
	if len(c.Command) == 0 || c.Command[0] != imageBinary {
		t.Fatalf("command %q: want the image's %s", c.Command, imageBinary)
	}
	argv := append(append([]string{nstest.Bin}, c.Command[1:]...), c.Args...)
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Fatalf("env %s from %+v: no stand-in", e.Name, e.ValueFrom)
		}
		env = append(env, e.Name+"="+e.Value)
	}
	w := &watcher{runDir: runDir, done: make(chan struct{})}
	w.cmd = exec.Command("timeout", append([]string{"-s", "KILL", "180", "ip", "netns", "exec", ns,
		"unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script.String(), "sh"}, argv...)...)
	w.cmd.Stdout, w.cmd.Stderr = w, w
	w.cmd.Env = env
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		w.Stop(t)
		if t.Failed() {
			t.Logf("the watcher's log:\n%s", w.Log())
		}
	})
	t.Logf("the container's command in %s: %q\nits mounts:\n%s", ns, argv, script.String())

	// Ready when the readinessProbe says so, and applied by then.
	hg := c.ReadinessProbe.HTTPGet
	addr := net.JoinHostPort(hg.Host, hg.Port.String())
	var body string
	waitFor(t, 10*time.Second, "the readinessProbe "+addr+hg.Path, func() bool {
		select {
		case <-w.done:
			t.Fatalf("the watcher exited:\n%s", w.Log())
		default:
		}
		var code int
		code, body, err = getIn(t, ns, addr, hg.Path)
		return err == nil && code == http.StatusOK
	})
	t.Logf("ready after %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(body))
	backend := node
	if !strings.Contains(body, "backend "+node) {
		t.Errorf("readiness %q: want backend %s, where the node's rules are", body, node)
	}
	save := func(fam string) []string {
		t.Helper()
		return []string{fam + "-" + backend + "-save", "-t", "filter"}
	}
	for _, fam := range []string{"iptables", "ip6tables"} {
		if !hasLine(t, ns, save(fam), "-A INPUT -j FILTERS") {
			t.Errorf("%s: no INPUT hook:\n%s", fam, nstest.Run(t, ns, nil, save(fam)[0], save(fam)[1:]...))
		}
	}
	if !hasLine(t, ns, save("iptables"), "-A FILTERS -p tcp -m tcp --dport 10250 -j ACCEPT") {
		t.Errorf("the ConfigMap's rules are not in FILTERS:\n%s", nstest.Run(t, ns, nil, save("iptables")[0], save("iptables")[1:]...))
	}
	if strings.Contains(w.Log(), "did not exist") {
		t.Errorf("the mounted lock was not where hostwall looks:\n%s", w.Log())
	}
	if s := w.Status(t); s.Reconciles == 0 || s.Backend != backend {
		t.Errorf("status in the emptyDir: %+v", s)
	}

	// A ConfigMap update as the kubelet makes it: the new files in a new
	// directory, then ..data swapped to it.
	updated := map[string]string{}
	for k, v := range cm.Data {
		updated[k] = v
	}
	updated["rules.v4"] = strings.Replace(cm.Data["rules.v4"], "--dport 10250 -j ACCEPT", "--dport 10250 -j ACCEPT\n-A FILTERS -p tcp -m tcp --dport 9100 -j ACCEPT", 1)
	held := false
	if node == "legacy" {
		// The node's lock held by another writer: the update waits
		// for it.
		f, err := os.Open(lock)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		held = true
		defer func() {
			if held {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			}
		}()
		writeConfigMap(t, configDir, "..2020_01_01_00_00_01.2", updated)
		time.Sleep(time.Second)
		if hasLine(t, ns, save("iptables"), "-A FILTERS -p tcp -m tcp --dport 9100 -j ACCEPT") {
			t.Error("the update was written while the node's xtables lock was held")
		}
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		held = false
	} else {
		writeConfigMap(t, configDir, "..2020_01_01_00_00_01.2", updated)
	}
	took := waitFor(t, 10*time.Second, "the ConfigMap update applied", func() bool {
		return hasLine(t, ns, save("iptables"), "-A FILTERS -p tcp -m tcp --dport 9100 -j ACCEPT")
	})
	t.Logf("ConfigMap update applied in %v", took.Round(time.Millisecond))

	// The pod deleted: SIGTERM; the firewall stays.
	w.Stop(t)
	if code := w.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("watch exited %d on SIGTERM:\n%s", code, w.Log())
	}
	if !hasLine(t, ns, save("iptables"), "-A INPUT -j FILTERS") {
		t.Error("the hook went with the watcher")
	}
	t.Logf("backend %s; the whole test %v; the watcher's log:\n%s", backend, time.Since(start).Round(time.Millisecond), w.Log())
}

// writeConfigMap lays a ConfigMap volume out as the kubelet does: the
// files in a timestamped directory, ..data a symlink to it, each key a
// symlink to ..data/KEY; a later call swaps ..data atomically (rename
// over it), as an update does.
func writeConfigMap(t *testing.T, dir, version string, data map[string]string) {
	t.Helper()
	if err := os.Mkdir(filepath.Join(dir, version), 0o755); err != nil {
		t.Fatal(err)
	}
	for k, v := range data {
		if err := os.WriteFile(filepath.Join(dir, version, k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(filepath.Join(dir, k)); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", k), filepath.Join(dir, k)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tmp := filepath.Join(dir, "..data_tmp")
	if err := os.Symlink(version, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

// getIn fetches path from addr over a connection made inside ns.
func getIn(t *testing.T, ns, addr, path string) (int, string, error) {
	t.Helper()
	var conn net.Conn
	var err error
	nstest.InNetns(t, ns, func() { conn, err = net.DialTimeout("tcp", addr, 3*time.Second) })
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
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// shq quotes s for sh.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
