package integration

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hostwall/hostwall/integration/nstest"

	"github.com/hostwall/hostwall/xtables"
)

var update = flag.Bool("update", false, "rewrite xtables/testdata/golden from the kernel")

// goldenDir holds kernel blobs of the fixtures, so that the codec's unit
// tests check real kernel bytes without root.
const goldenDir = "../xtables/testdata/golden"

// maxGolden keeps the golden files small; the large fixtures are tested
// here, against the kernel, only.
const maxGolden = 64 << 10

// TestGolden checks that the committed golden blobs are what the kernel
// makes of the fixtures today (run with -update to rewrite them).
func TestGolden(t *testing.T) {
	nstest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	count := 0
	for _, fx := range loadFixtures(t) {
		if !strings.Contains(fx.path, "testdata/fixtures/") {
			continue
		}
		restore, save, _ := fx.tools()
		ns := nstest.Netns(t)
		fx.prepare(t, ns)
		nstest.Run(t, ns, fx.data, restore, "-c")
		base := strings.TrimSuffix(filepath.Base(fx.path), ".rules")
		for _, table := range fx.tables(t) {
			var info xtables.Info
			var blob []byte
			nstest.InNetns(t, ns, func() {
				conn, err := xtables.Open(fx.family)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				if info, blob, err = conn.ReadRaw(ctx, table); err != nil {
					t.Fatal(err)
				}
			})
			if len(blob) > maxGolden {
				continue
			}
			count++
			text := nstest.StripComments(nstest.Run(t, ns, nil, save, "-c", "-t", table))
			bin := append(info.Marshal(), blob...)
			stem := filepath.Join(goldenDir, base+"."+table)
			if *update {
				if err := os.MkdirAll(goldenDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(stem+".bin", bin, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(stem+".save", []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			gotBin, err1 := os.ReadFile(stem + ".bin")
			gotText, err2 := os.ReadFile(stem + ".save")
			if err1 != nil || err2 != nil {
				t.Errorf("golden %s missing (run: go test ./integration -run TestGolden -update)", stem)
				continue
			}
			if !bytes.Equal(gotBin, bin) || string(gotText) != text {
				t.Errorf("golden %s is stale (run: go test ./integration -run TestGolden -update)", stem)
			}
		}
	}
	if count == 0 {
		t.Fatal("no golden blobs checked")
	}
}
