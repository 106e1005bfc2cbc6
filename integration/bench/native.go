package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// The native rows: hostwall's own nf_tables table (table ip hostwall,
// --backend native) on a host whose other nf_tables rules belong to
// other tools. The goal (project issue 10) is that an apply costs at 50k
// foreign rules what it costs at 1k (within 1.5x): the native backend
// reads and writes only its own table.
//
// Foreign rules, N in all, are split between the two places other tools
// keep nf_tables rules on the hosts the native backend is for:
//   - N/2 in table ip kube-proxy, loaded with nft -f: the shape
//     kube-proxy's nftables mode writes (hook chains at priority -110,
//     verdict maps, a service chain and two endpoint chains per service
//     with numgen load-balancing, dnat and masquerade marks);
//   - the other N/2 in table ip filter, the same generator as the legacy
//     and nft rows (Docker's and kube-proxy's iptables rules), loaded
//     with iptables-nft-restore -c: what Docker 29 on its default
//     iptables backend and any iptables-nft user leave, as nft_compat
//     expressions (the largest rules to dump).
//
// Either would be skipped by a reader that stays in its own table; both
// are there so that one that does not (a whole-ruleset dump, a cache
// fill, a kernel cost per rule of the namespace) shows.

// defaultNativeSizes: FILTERS of 10 at each foreign size.
var defaultNativeSizes = []config{{"", 0, 10}, {"", 1000, 10}, {"", 10000, 10}, {"", 50000, 10}}

// nativeMarker starts the native section of results.md, the last one.
const nativeMarker = "<!-- native section: written by make bench (BENCH_ONLY=native alone) -->"

// kubeProxySkeleton are the rules kube-proxy's nftables mode always has
// (chain, rule), in flat nft syntax.
var kubeProxySkeleton = [][2]string{
	{"filter-prerouting", "ct state new jump firewall-check"},
	{"filter-input", "ct state new jump nodeport-endpoints-check"},
	{"filter-input", "ct state new jump service-endpoints-check"},
	{"filter-forward", "ct state new jump service-endpoints-check"},
	{"filter-forward", "ct state new jump cluster-ips-check"},
	{"filter-output", "ct state new jump service-endpoints-check"},
	{"filter-output", "ct state new jump firewall-check"},
	{"filter-output-post-dnat", "ct state new jump cluster-ips-check"},
	{"nat-prerouting", "jump services"},
	{"nat-output", "jump services"},
	{"nat-postrouting", "jump masquerading"},
	{"firewall-check", "ip daddr . meta l4proto . th dport vmap @firewall-ips"},
	{"cluster-ips-check", `ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`},
	{"service-endpoints-check", "ip daddr . meta l4proto . th dport vmap @no-endpoint-services"},
	{"nodeport-endpoints-check", "ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports"},
	{"masquerading", "meta mark & 0x00004000 == 0x00000000 return"},
	{"masquerading", "meta mark set meta mark ^ 0x00004000"},
	{"masquerading", "masquerade fully-random"},
	{"mark-for-masquerade", "meta mark set meta mark | 0x00004000"},
	{"services", "ip daddr . meta l4proto . th dport vmap @service-ips"},
	{"services", "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports"},
}

// kubeProxyHead declares kube-proxy's table, hook chains, regular chains
// and maps.
const kubeProxyHead = `add table ip kube-proxy { comment "rules for kube-proxy" ; }
add chain ip kube-proxy filter-prerouting { type filter hook prerouting priority -110 ; }
add chain ip kube-proxy filter-input { type filter hook input priority -110 ; }
add chain ip kube-proxy filter-forward { type filter hook forward priority -110 ; }
add chain ip kube-proxy filter-output { type filter hook output priority -110 ; }
add chain ip kube-proxy filter-output-post-dnat { type filter hook output priority -90 ; }
add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }
add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }
add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }
add chain ip kube-proxy firewall-check
add chain ip kube-proxy cluster-ips-check
add chain ip kube-proxy service-endpoints-check
add chain ip kube-proxy nodeport-endpoints-check
add chain ip kube-proxy masquerading
add chain ip kube-proxy mark-for-masquerade
add chain ip kube-proxy services
add set ip kube-proxy cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }
add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }
add map ip kube-proxy service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }
add map ip kube-proxy firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }
add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }
add map ip kube-proxy no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }
`

// genKubeProxy returns an nft -f script making table ip kube-proxy with
// exactly n rules (0: no table), and how many chains it has: the
// skeleton, then per service (ClusterIP 10.96.a.b:80, two endpoints) a
// service chain of two rules and two endpoint chains of two rules each,
// with the service's elements in cluster-ips and service-ips. n is 0 or
// at least len(kubeProxySkeleton).
func genKubeProxy(n int) (string, int, error) {
	if n == 0 {
		return "", 0, nil
	}
	if n < len(kubeProxySkeleton) {
		return "", 0, fmt.Errorf("kube-proxy size %d: must be 0 or at least %d", n, len(kubeProxySkeleton))
	}
	var chains, rules, elems strings.Builder
	nchains := strings.Count(kubeProxyHead, "add chain ")
	chains.WriteString(kubeProxyHead)
	for _, r := range kubeProxySkeleton {
		fmt.Fprintf(&rules, "add rule ip kube-proxy %s %s\n", r[0], r[1])
	}
	for i, k := len(kubeProxySkeleton), 0; i < n; k++ {
		a, b := (k/250)%250, k%250+1
		hash := uint32(k) * 2654435761
		name := fmt.Sprintf("ns%d/svc-%d/tcp/http", k%97, k)
		svc := fmt.Sprintf("service-%08X-%s", hash, name)
		var eps [2]string
		for e := range eps {
			ip := fmt.Sprintf("10.%d.%d.%d", 64+(2*k+e)/62500%64, (2*k+e)/250%250, (2*k+e)%250+1)
			eps[e] = fmt.Sprintf("endpoint-%08X-%s__%s/8080", hash+uint32(e), name, ip)
			fmt.Fprintf(&chains, "add chain ip kube-proxy %s\n", eps[e])
			nchains++
			for _, r := range []string{
				fmt.Sprintf("ip saddr %s jump mark-for-masquerade", ip),
				fmt.Sprintf("meta l4proto tcp dnat to %s:8080", ip),
			} {
				if i < n {
					fmt.Fprintf(&rules, "add rule ip kube-proxy %s %s\n", eps[e], r)
					i++
				}
			}
		}
		fmt.Fprintf(&chains, "add chain ip kube-proxy %s\n", svc)
		nchains++
		for _, r := range []string{
			fmt.Sprintf("ip daddr 10.96.%d.%d tcp dport 80 ip saddr != 10.0.0.0/8 jump mark-for-masquerade", a, b),
			fmt.Sprintf("numgen random mod 2 vmap { 0 : goto %s, 1 : goto %s }", eps[0], eps[1]),
		} {
			if i < n {
				fmt.Fprintf(&rules, "add rule ip kube-proxy %s %s\n", svc, r)
				i++
			}
		}
		fmt.Fprintf(&elems, "add element ip kube-proxy cluster-ips { 10.96.%d.%d }\n", a, b)
		fmt.Fprintf(&elems, "add element ip kube-proxy service-ips { 10.96.%d.%d . tcp . 80 : goto %s }\n", a, b, svc)
	}
	return chains.String() + rules.String() + elems.String(), nchains, nil
}

// nativeSplit is how the native rows split n foreign rules: kube-proxy's
// table, and the iptables-nft filter table.
func nativeSplit(n int) (kube, filter int) { return n - n/2, n / 2 }

// nativeWorker measures the native backend at one size. Nothing resets
// the table between runs: FILTERS alternates between two policies that
// differ in one rule.
type nativeWorker struct {
	*worker
	files [2]string // the two policies
	lines [2]string // the -A lines hostwall save must print for each
	list  [2]string // nft list table ip hostwall holding each (counters zeroed)
	ref   [2]string // the admin's nft -f script for each
	// refList is nft list table ip hostwall after that script: list
	// but for what nft drops from its own input (a protocol match that
	// the port match implies).
	refList [2]string
	byRef   bool // the table holds what the script loaded
	state   int  // which policy the table holds now
}

var nftCounterRE = regexp.MustCompile(`counter packets [0-9]+ bytes [0-9]+`)

// nftImplied is what nft drops when it reads a rule: the protocol match
// in front of a port match that implies it.
var nftImplied = regexp.MustCompile(`meta l4proto (tcp|udp) `)

func nativeWorkerMain(w *worker, nForeign, nPolicy, runs int) (*result, error) {
	ctx := context.Background()
	if out, err := exec.Command("nft", "list", "tables").Output(); err != nil {
		return nil, fmt.Errorf("nft list tables: %w", err)
	} else if len(bytes.TrimSpace(out)) > 0 {
		return nil, fmt.Errorf("refusing to run: the namespace already has nf_tables tables:\n%s", out)
	}
	n := &nativeWorker{worker: w}
	for v := range 2 {
		pol, err := genPolicy(nPolicy, v)
		if err != nil {
			return nil, err
		}
		n.files[v] = filepath.Join(w.dir, fmt.Sprintf("policy%d.v4", v))
		if err := os.WriteFile(n.files[v], []byte(pol), 0o644); err != nil {
			return nil, err
		}
		n.lines[v] = wantNativeSave(pol)
	}

	// The foreign rules.
	nKube, nFilter := nativeSplit(nForeign)
	kube, kubeChains, err := genKubeProxy(nKube)
	if err != nil {
		return nil, err
	}
	if kube != "" {
		script := filepath.Join(w.dir, "kube-proxy.nft")
		if err := os.WriteFile(script, []byte(kube), 0o644); err != nil {
			return nil, err
		}
		if _, err := w.run(ctx, nil, io.Discard, "nft", "-f", script); err != nil {
			return nil, err
		}
	}
	if nFilter > 0 {
		base, err := genBase(nFilter)
		if err != nil {
			return nil, err
		}
		if _, err := w.run(ctx, []byte(base), io.Discard, "iptables-nft-restore", "-c"); err != nil {
			return nil, err
		}
	}
	foreignBefore, err := n.foreign(ctx)
	if err != nil {
		return nil, err
	}
	if got := strings.Count(foreignBefore, "\n-A ") + countNftRules(foreignBefore); got != nForeign {
		return nil, fmt.Errorf("%d foreign rules loaded, want %d", got, nForeign)
	}

	// Each policy as hostwall writes it, and as an admin would load the
	// same rules by hand: nft list of hostwall's table, counters zeroed,
	// behind a delete of the table (the "table; delete table" idiom, so
	// that it also runs where the table is missing).
	for _, v := range []int{1, 0} {
		if err := n.apply(ctx, v, "written", nil); err != nil {
			return nil, err
		}
		l, err := n.listOwn(ctx)
		if err != nil {
			return nil, err
		}
		n.list[v] = l
		n.ref[v] = filepath.Join(w.dir, fmt.Sprintf("ref%d.nft", v))
		if err := os.WriteFile(n.ref[v], []byte("table ip hostwall\ndelete table ip hostwall\n"+l), 0o644); err != nil {
			return nil, err
		}
	}
	for _, v := range []int{1, 0} {
		if _, err := w.run(ctx, nil, io.Discard, "nft", "-f", n.ref[v]); err != nil {
			return nil, err
		}
		l, err := n.listOwn(ctx)
		if err != nil {
			return nil, err
		}
		if a, b := nftImplied.ReplaceAllString(n.list[v], ""), nftImplied.ReplaceAllString(l, ""); a != b {
			return nil, fmt.Errorf("the nft -f reference loads other rules than hostwall wrote: %s", firstDiff(a, b))
		}
		n.refList[v] = l
	}
	if err := n.rewrite(ctx, 0); err != nil {
		return nil, err
	}
	if err := n.checkEnd(ctx, "hostwall apply --backend native", true); err != nil {
		return nil, err
	}

	res := &result{Backend: "native", Foreign: nForeign, Policy: nPolicy, Entries: uint32(kubeChains),
		Samples: map[string][]float64{}}
	if st, err := os.Stat(n.ref[0]); err == nil {
		res.Bytes = uint32(st.Size())
	}
	add := func(k string, v float64) { res.Samples[k] = append(res.Samples[k], v) }
	for i := range runs {
		check := i == 0
		to := 1 - n.state
		// The reference: the admin's nft -f of the other policy.
		ru, err := w.run(ctx, nil, io.Discard, "nft", "-f", n.ref[to])
		if err != nil {
			return nil, err
		}
		add("ref", ru.Wall)
		n.state, n.byRef = to, true
		if check {
			if err := n.checkEnd(ctx, "nft -f", false); err != nil {
				return nil, err
			}
		}
		// Its rules carry no iptables text, so hostwall would replace
		// those of FILTERS and keep the hooks' as foreign: the table
		// is deleted and written by hostwall with the first policy
		// again, not measured. Then the measured apply back to this
		// policy, which changes one rule, and the same apply again.
		if err := n.rewrite(ctx, 1-to); err != nil {
			return nil, err
		}
		if err := n.apply(ctx, to, "written", &ru); err != nil {
			return nil, err
		}
		add("apply", ru.Wall)
		add("user", ru.User)
		add("sys", ru.Sys)
		add("rss", float64(ru.MaxRSS))
		if check {
			if err := n.checkEnd(ctx, "hostwall apply --backend native", true); err != nil {
				return nil, err
			}
		}
		if err := n.apply(ctx, to, "no change", &ru); err != nil {
			return nil, err
		}
		add("nochange", ru.Wall)
		add("nochangeuser", ru.User)
		add("nochangesys", ru.Sys)
	}
	// Nobody else's rules were touched.
	foreignAfter, err := n.foreign(ctx)
	if err != nil {
		return nil, err
	}
	if foreignAfter != foreignBefore {
		return nil, fmt.Errorf("the foreign rules changed: %s", firstDiff(foreignAfter, foreignBefore))
	}
	return res, nil
}

// apply runs hostwall apply --backend native to policy v, requires its
// output to say want ("written" or "no change"), and records the state.
func (n *nativeWorker) apply(ctx context.Context, v int, want string, ru *usage) error {
	var out bytes.Buffer
	u, err := n.run(ctx, nil, &out, n.hostwall, "apply", "--backend", "native", "-4", n.files[v])
	if err != nil {
		return err
	}
	if !strings.Contains(out.String(), want) {
		return fmt.Errorf("hostwall apply --backend native -4 %s: want %q:\n%s", filepath.Base(n.files[v]), want, out.String())
	}
	n.state, n.byRef = v, false
	if ru != nil {
		*ru = u
	}
	return nil
}

// rewrite deletes hostwall's table and has hostwall write policy v.
func (n *nativeWorker) rewrite(ctx context.Context, v int) error {
	if _, err := n.run(ctx, nil, io.Discard, "nft", "delete", "table", "ip", "hostwall"); err != nil {
		return err
	}
	return n.apply(ctx, v, "written", nil)
}

// listOwn is nft list table ip hostwall with counters zeroed.
func (n *nativeWorker) listOwn(ctx context.Context) (string, error) {
	var out bytes.Buffer
	if _, err := n.run(ctx, nil, &out, "nft", "list", "table", "ip", "hostwall"); err != nil {
		return "", err
	}
	return nftCounterRE.ReplaceAllString(stripComments(out.String()), "counter packets 0 bytes 0"), nil
}

// foreign is every other tool's rules as their tools print them.
func (n *nativeWorker) foreign(ctx context.Context) (string, error) {
	var kube, filter bytes.Buffer
	if out, err := exec.CommandContext(ctx, "nft", "list", "tables").Output(); err != nil {
		return "", err
	} else if strings.Contains(string(out), "table ip kube-proxy") {
		if _, err := n.run(ctx, nil, &kube, "nft", "list", "table", "ip", "kube-proxy"); err != nil {
			return "", err
		}
	}
	if _, err := n.run(ctx, nil, &filter, "iptables-nft-save", "-t", "filter"); err != nil {
		return "", err
	}
	return kube.String() + stripComments(filter.String()), nil
}

// countNftRules counts the rules in nft list output: the lines of a
// chain block that are not its type line.
func countNftRules(s string) int {
	c, in := 0, false
	for _, l := range strings.Split(s, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "chain "):
			in = true
		case t == "}":
			in = false
		case in && t != "" && !strings.HasPrefix(t, "type "):
			c++
		}
	}
	return c
}

// checkEnd requires the table to hold the rules of the policy FILTERS
// should hold now, and (after hostwall wrote it) hostwall save to print
// the policy's FILTERS lines and its hooks.
func (n *nativeWorker) checkEnd(ctx context.Context, who string, save bool) error {
	got, err := n.listOwn(ctx)
	if err != nil {
		return err
	}
	want := n.list[n.state]
	if n.byRef {
		want = n.refList[n.state]
	}
	if got != want {
		return fmt.Errorf("%s left a different table ip hostwall: %s", who, firstDiff(got, want))
	}
	if !save {
		return nil
	}
	var out bytes.Buffer
	if _, err := n.run(ctx, nil, &out, n.hostwall, "save", "--backend", "native", "-4"); err != nil {
		return err
	}
	if a := ruleLines(out.String()); a != n.lines[n.state] {
		return fmt.Errorf("after %s, hostwall save --backend native differs from the policy: %s", who, firstDiff(a, n.lines[n.state]))
	}
	return nil
}

// wantNativeSave is what hostwall save --backend native prints of a
// policy's rules: its hooks (the rules jumping to FILTERS) and its
// FILTERS lines, REJECT with the reply it defaults to.
func wantNativeSave(pol string) string {
	var b strings.Builder
	for _, l := range strings.Split(pol, "\n") {
		if strings.HasSuffix(l, " -j FILTERS") && strings.HasPrefix(l, "-A ") {
			b.WriteString(l + "\n")
		}
	}
	for _, l := range strings.Split(pol, "\n") {
		if strings.HasPrefix(l, "-A FILTERS ") {
			if strings.HasSuffix(l, " -j REJECT") {
				l += " --reject-with icmp-port-unreachable"
			}
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// ruleLines are the -A lines of save output, hooks first (as hostwall
// save prints the base chains before FILTERS).
func ruleLines(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "-A ") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// splitNative cuts the native section off results.md.
func splitNative(old string) (rest, native string) {
	rest, native, _ = strings.Cut(old, nativeMarker)
	return rest, native
}

// writeNativeSection writes the native section of results.md.
func writeNativeSection(md *bytes.Buffer, report []byte, hw string, runs int, elapsed time.Duration, loadBefore string) {
	fmt.Fprintf(md, "\n%s\n\n# native backend\n\nLatest run of the native rows of `make bench` (`BENCH_ONLY=native make bench` runs them alone): medians of %d runs per size, each size in a fresh network namespace; took %s.\n\n",
		nativeMarker, runs, elapsed.Round(time.Second))
	writeMachine(md, hw)
	fmt.Fprintf(md, "- nft: %s; iptables-nft: %s\n", firstLine("nft", "--version"), firstLine("iptables-nft", "--version"))
	fmt.Fprintf(md, "- load average (1, 5, 15 min) before and after: %s; %s\n\n", loadBefore, loadAvg())
	md.Write(report)
	md.WriteString(nativeLegend)
}

func writeNativeTables(w io.Writer, rs []*result, runs int) {
	at1k := map[int]*result{}
	for _, r := range rs {
		if r.Foreign == 1000 {
			at1k[r.Policy] = r
		}
	}
	vs1k := func(r *result, key string) string {
		if b := at1k[r.Policy]; b != nil {
			return ratio(r.med(key), b.med(key))
		}
		return "-"
	}
	fmt.Fprintf(w, "## native times (ms, median of %d)\n\n", runs)
	fmt.Fprintln(w, "| foreign rules | in ip kube-proxy (nft -f) | in ip filter (iptables-nft) | kube-proxy chains | FILTERS rules | apply (CLI) | no-change apply | nft -f reference | apply user CPU | apply system | no-change user CPU | no-change system | apply max RSS (MiB) |")
	fmt.Fprintln(w, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rs {
		k, f := nativeSplit(r.Foreign)
		fmt.Fprintf(w, "| %d | %d | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %.1f |\n",
			r.Foreign, k, f, r.Entries, r.Policy,
			ms(r.med("apply")), ms(r.med("nochange")), ms(r.med("ref")),
			ms(r.med("user")), ms(r.med("sys")), ms(r.med("nochangeuser")), ms(r.med("nochangesys")), r.med("rss")/1024)
	}
	fmt.Fprintf(w, "\n## native ratios (medians)\n\n")
	fmt.Fprintln(w, "| foreign rules | FILTERS rules | apply / apply at 1k | no-change / no-change at 1k | nft -f / nft -f at 1k | no-change / apply | apply / nft -f reference |")
	fmt.Fprintln(w, "|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %d | %d | %s | %s | %s | %s | %s |\n", r.Foreign, r.Policy,
			vs1k(r, "apply"), vs1k(r, "nochange"), vs1k(r, "ref"),
			ratio(r.med("nochange"), r.med("apply")), ratio(r.med("apply"), r.med("ref")))
	}
	fmt.Fprintf(w, "\n## native goals (measured, not asserted)\n\n")
	goal := func(ok bool, text string) {
		mark := "met"
		if !ok {
			mark = "NOT met"
		}
		fmt.Fprintf(w, "- %s: %s\n", text, mark)
	}
	for _, r := range rs {
		if r.Foreign != 50000 {
			continue
		}
		if b := at1k[r.Policy]; b != nil {
			q := r.med("apply") / b.med("apply")
			cpu := func(r *result, u, s string) float64 { return r.med(u) + r.med(s) }
			goal(q <= 1.5, fmt.Sprintf("50k foreign, FILTERS %d: apply that changes FILTERS within 1.5x of its cost at 1k foreign (%s vs %s ms: %.2fx; its user+system CPU %.2fx)",
				r.Policy, ms(r.med("apply")), ms(b.med("apply")), q, cpu(r, "user", "sys")/cpu(b, "user", "sys")))
			q = r.med("nochange") / b.med("nochange")
			goal(q <= 1.5, fmt.Sprintf("50k foreign, FILTERS %d: no-change apply within 1.5x of its cost at 1k foreign (%s vs %s ms: %.2fx; its user+system CPU %.2fx)",
				r.Policy, ms(r.med("nochange")), ms(b.med("nochange")), q, cpu(r, "nochangeuser", "nochangesys")/cpu(b, "nochangeuser", "nochangesys")))
		}
		ref := fmt.Sprintf("- 50k foreign, FILTERS %d, for reference (no goal): apply / the admin's nft -f of the table %s",
			r.Policy, ratio(r.med("apply"), r.med("ref")))
		if b := at1k[r.Policy]; b != nil {
			ref += fmt.Sprintf(" (%s at 1k); the nft -f itself costs %s ms at 50k, %sx its %s ms at 1k",
				ratio(b.med("apply"), b.med("ref")), ms(r.med("ref")), vs1k(r, "ref"), ms(b.med("ref")))
		}
		fmt.Fprintln(w, ref)
	}
}

const nativeLegend = `
## What the native rows measure

Each size is a fresh network namespace holding N foreign nf_tables
rules, half in each of the two places other tools keep them on the hosts
the native backend is for: ` + "`table ip kube-proxy`" + `, loaded with ` + "`nft -f`" + ` in
the shape kube-proxy's nftables mode writes (its hook chains at priority
-110 and -90, verdict maps, and per service a service chain of two rules
and two endpoint chains of two rules: numgen load-balancing, masquerade
marks, dnat), and ` + "`table ip filter`" + `, the legacy and nft rows' Docker and
kube-proxy iptables rules loaded with ` + "`iptables-nft-restore -c`" + ` (Docker 29 on
its default iptables backend; nft_compat expressions). hostwall keeps
FILTERS and its hooks in ` + "`table ip hostwall`" + `. FILTERS alternates between two
policies that differ in one rule; each run is, in order:

- **nft -f reference** (timed): what an admin would do by hand:
  ` + "`nft -f`" + ` of ` + "`table ip hostwall` / `delete table ip hostwall`" + ` followed by the whole
  table with the other policy's rules (the text ` + "`nft list table ip hostwall`" + `
  printed after hostwall wrote that policy, counters zeroed): one
  transaction deleting and re-adding the table.
- not timed: ` + "`nft delete table ip hostwall`" + ` and an apply of the first
  policy again (the admin's rules carry no iptables text in their
  userdata, so hostwall would replace FILTERS' rules and keep the base
  chains' jumps as foreign rules, next to its own);
- **apply (CLI)** (timed): ` + "`hostwall apply --backend native -4 FILE`" + ` to the
  reference's policy, which changes one FILTERS rule;
- **no-change apply** (timed): the same command again (sends nothing).

In the first run at each size, the reference and the apply are checked
to leave the same ` + "`nft list table ip hostwall`" + ` (counters zeroed), and after
the apply ` + "`hostwall save --backend native -4`" + ` to print the policy's hooks
and FILTERS lines; after the last run, the foreign tables are checked to
be what they were (` + "`nft list table ip kube-proxy`" + ` and ` + "`iptables-nft-save -t filter`" + `).
Times are wall times of the process; user and system CPU from getrusage.

What decides the goal: hostwall's native apply reads only the chains of
` + "`table ip hostwall`" + ` it needs (GETCHAIN/GETRULE scoped to that table, and
the generation id) and sends one batch for that table only, so nothing
it does is per foreign rule; at this scale what is left is process
start-up, reading hostwall's own table and the kernel's transaction
commit, and the differences between sizes are of the order of the
run-to-run noise on a loaded machine (compare the 0 and 1k rows); the
CPU the process spends (user + system, given with each goal) shows the
work without the time spent waiting for a CPU on a loaded machine. The
` + "`nft -f`" + ` reference grows with the foreign rules because nft (1.0.6) fills
its cache from the ruleset before it sends the transaction.
`
