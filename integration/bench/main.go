// Command bench measures hostwall against the seed article's iptables
// recipe and against the kernel's own cost, in throwaway network
// namespaces, and writes the table to results.md. make bench runs it
// through run.sh; it needs root and Debian's iptables package.
//
// The parent process never touches a firewall: for each size it starts
// itself again as a worker in a new network namespace (CLONE_NEWNET), and
// the worker refuses to run unless its namespace is new and empty. The
// namespace dies with the worker.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	Backend         string
	Foreign, Policy int
}

var defaultSizes = []config{
	{"", 0, 10}, {"", 0, 1000}, {"", 1000, 10}, {"", 1000, 1000},
	{"", 10000, 10}, {"", 10000, 1000}, {"", 50000, 10}, {"", 50000, 1000},
}

// defaultNftSizes keep the nft rows to FILTERS of 10: at 50k foreign
// rules one nft run takes about 13 s (two whole-table restores, two
// saves, a table deletion), and make bench should stay under ~10 min.
var defaultNftSizes = []config{{"", 0, 10}, {"", 1000, 10}, {"", 10000, 10}, {"", 50000, 10}}

// nftMarker starts the nf_tables section of results.md: a run of one
// backend keeps the other's section.
const nftMarker = "<!-- nft section: written by make bench (BENCH_ONLY=nft alone) -->"

// idleMarker starts idle.sh's section of results.md (BENCH_ONLY=idle),
// which a run of the other rows keeps.
const idleMarker = "<!-- idle section: written by integration/bench/idle.sh (make bench) -->"

func main() {
	if len(os.Args) > 2 && os.Args[1] == "measure" {
		os.Exit(measureMain(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		if err := workerMain(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "bench worker: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if err := parentMain(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func parentMain(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	bin := fs.String("hostwall", "bin/hostwall", "the hostwall `binary` to measure")
	runs := fs.Int("runs", 21, "runs per measurement (the median is reported; at least 7)")
	only := fs.String("only", "", "run only these backends and sizes, as legacy, nft, native or FOREIGNxPOLICY[,...] (e.g. nft,50000x1000)")
	nftRuns50k := fs.Int("nft-runs-50k", 7, "runs per nft measurement at 50k foreign rules (at least 7)")
	out := fs.String("o", "", "write the results to this markdown `file`")
	profile := fs.String("profile", "", "also write CPU and heap profiles of the library apply into `dir` (largest size only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runs < 7 || *nftRuns50k < 7 {
		return fmt.Errorf("-runs %d, -nft-runs-50k %d: at least 7", *runs, *nftRuns50k)
	}
	if os.Geteuid() != 0 {
		return errors.New("needs root (it makes network namespaces)")
	}
	var missing []string
	for _, tool := range []string{"iptables-legacy", "iptables-legacy-restore", "iptables-legacy-save",
		"iptables-nft", "iptables-nft-restore", "iptables-nft-save", "nft", "egrep", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s (apt-get install iptables nftables grep)", strings.Join(missing, ", "))
	}
	hw, err := filepath.Abs(*bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(hw); err != nil {
		return fmt.Errorf("hostwall binary: %w (run make build)", err)
	}
	backends := []string{"legacy", "nft", "native"}
	sizes := defaultSizes
	someSizes := false
	if *only != "" {
		var bs []string
		var ss []config
		for _, s := range strings.Split(*only, ",") {
			if s == "legacy" || s == "nft" || s == "native" {
				bs = append(bs, s)
				continue
			}
			var c config
			if _, err := fmt.Sscanf(s, "%dx%d", &c.Foreign, &c.Policy); err != nil {
				return fmt.Errorf("-only %q: want legacy, nft, native or FOREIGNxPOLICY", s)
			}
			ss = append(ss, c)
		}
		if bs != nil {
			backends = bs
		}
		if ss != nil {
			sizes, someSizes = ss, true
		}
	}
	var configs []config
	for _, b := range backends {
		bsizes := sizes
		if b == "nft" && !someSizes {
			bsizes = defaultNftSizes
		}
		if b == "native" && !someSizes {
			bsizes = defaultNativeSizes
		}
		for _, c := range bsizes {
			c.Backend = b
			configs = append(configs, c)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	netns, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return err
	}

	start := time.Now()
	loadBefore := loadAvg()
	var results []*result
	for i, c := range configs {
		n := *runs
		if c.Backend == "nft" && c.Foreign >= 50000 {
			n = *nftRuns50k
		}
		wargs := []string{"worker", "-backend", c.Backend, "-hostwall", hw, "-foreign", strconv.Itoa(c.Foreign), "-policy", strconv.Itoa(c.Policy),
			"-runs", strconv.Itoa(n), "-parent-netns", netns}
		if *profile != "" && c.Backend == "legacy" && i == len(configs)-1 {
			wargs = append(wargs, "-profile", *profile)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		cmd := exec.CommandContext(ctx, self, wargs...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
		var stdout bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
		fmt.Fprintf(os.Stderr, "bench: %s, %d foreign rules, FILTERS of %d ...\n", c.Backend, c.Foreign, c.Policy)
		err := cmd.Run()
		cancel()
		if err != nil {
			return fmt.Errorf("%s %dx%d: %w", c.Backend, c.Foreign, c.Policy, err)
		}
		r := &result{}
		if err := json.Unmarshal(stdout.Bytes(), r); err != nil {
			return fmt.Errorf("%s %dx%d: worker output: %w", c.Backend, c.Foreign, c.Policy, err)
		}
		results = append(results, r)
	}
	elapsed := time.Since(start)

	var legacyRs, nftRs, nativeRs []*result
	for _, r := range results {
		if r.Backend == "nft" {
			nftRs = append(nftRs, r)
		} else if r.Backend == "native" {
			nativeRs = append(nativeRs, r)
		} else {
			legacyRs = append(legacyRs, r)
		}
	}
	var report, nftReport, nativeReport bytes.Buffer
	if legacyRs != nil {
		writeTables(&report, legacyRs, *runs)
	}
	if nftRs != nil {
		writeNftTables(&nftReport, nftRs, *runs, *nftRuns50k)
	}
	if nativeRs != nil {
		writeNativeTables(&nativeReport, nativeRs, *runs)
	}
	os.Stdout.Write(report.Bytes())
	os.Stdout.Write(nftReport.Bytes())
	os.Stdout.Write(nativeReport.Bytes())
	fmt.Printf("\n(bench took %s)\n", elapsed.Round(time.Second))
	if *out != "" && !someSizes {
		old, err := os.ReadFile(*out)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		// idle.sh's section is its own, at the end: kept as it is.
		oldMain, oldIdle, hasIdle := strings.Cut(string(old), idleMarker)
		oldRest, oldNative := splitNative(oldMain)
		oldLegacy, oldNft, _ := strings.Cut(oldRest, nftMarker)
		var md bytes.Buffer
		if legacyRs != nil {
			fmt.Fprintf(&md, "# hostwall benchmarks\n\nLatest run of `make bench` (integration/bench/run.sh): medians of %d runs per size, each in a fresh network namespace; took %s.\n\n",
				*runs, elapsed.Round(time.Second))
			writeMachine(&md, hw)
			fmt.Fprintf(&md, "- load average (1, 5, 15 min) before and after: %s; %s (others' work on the machine makes medians move; each row interleaves its measurements)\n", loadBefore, loadAvg())
			md.WriteString("\n")
			md.Write(report.Bytes())
			md.WriteString(legend)
		} else {
			md.WriteString(strings.TrimRight(oldLegacy, "\n") + "\n")
		}
		if nftRs != nil {
			fmt.Fprintf(&md, "\n%s\n\n# nf_tables backend\n\nLatest run of the nft rows of `make bench` (`BENCH_ONLY=nft make bench` runs them alone): medians of %d runs per size (%d at 50k foreign rules), each size in a fresh network namespace; took %s.\n\n",
				nftMarker, *runs, *nftRuns50k, elapsed.Round(time.Second))
			writeMachine(&md, hw)
			fmt.Fprintf(&md, "- iptables-nft: %s\n", firstLine("iptables-nft", "--version"))
			fmt.Fprintf(&md, "- load average (1, 5, 15 min) before and after: %s; %s\n\n", loadBefore, loadAvg())
			md.Write(nftReport.Bytes())
			md.WriteString(nftLegend)
		} else if oldNft != "" {
			md.WriteString("\n" + nftMarker + strings.TrimRight(oldNft, "\n") + "\n")
		}
		if nativeRs != nil {
			writeNativeSection(&md, nativeReport.Bytes(), hw, *runs, elapsed, loadBefore)
		} else if oldNative != "" {
			md.WriteString("\n" + nativeMarker + oldNative)
		}
		if hasIdle {
			md.WriteString("\n" + idleMarker + oldIdle)
		}
		if err := os.WriteFile(*out, md.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: wrote %s\n", *out)
	}
	return nil
}

// result is what a worker measured at one size: seconds per run.
type result struct {
	Backend         string
	Foreign, Policy int
	Entries         uint32 // kernel entries in the final table
	Bytes           uint32 // size of the final table's blob
	Samples         map[string][]float64
	Failed          map[string]string // nft: hostwall commands that failed, and why
}

func (r *result) med(key string) float64 { return median(r.Samples[key]) }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(s float64) string {
	switch {
	case s == 0:
		return "0"
	case s < 0.01:
		return fmt.Sprintf("%.2f", s*1000)
	case s < 0.1:
		return fmt.Sprintf("%.1f", s*1000)
	}
	return fmt.Sprintf("%.0f", s*1000)
}

func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func writeTables(w io.Writer, rs []*result, runs int) {
	fmt.Fprintf(w, "## Times (ms, median of %d)\n\n", runs)
	fmt.Fprintln(w, "| foreign rules | FILTERS rules | entries | KiB | apply (CLI) | apply (library) | recipe | restore -n alone | kernel floor | read-back | no-change apply | save | iptables-legacy-save | max RSS (MiB) |")
	fmt.Fprintln(w, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %d | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.1f |\n",
			r.Foreign, r.Policy, r.Entries, r.Bytes/1024,
			ms(r.med("apply")), ms(r.med("lib")), ms(r.med("recipe")), ms(r.med("restore")), ms(r.med("floor")), ms(r.med("readback")),
			ms(r.med("nochange")), ms(r.med("save")), ms(r.med("iptsave")), r.med("rss")/1024)
	}
	fmt.Fprintf(w, "\n## Ratios and CPU (medians)\n\n")
	fmt.Fprintln(w, "| foreign rules | FILTERS rules | apply / recipe | apply / floor | library / floor | no-change / apply | save / iptables-save | apply user CPU (ms) | apply system (ms) | user / system | library user CPU / floor | max RSS / blob |")
	fmt.Fprintln(w, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Foreign, r.Policy,
			ratio(r.med("apply"), r.med("recipe")), ratio(r.med("apply"), r.med("floor")), ratio(r.med("lib"), r.med("floor")),
			ratio(r.med("nochange"), r.med("apply")), ratio(r.med("save"), r.med("iptsave")),
			ms(r.med("user")), ms(r.med("sys")), ratio(r.med("user"), r.med("sys")), ratio(r.med("libuser"), r.med("floor")),
			ratio(r.med("rss")*1024, float64(r.Bytes)))
	}
	fmt.Fprintf(w, "\n## Goals (measured, not asserted)\n\n")
	goal := func(ok bool, text string) {
		mark := "met"
		if !ok {
			mark = "NOT met"
		}
		fmt.Fprintf(w, "- %s: %s\n", text, mark)
	}
	allFaster := true
	var slow []string
	var at50k []*result
	for _, r := range rs {
		if r.med("apply") > r.med("recipe") {
			allFaster = false
			slow = append(slow, fmt.Sprintf("%dx%d", r.Foreign, r.Policy))
		}
		if r.Foreign == 50000 {
			at50k = append(at50k, r)
		}
	}
	text := "hostwall apply no slower than the recipe at every size"
	if !allFaster {
		text += " (slower at " + strings.Join(slow, ", ") + ")"
	}
	goal(allFaster, text)
	for _, r := range at50k {
		q := r.med("apply") / r.med("floor")
		goal(q <= 1.15, fmt.Sprintf("50k foreign, FILTERS %d: apply within 1.15x of the kernel floor (%.2fx; library call %.2fx)",
			r.Policy, q, r.med("lib")/r.med("floor")))
		q = r.med("rss") * 1024 / float64(r.Bytes)
		goal(q <= 3, fmt.Sprintf("50k foreign, FILTERS %d: apply's max RSS at most 3x the table's blob (%.1f MiB, %.2fx)", r.Policy, r.med("rss")/1024, q))
		q = r.med("nochange") / r.med("apply")
		goal(q <= 0.5, fmt.Sprintf("50k foreign, FILTERS %d: no-change apply at most half of a write (%.2f)", r.Policy, q))
		q = r.med("user") / r.med("sys")
		goal(q <= 0.25, fmt.Sprintf("50k foreign, FILTERS %d: hostwall's user CPU a small fraction (taken as at most 1/4) of its system time (%.2f)", r.Policy, q))
	}
	if len(at50k) > 0 {
		fmt.Fprintf(w, "\nWhere a CLI apply's time goes beyond the kernel floor, at 50k foreign rules:\n\n")
		for _, r := range at50k {
			apply, lib, floor := r.med("apply"), r.med("lib"), r.med("floor")
			fmt.Fprintf(w, "- FILTERS %d: apply %s ms = floor %s + process start-up and fresh memory (CLI less library) %s + the library's own work %s\n",
				r.Policy, ms(apply), ms(floor), ms(apply-lib), ms(lib-floor))
		}
	}
}

const legend = `
## What is measured

Each size is a fresh network namespace holding a synthetic filter table
shaped like a Docker and kube-proxy host (Docker's FORWARD, DOCKER and
isolation rules with conntrack; kube-proxy's KUBE-* chains with comment,
conntrack, addrtype and mark matches and REJECT targets), loaded with
counters by iptables-legacy-restore -c, then the seed article's setup
(iptables -N FILTERS, -I INPUT -j FILTERS, -I DOCKER-USER -i eth0 -j
FILTERS) and its reload of a policy. Every measured run starts from that
state again (restored with one SET_REPLACE plus the counters) and applies
the same policy with one rule edited, so each write is an ordinary
reload. All ways of reaching the end state are checked to leave the same
kernel bytes (counters aside), and hostwall save to print what
iptables-legacy-save prints.

- **apply (CLI)**: ` + "`hostwall apply -4 FILE`" + `, wall time of the process.
- **apply (library)**: policy.ReadDesired + engine.Legacy{Conn}.Apply in
  the benchmark's process (file read, lock, read, plan, write, counters,
  verify by GET_INFO), without process start-up.
- **recipe**: ` + "`sh -c \"egrep '^(-[A-Z] FILTERS|COMMIT|\\*)' FILE | iptables-legacy-restore -n\"`" + `,
  as the article runs it; **restore -n alone** is iptables-legacy-restore
  -n fed the already filtered lines.
- **kernel floor**: one GET_INFO+GET_ENTRIES of the table plus one
  SET_REPLACE of the final bytes (xtables.Conn ReadRaw and Replace),
  timed alone: what any tool must pay to read and write this table.
- **read-back**: what reading the table back after writing it and
  comparing it with what was written would add (xtables.Conn ReadBack:
  one more GET_INFO+GET_ENTRIES and a comparison), timed alone. An apply
  no longer does it; it verifies with GET_INFO, the replace's entry count
  and the old counters it returns (ARCHITECTURE.md, "A legacy write").
- **no-change apply**: ` + "`hostwall apply`" + ` again on the final state (writes nothing).
- **save** / **iptables-legacy-save**: ` + "`-t filter`" + ` to /dev/null.
- **max RSS**: ru_maxrss of the hostwall apply process; **max RSS / blob**
  is it over the table's size (KiB column; a Go process starts at about
  10 MiB, which dominates small tables) (every program is
  started by a small helper process, since a child's ru_maxrss counts the
  memory of the process that forked it).
- **user / system**: the CLI apply's getrusage user and system CPU (in
  ticks' worth of precision: a few ms may read as 0); the system time is
  almost all the kernel's x_tables work and the page faults of a new
  process.
  **library user CPU / floor** is the user CPU the library apply spends
  (decode, plan, encode, verify), relative to the kernel floor.
`

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

func firstLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

func writeMachine(w io.Writer, hw string) {
	first := firstLine
	cpu := "unknown"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "unknown"
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.Atoi(f[1]); err == nil {
					mem = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
				}
			}
		}
	}
	fmt.Fprintf(w, "## Machine\n\n")
	fmt.Fprintf(w, "- date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "- CPU: %d × %s (nproc %s)\n", runtime.NumCPU(), cpu, first("nproc"))
	fmt.Fprintf(w, "- memory: %s\n", mem)
	fmt.Fprintf(w, "- kernel: %s\n", first("uname", "-srm"))
	fmt.Fprintf(w, "- iptables: %s\n", first("iptables-legacy", "--version"))
	fmt.Fprintf(w, "- Go: %s (hostwall built by make build: -trimpath -ldflags \"-s -w\", CGO_ENABLED=0)\n", runtime.Version())
	if st, err := os.Stat(hw); err == nil {
		fmt.Fprintf(w, "- hostwall binary: %.1f MiB\n", float64(st.Size())/(1<<20))
	}
}
