package integration

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hostwall/hostwall/integration/nstest"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
)

// fixture is a rules file in the exact text iptables-legacy-save prints,
// so that it is at once the input and the expected output.
type fixture struct {
	path     string
	family   *xtables.Family
	data     []byte
	want     string   // the file without comment lines
	requires []string // "# requires: CMD ARGS" lines, run in each namespace first
}

func loadFixtures(t *testing.T) []fixture {
	t.Helper()
	var paths []string
	for _, glob := range []string{"testdata/fixtures/*.rules", "testdata/ext/*.rules"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m...)
	}
	if len(paths) == 0 {
		t.Fatal("no fixtures found")
	}
	var out []fixture
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fam := xtables.IPv4
		if strings.HasSuffix(p, ".v6.rules") {
			fam = xtables.IPv6
		}
		fx := fixture{path: p, family: fam, data: data, want: nstest.StripComments(string(data))}
		for _, line := range strings.Split(string(data), "\n") {
			if cmd, ok := strings.CutPrefix(line, "# requires: "); ok {
				fx.requires = append(fx.requires, cmd)
			}
		}
		out = append(out, fx)
	}
	return out
}

func (fx *fixture) tools() (restore, save, famFlag string) {
	if fx.family == xtables.IPv6 {
		return "ip6tables-legacy-restore", "ip6tables-legacy-save", "-6"
	}
	return "iptables-legacy-restore", "iptables-legacy-save", "-4"
}

func (fx *fixture) prepare(t *testing.T, ns string) {
	for _, cmd := range fx.requires {
		f := strings.Fields(cmd)
		nstest.Run(t, ns, nil, f[0], f[1:]...)
	}
}

// tables lists the tables a fixture defines.
func (fx *fixture) tables(t *testing.T) []string {
	f, err := policy.Parse(fx.path, fx.data)
	if err != nil {
		t.Fatalf("parse fixture: %v", err)
	}
	var names []string
	for _, b := range f.Tables {
		names = append(names, b.Table)
	}
	return names
}

// TestFixtures is the oracle test of the codec. For every fixture, real
// iptables-legacy-restore loads it, and then:
//
//	(a) hostwall's decode then encode of each table gives the kernel's bytes;
//	(b) hostwall save prints what iptables-legacy-save prints, with and without -c;
//	(c) a table hostwall builds from the file and writes, in a second
//	    namespace, has the same kernel bytes and reads back as the fixture.
func TestFixtures(t *testing.T) {
	nstest.Require(t)
	for _, fx := range loadFixtures(t) {
		t.Run(strings.TrimSuffix(filepath.Base(fx.path), ".rules")+"/"+filepath.Base(filepath.Dir(fx.path)), func(t *testing.T) {
			checkFixture(t, fx)
		})
	}
}

func checkFixture(t *testing.T, fx fixture) {
	restore, save, famFlag := fx.tools()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	oracleNS := nstest.Netns(t)
	fx.prepare(t, oracleNS)
	nstest.Run(t, oracleNS, fx.data, restore, "-c")
	// A fixture is written as save prints it with -c when its rules
	// carry counters, without -c otherwise.
	var saveArgs []string
	if strings.Contains(fx.want, "\n[") {
		saveArgs = []string{"-c"}
	}
	if got := nstest.StripComments(nstest.Run(t, oracleNS, nil, save, saveArgs...)); got != fx.want {
		t.Fatalf("fixture is not in iptables-save's canonical form; %s", nstest.FirstDiff(got, fx.want))
	}

	// (a) decode -> encode is the identity on the kernel's bytes.
	oracleBlobs := map[string][]byte{}
	nstest.InNetns(t, oracleNS, func() {
		conn, err := xtables.Open(fx.family)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, name := range fx.tables(t) {
			info, blob, err := conn.ReadRaw(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			oracleBlobs[name] = blob
			tbl, err := xtables.Decode(fx.family, info, blob)
			if err != nil {
				t.Fatalf("(a) decode %s: %v", name, err)
			}
			enc, err := xtables.Encode(tbl)
			if err != nil {
				t.Fatalf("(a) encode %s: %v", name, err)
			}
			if !bytes.Equal(enc.Blob, blob) {
				t.Errorf("(a) table %s: re-encoded blob differs from the kernel's at byte %d", name, diffAt(enc.Blob, blob))
			}
			if enc.Info.ValidHooks != info.ValidHooks || enc.Info.HookEntry != info.HookEntry || enc.Info.Underflow != info.Underflow || enc.Info.NumEntries != info.NumEntries {
				t.Errorf("(a) table %s: re-encoded info %+v, kernel %+v", name, enc.Info, info)
			}
		}
	})

	// (b) hostwall save == iptables-legacy-save.
	for _, args := range [][]string{{"-c"}, nil} {
		want := nstest.StripComments(nstest.Run(t, oracleNS, nil, save, args...))
		got := nstest.StripComments(nstest.Run(t, oracleNS, nil, nstest.Bin, append([]string{"save", "--backend", "legacy", famFlag}, args...)...))
		if got != want {
			t.Errorf("(b) hostwall save %v differs from %s; %s", args, save, nstest.FirstDiff(got, want))
		}
	}

	// (c) hostwall writes the fixture; the kernel must hold what
	// iptables-legacy-restore made of it, byte for byte.
	hwNS := nstest.Netns(t)
	fx.prepare(t, hwNS)
	file, err := policy.Parse(fx.path, fx.data)
	if err != nil {
		t.Fatal(err)
	}
	nstest.InNetns(t, hwNS, func() {
		conn, err := xtables.Open(fx.family)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, b := range file.Tables {
			tbl, err := policy.Build(b, policy.BuildOptions{
				Family: fx.family, Counters: true,
				Supported: func(k ext.Kind, name string, rev uint8) (bool, error) {
					return conn.Revision(k == ext.Target, name, rev)
				},
			})
			if err != nil {
				t.Fatalf("(c) build %s: %v", b.Table, err)
			}
			if err := conn.Restore(ctx, tbl); err != nil {
				t.Fatalf("(c) write %s: %v", b.Table, err)
			}
			_, blob, err := conn.ReadRaw(ctx, b.Table)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(blob, oracleBlobs[b.Table]) {
				t.Errorf("(c) table %s written by hostwall differs from iptables-legacy-restore's at byte %d (%d vs %d bytes)",
					b.Table, diffAt(blob, oracleBlobs[b.Table]), len(blob), len(oracleBlobs[b.Table]))
			}
		}
	})
	if got := nstest.StripComments(nstest.Run(t, hwNS, nil, save, saveArgs...)); got != fx.want {
		t.Errorf("(c) %s of hostwall's table differs from the fixture; %s", save, nstest.FirstDiff(got, fx.want))
	}

	// (d) the CLI, hostwall restore -c, is a drop-in for
	// iptables-legacy-restore -c: the same kernel bytes.
	cliNS := nstest.Netns(t)
	fx.prepare(t, cliNS)
	nstest.MustHostwall(t, cliNS, "restore", "--backend", "legacy", famFlag, "-c", fx.path)
	for name, want := range oracleBlobs {
		if _, got := nstest.ReadRaw(t, cliNS, fx.family, name); !bytes.Equal(got, want) {
			t.Errorf("(d) hostwall restore: table %s differs from iptables-legacy-restore's at byte %d", name, diffAt(got, want))
		}
	}
}

func diffAt(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
