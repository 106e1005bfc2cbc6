package kubernetes

import (
	"path"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
)

// TestDaemonSet: daemonset.yaml decodes strictly into apps/v1 and is
// what the README promises: the node's network, only NET_ADMIN and
// NET_RAW, watch of the ConfigMap's files as its command, readiness from
// the watcher's /readyz on its --metrics-addr, on every node at
// system-node-critical, the node's xtables lock mounted in.
func TestDaemonSet(t *testing.T) {
	ds, err := DaemonSet()
	if err != nil {
		t.Fatal(err)
	}
	cm, err := ConfigMap()
	if err != nil {
		t.Fatal(err)
	}
	pod := ds.Spec.Template.Spec
	c, err := Container(ds)
	if err != nil {
		t.Fatal(err)
	}

	if ds.Namespace != "kube-system" || cm.Namespace != ds.Namespace {
		t.Errorf("namespaces: DaemonSet %q, ConfigMap %q; want both kube-system", ds.Namespace, cm.Namespace)
	}
	sel := ds.Spec.Selector
	if sel == nil || len(sel.MatchLabels) == 0 {
		t.Fatal("no selector")
	}
	for k, v := range sel.MatchLabels {
		if ds.Spec.Template.Labels[k] != v {
			t.Errorf("the selector's %s=%s is not on the pod template", k, v)
		}
	}

	// The node's network; every node; not evicted first.
	if !pod.HostNetwork {
		t.Error("hostNetwork is not true")
	}
	if pod.PriorityClassName != "system-node-critical" {
		t.Errorf("priorityClassName %q", pod.PriorityClassName)
	}
	everything := slices.ContainsFunc(pod.Tolerations, func(tol corev1.Toleration) bool {
		return tol.Operator == corev1.TolerationOpExists && tol.Key == "" && tol.Effect == "" && tol.TolerationSeconds == nil
	})
	if !everything {
		t.Errorf("no toleration of every taint (operator Exists, no key, no effect): %+v", pod.Tolerations)
	}
	if len(pod.NodeSelector) > 0 || pod.Affinity != nil {
		t.Errorf("the pods are kept off some nodes: nodeSelector %v, affinity %v", pod.NodeSelector, pod.Affinity)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("a service account token is mounted; hostwall never talks to the API server")
	}

	// Only NET_ADMIN and NET_RAW, nothing that gives more.
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil {
		t.Fatal("no securityContext.capabilities")
	}
	if got := sc.Capabilities.Drop; !slices.Equal(got, []corev1.Capability{"ALL"}) {
		t.Errorf("capabilities.drop %v, want [ALL]", got)
	}
	add := slices.Clone(sc.Capabilities.Add)
	slices.Sort(add)
	if !slices.Equal(add, []corev1.Capability{"NET_ADMIN", "NET_RAW"}) {
		t.Errorf("capabilities.add %v, want NET_ADMIN and NET_RAW only", sc.Capabilities.Add)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("privileged")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if pod.HostPID || pod.HostIPC {
		t.Error("hostPID or hostIPC")
	}

	// watch as the command, the image's binary.
	if !slices.Equal(c.Command, []string{"/usr/sbin/hostwall"}) {
		t.Errorf("command %q, want the image's /usr/sbin/hostwall", c.Command)
	}
	if len(c.Args) == 0 || c.Args[0] != "watch" {
		t.Fatalf("args %q: want watch first", c.Args)
	}
	flags := map[string]string{}
	for i := 1; i+1 < len(c.Args); i += 2 {
		flags[c.Args[i]] = c.Args[i+1]
	}
	if !strings.HasPrefix(c.Image, "hostwall:") || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("image %q, pull policy %q: want make image's hostwall:TAG, IfNotPresent", c.Image, c.ImagePullPolicy)
	}

	// Readiness: /readyz where --metrics-addr serves it.
	rp := c.ReadinessProbe
	if rp == nil || rp.HTTPGet == nil {
		t.Fatal("no httpGet readinessProbe")
	}
	if got, want := rp.HTTPGet.Host+":"+rp.HTTPGet.Port.String(), flags["--metrics-addr"]; got != want || rp.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe %s%s, want %s/readyz (--metrics-addr)", got, rp.HTTPGet.Path, want)
	}
	if c.LivenessProbe != nil {
		t.Error("a liveness probe would restart the watcher over a bad ConfigMap; the firewall stays as it was")
	}

	// The mounts: the ConfigMap's files where -4 and -6 read them, the
	// node's lock at /run/xtables.lock, a writable run directory.
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
		if _, ok := volumes[m.Name]; !ok {
			t.Errorf("mount of %s: no volume %q", m.MountPath, m.Name)
		}
	}
	for flag, key := range map[string]string{"-4": "rules.v4", "-6": "rules.v6"} {
		file := flags[flag]
		m, ok := mounts[path.Dir(file)]
		switch {
		case file == "":
			t.Errorf("watch has no %s", flag)
		case !ok:
			t.Errorf("%s %s: nothing mounted at %s", flag, file, path.Dir(file))
		case volumes[m.Name].ConfigMap == nil || volumes[m.Name].ConfigMap.Name != cm.Name:
			t.Errorf("%s %s: %s is not the ConfigMap %s", flag, file, path.Dir(file), cm.Name)
		case !m.ReadOnly:
			t.Errorf("the rules are mounted read-write")
		case path.Base(file) != key || cm.Data[key] == "":
			t.Errorf("%s %s: the ConfigMap has no %s", flag, file, path.Base(file))
		}
	}
	lock, ok := mounts["/run/xtables.lock"]
	if hp := volumes[lock.Name].HostPath; !ok || hp == nil || hp.Path != "/run/xtables.lock" || hp.Type == nil || *hp.Type != corev1.HostPathFileOrCreate {
		t.Errorf("/run/xtables.lock is not the node's lock file (hostPath /run/xtables.lock, FileOrCreate): %+v", volumes[lock.Name])
	}
	runDir := "/run/hostwall"
	for _, e := range c.Env {
		if e.Name == "HOSTWALL_RUN_DIR" {
			runDir = e.Value
		}
	}
	if m, ok := mounts[runDir]; !ok || volumes[m.Name].EmptyDir == nil {
		t.Errorf("the watcher's status directory %s is not an emptyDir (the root filesystem is read-only)", runDir)
	}
	for _, v := range pod.Volumes {
		if hp := v.HostPath; hp != nil && hp.Path != "/run/xtables.lock" {
			t.Errorf("volume %s mounts the node's %s", v.Name, hp.Path)
		}
	}
}

// TestConfigMapRules: the example's files are valid hostwall rules of
// their family, hooked from INPUT.
func TestConfigMapRules(t *testing.T) {
	cm, err := ConfigMap()
	if err != nil {
		t.Fatal(err)
	}
	for key, fam := range map[string]*xtables.Family{"rules.v4": xtables.IPv4, "rules.v6": xtables.IPv6} {
		d, err := policy.ReadDesired(key, []byte(cm.Data[key]), policy.DesiredOptions{Family: fam})
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		if len(d.Tables) != 1 || d.Tables[0].Table != "filter" {
			t.Errorf("%s: tables %+v, want filter", key, d.Tables)
		}
	}
	if len(cm.Data) != 2 {
		t.Errorf("ConfigMap keys %v, want rules.v4 and rules.v6", cm.Data)
	}
}

// TestStrict: a misspelt field is an error, not silently dropped.
func TestStrict(t *testing.T) {
	saved := DaemonSetYAML
	defer func() { DaemonSetYAML = saved }()
	DaemonSetYAML = []byte(strings.Replace(string(saved), "hostNetwork: true", "hostNetwork: true\n      hostNetwrok: true", 1))
	if _, err := DaemonSet(); err == nil || !strings.Contains(err.Error(), "hostNetwrok") {
		t.Errorf("a misspelt field decoded: %v", err)
	}
}
