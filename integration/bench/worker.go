package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
)

// worker measures one size inside the network namespace it was started
// in. Everything it writes goes to that namespace's tables.
type worker struct {
	self     string // this program, for measureMain
	hostwall string
	dir      string
	lockFile string
	conn     *xtables.Conn
	// newFile is the policy being applied; filtered its recipe lines.
	newFile  string
	filtered []byte
	start    *xtables.Encoded // the state every measured write starts from
	startCtr []xtables.Counters
	// The end state, as the recipe leaves it: decoded (sharing the
	// bytes read), and encoded again.
	finalTable *xtables.Table
	finalEnc   *xtables.Encoded
	want       []byte // the end state's blob without counters
}

func workerMain(args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	hw := fs.String("hostwall", "", "hostwall binary")
	nForeign := fs.Int("foreign", 0, "foreign rules")
	nPolicy := fs.Int("policy", 10, "FILTERS rules")
	runs := fs.Int("runs", 7, "runs")
	parentNetns := fs.String("parent-netns", "", "the parent's network namespace, which must not be ours")
	profileDir := fs.String("profile", "", "write profiles of the library apply here")
	backend := fs.String("backend", "legacy", "legacy, nft or native")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkFreshNetns(*parentNetns); err != nil {
		return err
	}
	ctx := context.Background()

	dir, err := os.MkdirTemp("", "hostwall-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	w := &worker{self: self, hostwall: *hw, dir: dir, lockFile: filepath.Join(dir, "xtables.lock")}
	// iptables and hostwall both honour it: the machine's own
	// /run/xtables.lock is never taken.
	os.Setenv("XTABLES_LOCKFILE", w.lockFile)
	if *backend == "nft" || *backend == "native" {
		run := nftWorkerMain
		if *backend == "native" {
			run = nativeWorkerMain
		}
		res, err := run(w, *nForeign, *nPolicy, *runs)
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(res)
	}

	base, err := genBase(*nForeign)
	if err != nil {
		return err
	}
	newPol, err := genPolicy(*nPolicy, 0)
	if err != nil {
		return err
	}
	oldPol, err := genPolicy(*nPolicy, 1)
	if err != nil {
		return err
	}
	oldFile := filepath.Join(dir, "old.v4")
	w.newFile = filepath.Join(dir, "new.v4")
	if err := os.WriteFile(oldFile, []byte(oldPol), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(w.newFile, []byte(newPol), 0o644); err != nil {
		return err
	}
	w.filtered = recipeLines(newPol)

	// The host before the measured reload: foreign rules with counters,
	// the article's boot-time setup, and the previous policy loaded.
	if _, err := w.run(ctx, []byte(base), io.Discard, "iptables-legacy-restore", "-c"); err != nil {
		return err
	}
	for _, a := range recipeSetup {
		if _, err := w.run(ctx, nil, io.Discard, "iptables-legacy", append([]string{"-w"}, a...)...); err != nil {
			return err
		}
	}
	if _, err := w.recipe(ctx, oldFile); err != nil {
		return err
	}
	if w.conn, err = xtables.Open(xtables.IPv4); err != nil {
		return err
	}
	defer w.conn.Close()
	info, blob, err := w.conn.ReadRaw(ctx, "filter")
	if err != nil {
		return err
	}
	w.start = &xtables.Encoded{Info: info, Blob: blob}
	if w.startCtr, err = entryCounters(info, blob); err != nil {
		return err
	}

	// The end state, as the recipe leaves it; every other way must
	// leave the same bytes.
	if _, err := w.recipe(ctx, w.newFile); err != nil {
		return err
	}
	if info, blob, err = w.conn.ReadRaw(ctx, "filter"); err != nil {
		return err
	}
	if w.finalTable, err = xtables.Decode(xtables.IPv4, info, blob); err != nil {
		return err
	}
	// The floor writes the same bytes from a buffer Encode laid out, as
	// apply does, so that Replace sends it without copying.
	if w.finalEnc, err = xtables.Encode(w.finalTable); err != nil {
		return err
	}
	if !bytes.Equal(w.finalEnc.Blob, blob) {
		return fmt.Errorf("decoding and encoding the end state changed its bytes")
	}
	if w.want, err = withoutCounters(info, blob); err != nil {
		return err
	}
	// hostwall save prints what iptables-legacy-save prints.
	var hs, is bytes.Buffer
	if _, err := w.run(ctx, nil, &hs, w.hostwall, "save", "--backend", "legacy", "-t", "filter"); err != nil {
		return err
	}
	if _, err := w.run(ctx, nil, &is, "iptables-legacy-save", "-t", "filter"); err != nil {
		return err
	}
	if a, b := stripComments(hs.String()), stripComments(is.String()); a != b {
		return fmt.Errorf("hostwall save differs from iptables-legacy-save: %s", firstDiff(a, b))
	}

	res := &result{Backend: "legacy", Foreign: *nForeign, Policy: *nPolicy, Entries: info.NumEntries, Bytes: info.Size, Samples: map[string][]float64{}}
	add := func(k string, v float64) { res.Samples[k] = append(res.Samples[k], v) }
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()

	for i := 0; i < *runs; i++ {
		check := i == 0
		// hostwall apply, then the same apply again (no change).
		if err := w.reset(); err != nil {
			return err
		}
		var out bytes.Buffer
		ru, err := w.run(ctx, nil, &out, w.hostwall, "apply", "--backend", "legacy", "-4", w.newFile)
		if err != nil {
			return err
		}
		if !strings.Contains(out.String(), "written") {
			return fmt.Errorf("hostwall apply wrote nothing:\n%s", out.String())
		}
		if check {
			if err := w.checkEnd(ctx, "hostwall apply"); err != nil {
				return err
			}
		}
		add("apply", ru.Wall)
		add("user", ru.User)
		add("sys", ru.Sys)
		add("rss", float64(ru.MaxRSS))
		out.Reset()
		if ru, err = w.run(ctx, nil, &out, w.hostwall, "apply", "--backend", "legacy", "-4", w.newFile); err != nil {
			return err
		}
		if !strings.Contains(out.String(), "no change") {
			return fmt.Errorf("second hostwall apply was not a no-op:\n%s", out.String())
		}
		add("nochange", ru.Wall)

		if ru, err = w.run(ctx, nil, devnull, w.hostwall, "save", "--backend", "legacy", "-t", "filter"); err != nil {
			return err
		}
		add("save", ru.Wall)
		if ru, err = w.run(ctx, nil, devnull, "iptables-legacy-save", "-t", "filter"); err != nil {
			return err
		}
		add("iptsave", ru.Wall)

		// The same apply as a library call.
		if err := w.reset(); err != nil {
			return err
		}
		runtime.GC()
		u0 := selfUsage()
		t0 := time.Now()
		if err := w.libApply(ctx); err != nil {
			return err
		}
		add("lib", time.Since(t0).Seconds())
		u1 := selfUsage()
		add("libuser", u1.User-u0.User)
		if check {
			if err := w.checkEnd(ctx, "library apply"); err != nil {
				return err
			}
		}

		// What the library apply's read-back costs: reading the table
		// again and comparing it with what was written.
		enc, err := xtables.Encode(w.finalTable)
		if err != nil {
			return err
		}
		t0 = time.Now()
		same, _, _, err := w.conn.ReadBack(ctx, w.finalTable, enc)
		if err != nil {
			return err
		}
		add("readback", time.Since(t0).Seconds())
		if !same {
			return fmt.Errorf("read-back after the library apply differs from the recipe's end state")
		}

		// The seed article's reload, and its restore alone.
		if err := w.reset(); err != nil {
			return err
		}
		if ru, err = w.recipe(ctx, w.newFile); err != nil {
			return err
		}
		add("recipe", ru.Wall)
		if check {
			if err := w.checkEnd(ctx, "recipe"); err != nil {
				return err
			}
		}
		if err := w.reset(); err != nil {
			return err
		}
		if ru, err = w.run(ctx, w.filtered, io.Discard, "iptables-legacy-restore", "-n"); err != nil {
			return err
		}
		add("restore", ru.Wall)
		if check {
			if err := w.checkEnd(ctx, "restore -n"); err != nil {
				return err
			}
		}

		// The kernel floor: read the table once, write the final bytes
		// once.
		if err := w.reset(); err != nil {
			return err
		}
		t0 = time.Now()
		cur, _, err := w.conn.ReadRaw(ctx, "filter")
		if err != nil {
			return err
		}
		if _, err := w.conn.Replace(w.finalEnc, cur.NumEntries); err != nil {
			return err
		}
		add("floor", time.Since(t0).Seconds())
		if check {
			if err := w.checkEnd(ctx, "kernel floor"); err != nil {
				return err
			}
		}
	}
	if *profileDir != "" {
		if err := w.profile(ctx, *profileDir, res); err != nil {
			return err
		}
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// checkFreshNetns refuses to run anywhere but in a new, empty network
// namespace: never the parent's, never PID 1's, and with no tables yet.
func checkFreshNetns(parent string) error {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return err
	}
	if parent == "" || self == parent {
		return fmt.Errorf("refusing to run: not in a network namespace of its own (%s)", self)
	}
	if init, err := os.Readlink("/proc/1/ns/net"); err == nil && init == self {
		return fmt.Errorf("refusing to run in PID 1's network namespace")
	}
	for _, f := range []string{"/proc/net/ip_tables_names", "/proc/net/ip6_tables_names"} {
		data, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if len(bytes.TrimSpace(data)) > 0 {
			return fmt.Errorf("refusing to run: the namespace already has tables (%s: %s)", f, bytes.TrimSpace(data))
		}
	}
	return nil
}

// usage is what one child cost: seconds, and KiB.
type usage struct {
	Wall, User, Sys float64
	MaxRSS          int64
}

func selfUsage() usage {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return usage{User: tv(ru.Utime), Sys: tv(ru.Stime)}
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// run runs a program in the worker's namespace and measures it; a
// failure carries its stderr. The program is started by a small helper
// process (measureMain), not by the worker itself: a child's ru_maxrss
// starts at the size of the process that forked it, and the worker holds
// whole tables in memory.
func (w *worker) run(ctx context.Context, stdin []byte, stdout io.Writer, name string, args ...string) (usage, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	r, wr, err := os.Pipe()
	if err != nil {
		return usage{}, err
	}
	defer r.Close()
	cmd := exec.CommandContext(ctx, w.self, append([]string{"measure", name}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	cmd.ExtraFiles = []*os.File{wr}
	err = cmd.Start()
	wr.Close()
	if err != nil {
		return usage{}, err
	}
	report, rerr := io.ReadAll(r)
	if err := cmd.Wait(); err != nil {
		return usage{}, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	if rerr != nil {
		return usage{}, rerr
	}
	var u usage
	if err := json.Unmarshal(report, &u); err != nil {
		return usage{}, fmt.Errorf("measuring %s: %w", name, err)
	}
	return u, nil
}

// measureMain runs one program with the helper's stdin, stdout and
// stderr, writes its wall time and resource usage as JSON to fd 3, and
// exits with its status.
func measureMain(args []string) int {
	report := os.NewFile(3, "report")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0).Seconds()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintf(os.Stderr, "measure: %v\n", err)
		return 1
	}
	u := usage{Wall: wall, User: cmd.ProcessState.UserTime().Seconds(), Sys: cmd.ProcessState.SystemTime().Seconds()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		u.MaxRSS = ru.Maxrss
	}
	json.NewEncoder(report).Encode(u)
	report.Close()
	return cmd.ProcessState.ExitCode()
}

// recipe runs the seed article's reload of file, as it is typed.
func (w *worker) recipe(ctx context.Context, file string) (usage, error) {
	script := fmt.Sprintf(`egrep '%s' "$1" | iptables-legacy-restore -n`, recipePattern)
	return w.run(ctx, nil, io.Discard, "sh", "-c", script, "sh", file)
}

var recipeRE = regexp.MustCompile(recipePattern)

func recipeLines(file string) []byte {
	var b bytes.Buffer
	for _, l := range strings.Split(file, "\n") {
		if recipeRE.MatchString(l) {
			b.WriteString(l + "\n")
		}
	}
	return b.Bytes()
}

// reset puts the table back in the start state, counters included.
func (w *worker) reset() error {
	info, err := w.conn.Info("filter")
	if err != nil {
		return err
	}
	if _, err := w.conn.Replace(w.start, info.NumEntries); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	if err := w.conn.AddCounters("filter", w.startCtr); err != nil {
		return fmt.Errorf("reset counters: %w", err)
	}
	return nil
}

func (w *worker) libApply(ctx context.Context) error {
	data, err := os.ReadFile(w.newFile)
	if err != nil {
		return err
	}
	conn, err := xtables.Open(xtables.IPv4)
	if err != nil {
		return err
	}
	defer conn.Close()
	d, err := policy.ReadDesired(w.newFile, data, policy.DesiredOptions{
		Family: xtables.IPv4,
		Supported: func(k ext.Kind, n string, rev uint8) (bool, error) {
			return conn.Revision(k == ext.Target, n, rev)
		},
	})
	if err != nil {
		return err
	}
	backend := &engine.Legacy{Conn: conn, LockFile: w.lockFile}
	rep, err := backend.Apply(ctx, d, engine.Options{LockWait: 10 * time.Second})
	if err != nil {
		return err
	}
	if len(rep.Tables) != 1 || !rep.Tables[0].Written {
		return fmt.Errorf("library apply wrote nothing")
	}
	return nil
}

// checkEnd requires the kernel to hold the end state.
func (w *worker) checkEnd(ctx context.Context, who string) error {
	info, blob, err := w.conn.ReadRaw(ctx, "filter")
	if err != nil {
		return err
	}
	got, err := withoutCounters(info, blob)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, w.want) {
		return fmt.Errorf("%s left different kernel bytes than the recipe (%d vs %d bytes)", who, len(got), len(w.want))
	}
	return nil
}

// profile writes a CPU profile of repeated library applies and a heap
// profile of one.
func (w *worker) profile(ctx context.Context, dir string, res *result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := fmt.Sprintf("%dx%d", res.Foreign, res.Policy)
	f, err := os.Create(filepath.Join(dir, "cpu-"+name+".pprof"))
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	for i := 0; i < 10; i++ {
		if err := w.reset(); err != nil {
			pprof.StopCPUProfile()
			return err
		}
		if err := w.libApply(ctx); err != nil {
			pprof.StopCPUProfile()
			return err
		}
	}
	pprof.StopCPUProfile()
	runtime.MemProfileRate = 4096
	if err := w.reset(); err != nil {
		return err
	}
	if err := w.libApply(ctx); err != nil {
		return err
	}
	h, err := os.Create(filepath.Join(dir, "allocs-"+name+".pprof"))
	if err != nil {
		return err
	}
	defer h.Close()
	return pprof.Lookup("allocs").WriteTo(h, 0)
}

// entryCounters reads each entry's counters out of an IPv4 blob (struct
// ipt_entry: next_offset at 90, counters at 96).
func entryCounters(info xtables.Info, blob []byte) ([]xtables.Counters, error) {
	var out []xtables.Counters
	for off := 0; off < len(blob); {
		if len(blob)-off < 112 {
			return nil, fmt.Errorf("truncated entry at %d", off)
		}
		e := blob[off:]
		next := int(binary.NativeEndian.Uint16(e[90:]))
		if next == 0 {
			return nil, fmt.Errorf("zero next_offset at %d", off)
		}
		out = append(out, xtables.Counters{Packets: binary.NativeEndian.Uint64(e[96:]), Bytes: binary.NativeEndian.Uint64(e[104:])})
		off += next
	}
	if len(out) != int(info.NumEntries) {
		return nil, fmt.Errorf("%d entries, info says %d", len(out), info.NumEntries)
	}
	return out, nil
}

// withoutCounters is a blob with every counter zeroed.
func withoutCounters(info xtables.Info, blob []byte) ([]byte, error) {
	t, err := xtables.Decode(xtables.IPv4, info, blob)
	if err != nil {
		return nil, err
	}
	for _, c := range t.Chains {
		c.Counters = xtables.Counters{}
		for _, r := range c.Rules {
			r.Counters = xtables.Counters{}
		}
	}
	enc, err := xtables.Encode(t)
	if err != nil {
		return nil, err
	}
	return enc.Blob, nil
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(l, "#") {
			b.WriteString(l)
		}
	}
	return b.String()
}

func firstDiff(a, b string) string {
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
			return fmt.Sprintf("line %d: hostwall %q, iptables %q", i+1, x, y)
		}
	}
	return "no difference"
}
