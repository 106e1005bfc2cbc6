package integration

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hostwall/hostwall/integration/nstest"
)

// seedFiles are the seed article's three rules files, with the family
// each is for.
var seedFiles = []struct{ path, flag, save string }{
	{"testdata/policy/seed-docker.v4", "-4", "iptables-legacy"},
	{"testdata/policy/seed-k8s.v4", "-4", "iptables-legacy"},
	{"testdata/policy/seed.v6", "-6", "ip6tables-legacy"},
}

func requireNative(t *testing.T) {
	t.Helper()
	nstest.Require(t)
	nstest.RequireTools(t, "nft", "iptables-legacy-restore", "iptables-legacy-save", "ip6tables-legacy-restore", "ip6tables-legacy-save")
}

// chainLines picks a chain's "-A CHAIN" lines from iptables-save text.
func chainLines(text, chain string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "-A "+chain+" ") || l == "-A "+chain {
			out = append(out, l)
		}
	}
	return out
}

// oracleSave is the file as iptables-legacy-save prints it after
// iptables-legacy-restore loaded it, in a namespace of its own.
func oracleSave(t *testing.T, path, tool string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ns := nstest.Netns(t)
	nstest.Run(t, ns, data, tool+"-restore")
	return nstest.Run(t, ns, nil, tool+"-save", "-t", "filter")
}

// nativeNetlink is "nft --debug=netlink list table" of hostwall's table:
// the expressions as the kernel holds them, where compat matches and
// targets show as "match name"/"target name" (nft 1.0.6 prints them as
// if native in its normal listing).
func nativeNetlink(t *testing.T, ns, fam string) string {
	t.Helper()
	return nstest.Run(t, ns, nil, "nft", "--debug=netlink", "list", "table", fam, "hostwall")
}

// TestNativeSeedFiles applies the seed's three files with --backend
// native: the table holds no compat expression (all their matches and
// targets have native forms), save prints the file's FILTERS lines as
// iptables-save does and iptables-restore --test loads it, a second
// apply writes nothing, a rule edited with nft is replaced, and a
// changed policy keeps the counters of the rules it keeps.
func TestNativeSeedFiles(t *testing.T) {
	requireNative(t)
	for _, sf := range seedFiles {
		t.Run(filepath.Base(sf.path), func(t *testing.T) {
			ns := nstest.Netns(t)
			fam := "ip"
			if sf.flag == "-6" {
				fam = "ip6"
			}
			out := nstest.MustHostwall(t, ns, "apply", "--backend", "native", sf.flag, sf.path)
			if !strings.Contains(out, "backend native (as asked)") || !strings.Contains(out, "nf_tables table "+fam+" hostwall): written: owned rules +7") {
				t.Errorf("report:\n%s", out)
			}
			dump := nativeNetlink(t, ns, fam)
			if strings.Contains(dump, "[ match name") || strings.Contains(dump, "[ target name") {
				t.Errorf("compat expressions in hostwall's table:\n%s", dump)
			}
			for _, want := range []string{"[ ct load state", "[ reject type 0 code", "[ payload load 2b @ transport header + 2"} {
				if !strings.Contains(dump, want) {
					t.Errorf("no %q in:\n%s", want, dump)
				}
			}
			// Nothing but hostwall's table.
			if tables := nstest.Run(t, ns, nil, "nft", "list", "tables"); strings.TrimSpace(tables) != "table "+fam+" hostwall" {
				t.Errorf("tables: %q", tables)
			}

			saved := nstest.MustHostwall(t, ns, "save", "--backend", "native", sf.flag)
			want := chainLines(oracleSave(t, sf.path, sf.save), "FILTERS")
			if got := chainLines(saved, "FILTERS"); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("save:\n%s\nwant FILTERS lines:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			check := nstest.Netns(t)
			nstest.Run(t, check, []byte(saved), sf.save+"-restore", "--test")

			if out := nstest.MustHostwall(t, ns, "apply", "--backend", "native", sf.flag, sf.path); !strings.Contains(out, "no change, nothing written") {
				t.Errorf("second apply:\n%s", out)
			}

			// Someone edits the ssh rule with nft: hostwall's next apply
			// sees a rule that is not its own and puts its own back.
			h := ruleHandle(t, ns, fam, "tcp dport 22")
			nstest.Run(t, ns, nil, "nft", "replace", "rule", fam, "hostwall", "FILTERS", "handle", h, "tcp", "dport", "23", "accept")
			out = nstest.MustHostwall(t, ns, "apply", "--backend", "native", sf.flag, sf.path)
			if !strings.Contains(out, "owned rules +1 -1") {
				t.Errorf("apply after nft edit:\n%s", out)
			}
			if l := nstest.Run(t, ns, nil, "nft", "list", "table", fam, "hostwall"); strings.Contains(l, "dport 23") {
				t.Errorf("edited rule kept:\n%s", l)
			}
		})
	}
}

// ruleHandle finds the handle of the FILTERS rule whose nft text holds s.
func ruleHandle(t *testing.T, ns, fam, s string) string {
	t.Helper()
	l := nstest.Run(t, ns, nil, "nft", "-a", "list", "chain", fam, "hostwall", "FILTERS")
	for _, line := range strings.Split(l, "\n") {
		if strings.Contains(line, s) {
			if m := regexp.MustCompile(`# handle (\d+)`).FindStringSubmatch(line); m != nil {
				return m[1]
			}
		}
	}
	t.Fatalf("no rule with %q in:\n%s", s, l)
	return ""
}

// vethPair joins a "host" namespace to a "client" one: 10.77.0.1 on the
// host side (hw0), 10.77.0.2 on the client's (hw1).
func vethPair(t *testing.T, host, client string) {
	t.Helper()
	nstest.Run(t, host, nil, "ip", "link", "add", "hw0", "type", "veth", "peer", "name", "hw1", "netns", client)
	nstest.Run(t, host, nil, "ip", "addr", "add", "10.77.0.1/24", "dev", "hw0")
	nstest.Run(t, host, nil, "ip", "link", "set", "hw0", "up")
	nstest.Run(t, host, nil, "ip", "link", "set", "lo", "up")
	nstest.Run(t, client, nil, "ip", "addr", "add", "10.77.0.2/24", "dev", "hw1")
	nstest.Run(t, client, nil, "ip", "link", "set", "hw1", "up")
	nstest.Run(t, client, nil, "ip", "link", "set", "lo", "up")
}

// listen opens TCP listeners in a namespace that accept and hold
// connections until the test ends.
func listen(t *testing.T, ns string, ports ...int) {
	t.Helper()
	for _, p := range ports {
		var ln net.Listener
		nstest.InNetns(t, ns, func() {
			var err error
			if ln, err = net.Listen("tcp", fmt.Sprintf("0.0.0.0:%d", p)); err != nil {
				panic(err)
			}
		})
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					buf := make([]byte, 64)
					for {
						n, err := c.Read(buf)
						if err != nil {
							c.Close()
							return
						}
						c.Write(buf[:n])
					}
				}()
			}
		}()
	}
}

// dial connects from a namespace: nil, or the error (ECONNREFUSED for a
// REJECT, a timeout for a DROP).
func dial(t *testing.T, ns, addr string) (net.Conn, error) {
	t.Helper()
	var c net.Conn
	var err error
	nstest.InNetns(t, ns, func() { c, err = net.DialTimeout("tcp", addr, 2*time.Second) })
	return c, err
}

// TestNativeInputPort: the input base chain filters a host's own ports
// for a client namespace over a veth: ssh (22) allowed by the seed
// policy, 8000 refused by its final REJECT; a policy that also allows
// 8000 opens it, and a connection open before the change stays open.
func TestNativeInputPort(t *testing.T) {
	requireNative(t)
	host, client := nstest.Netns(t), nstest.Netns(t)
	vethPair(t, host, client)
	listen(t, host, 22, 8000)
	nstest.MustHostwall(t, host, "apply", "--backend", "native", "-4", "testdata/policy/seed-k8s.v4")
	c, err := dial(t, client, "10.77.0.1:22")
	if err != nil {
		t.Fatalf("port 22: %v", err)
	}
	defer c.Close()
	if _, err := dial(t, client, "10.77.0.1:8000"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("port 8000: %v, want connection refused", err)
	}

	pol := writePolicy(t, strings.Replace(readFile(t, "testdata/policy/seed-k8s.v4"),
		"-A FILTERS -j REJECT", "-A FILTERS -p tcp -m conntrack --ctstate NEW --ctorigdstport 8000 -j ACCEPT\n-A FILTERS -j REJECT", 1))
	out := nstest.MustHostwall(t, host, "apply", "--backend", "native", "-4", pol)
	if !strings.Contains(out, "owned rules +1 -0") || !strings.Contains(out, "counters kept") {
		t.Errorf("report:\n%s", out)
	}
	c2, err := dial(t, client, "10.77.0.1:8000")
	if err != nil {
		t.Fatalf("port 8000 after allowing it: %v", err)
	}
	c2.Close()
	// The ssh connection made before the change still carries data.
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := c.Read(buf); err != nil || string(buf) != "ping" {
		t.Fatalf("open connection after policy change: %q %v", buf, err)
	}
	// The counters of the ssh and established rules ran and were kept.
	if l := nstest.Run(t, host, nil, "nft", "list", "chain", "ip", "hostwall", "FILTERS"); !regexp.MustCompile(`ct state established,related counter packets [1-9]`).MatchString(l) {
		t.Errorf("established counter:\n%s", l)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writePolicy(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "policy.rules")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNativeCompatAndDryRun: an extension without a native form here
// (multiport, addrtype) stays nft_compat, and --dry-run says which
// rules use it; the dry run writes nothing.
func TestNativeCompatAndDryRun(t *testing.T) {
	requireNative(t)
	ns := nstest.Netns(t)
	pol := writePolicy(t, "*filter\n:FILTERS - [0:0]\n-A INPUT -j FILTERS\n"+
		"-A FILTERS -p tcp -m multiport --dports 80,443 -j ACCEPT\n"+
		"-A FILTERS -m addrtype --dst-type BROADCAST -j DROP\n"+
		"-A FILTERS -m comment --comment \"web and more\" -p udp -m udp --dport 53 -j LOG --log-prefix \"dns: \"\n"+
		"-A FILTERS -p tcp -j REJECT --reject-with tcp-reset\nCOMMIT\n")
	stop := monitor(t, ns)
	out := nstest.MustHostwall(t, ns, "apply", "--backend", "native", "--dry-run", "-4", pol)
	if ev := stop(); len(ev) != 0 {
		t.Errorf("dry run wrote: %v", ev)
	}
	for _, want := range []string{
		"(nft_compat, no native form: match multiport) -A FILTERS -p tcp -m multiport --dports 80,443 -j ACCEPT",
		"(nft_compat, no native form: match addrtype) -A FILTERS -m addrtype --dst-type BROADCAST -j DROP",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "no native form: target") || strings.Contains(out, "match udp") || strings.Contains(out, "match comment") {
		t.Errorf("native rules reported as compat:\n%s", out)
	}
	nstest.MustHostwall(t, ns, "apply", "--backend", "native", "-4", pol)
	l := nstest.Run(t, ns, nil, "nft", "list", "table", "ip", "hostwall")
	for _, want := range []string{`comment "web and more"`, `log prefix "dns: "`, "reject with tcp reset"} {
		if !strings.Contains(l, want) {
			t.Errorf("no %q in:\n%s", want, l)
		}
	}
	saved := nstest.MustHostwall(t, ns, "save", "--backend", "native", "-4")
	if got, want := chainLines(saved, "FILTERS"), chainLines(oracleSave(t, pol, "iptables-legacy"), "FILTERS"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("save:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if out := nstest.MustHostwall(t, ns, "apply", "--backend", "native", "-4", pol); !strings.Contains(out, "no change") {
		t.Errorf("second apply:\n%s", out)
	}
}

// TestNativeBadInput: a file hostwall refuses, or one the native table
// cannot hold, changes nothing: not one nf_tables event.
func TestNativeBadInput(t *testing.T) {
	requireNative(t)
	ns := nstest.Netns(t)
	nstest.MustHostwall(t, ns, "apply", "--backend", "native", "-4", "testdata/policy/seed-docker.v4")
	seed := readFile(t, "testdata/policy/seed-docker.v4")
	bad := map[string]string{
		"bad port":     strings.Replace(seed, "--dport 22", "--dport 99999", 1),
		"other hook":   strings.Replace(seed, ":FILTERS - [0:0]", ":FILTERS - [0:0]\n:MYCHAIN - [0:0]\n-A MYCHAIN -j FILTERS", 1),
		"foreign jump": strings.Replace(seed, "-A FILTERS -j REJECT", "-A FILTERS -j DOCKER-USER\n-A FILTERS -j REJECT", 1),
		"long text":    strings.Replace(seed, "-A FILTERS -j REJECT", "-A FILTERS -m comment --comment \""+strings.Repeat("y", 250)+"\" -j ACCEPT\n-A FILTERS -j REJECT", 1),
	}
	before := nftSnapshot(t, ns, true)
	for name, text := range bad {
		stop := monitor(t, ns)
		_, errOut, code := nstest.Hostwall(t, ns, "apply", "--backend", "native", "-4", writePolicy(t, text))
		if ev := stop(); len(ev) != 0 || code != 1 {
			t.Errorf("%s: exit %d, events %v\n%s", name, code, ev, errOut)
		}
	}
	if after := nftSnapshot(t, ns, true); after != before {
		t.Errorf("changed:\n%s", nstest.FirstDiff(before, after))
	}
}

// TestNativeConcurrentNft: nft writers in other tables commit all the
// time while hostwall applies two policies in turn; every apply
// succeeds (re-planning when a commit got in between), the writers'
// tables hold exactly what they wrote, and hostwall's what it wrote.
func TestNativeConcurrentNft(t *testing.T) {
	requireNative(t)
	ns := nstest.Netns(t)
	nstest.Run(t, ns, nil, "nft", "add table ip other; add chain ip other c; add table inet mywall; add chain inet mywall c { type filter hook input priority 10; }")
	polA := "testdata/policy/seed-docker.v4"
	polB := writePolicy(t, strings.Replace(readFile(t, polA), "-A FILTERS -j REJECT", "-A FILTERS -p tcp -m tcp --dport 443 -j ACCEPT\n-A FILTERS -j REJECT", 1))
	var wg sync.WaitGroup
	stopWriters := make(chan struct{})
	stopOnce := sync.OnceFunc(func() { close(stopWriters); wg.Wait() })
	defer stopOnce()
	written := make([]int, 2)
	for i, target := range []string{"ip other c", "inet mywall c"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A commit every few ms from each writer: far more churn than
			// Docker or kube-proxy make, yet leaving room for a read.
			for n := 0; n < 300; n++ {
				select {
				case <-stopWriters:
					return
				case <-time.After(10 * time.Millisecond):
				}
				if _, err := nstest.Try(ns, nil, "nft", "add rule "+target+" tcp dport "+fmt.Sprint(1000+n)+" accept"); err != nil {
					t.Errorf("nft writer: %v", err)
					return
				}
				written[i]++
			}
		}()
	}
	replans := 0
	for i := 0; i < 20; i++ {
		pol := polA
		if i%2 == 1 {
			pol = polB
		}
		out := nstest.MustHostwall(t, ns, "apply", "--backend", "native", "-4", pol)
		if strings.Contains(out, "re-planned") {
			replans++
		}
	}
	stopOnce()
	t.Logf("%d of 20 applies re-planned; writers committed %v rules", replans, written)
	for i, target := range []string{"ip other c", "inet mywall c"} {
		l := nstest.Run(t, ns, nil, "nft", "list", "chain", strings.Fields(target)[0], strings.Fields(target)[1], "c")
		if got := strings.Count(l, "tcp dport"); got != written[i] {
			t.Errorf("%s: %d rules, the writer added %d", target, got, written[i])
		}
	}
	saved := nstest.MustHostwall(t, ns, "save", "--backend", "native", "-4")
	if got, want := chainLines(saved, "FILTERS"), chainLines(oracleSave(t, polB, "iptables-legacy"), "FILTERS"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("after the race:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestDetectNative extends the detection matrix: Docker 29's nftables
// firewall (table ip docker-bridges), kube-proxy's nftables mode (table
// ip kube-proxy) and a plain nftables host choose the native backend,
// say why, and leave the other tables as they were.
func TestDetectNative(t *testing.T) {
	requireNative(t)
	const pol = "testdata/policy/seed-docker.v4"
	for _, tc := range []struct{ name, setup, reason string }{
		{"docker29-nftables", "add table ip docker-bridges; add chain ip docker-bridges filter-FORWARD { type filter hook forward priority filter; policy accept; }; add table ip6 docker-bridges",
			"nf_tables holds ip docker-bridges (Docker 29's nftables firewall)"},
		{"kube-proxy-nftables", "add table ip kube-proxy; add chain ip kube-proxy filter-input { type filter hook input priority filter; policy accept; }; add rule ip kube-proxy filter-input ct state new accept",
			"nf_tables holds ip kube-proxy (kube-proxy's nftables mode)"},
		{"plain-nftables", "add table inet filter; add chain inet filter input { type filter hook input priority 0; policy accept; }; add rule inet filter input tcp dport 22 accept",
			"nf_tables holds tables of other tools or hostwall's own (inet filter)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := nstest.Netns(t)
			nstest.Run(t, ns, nil, "nft", tc.setup)
			before := nftSnapshot(t, ns, true)
			out := nstest.MustHostwall(t, ns, "apply", "-4", pol)
			if backendOf(t, out) != "native" || !strings.Contains(out, tc.reason) {
				t.Errorf("report:\n%s", out)
			}
			if l := strings.TrimSpace(legacyTablesOf(t, ns)); l != "" {
				t.Errorf("legacy tables created: %q", l)
			}
			after := nftSnapshot(t, ns, true)
			if other := withoutTable(after, "hostwall"); other != before {
				t.Errorf("other tables changed:\n%s", nstest.FirstDiff(before, other))
			}
			// The next run finds hostwall's table beside them and stays.
			if out := nstest.MustHostwall(t, ns, "apply", "-4", pol); backendOf(t, out) != "native" || !strings.Contains(out, "no change") {
				t.Errorf("second apply:\n%s", out)
			}
		})
	}
	t.Run("own-table-only", func(t *testing.T) {
		ns := nstest.Netns(t)
		nstest.MustHostwall(t, ns, "apply", "--backend", "native", "-4", pol)
		if out := nstest.MustHostwall(t, ns, "apply", "-4", pol); backendOf(t, out) != "native" || !strings.Contains(out, "no change") {
			t.Errorf("apply:\n%s", out)
		}
	})
}

// withoutTable drops one table's lines from an nftSnapshot.
func withoutTable(snap, table string) string {
	var b strings.Builder
	skip := false
	for _, l := range strings.SplitAfter(snap, "\n") {
		if strings.HasPrefix(l, "table ") {
			f := strings.Fields(l)
			skip = len(f) > 2 && f[2] == table
		}
		if !skip {
			b.WriteString(l)
		}
	}
	return b.String()
}
