package integration

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/hostwall/hostwall/integration/nstest"
	"github.com/hostwall/hostwall/xtables"
)

// An apply of two families is all or nothing: what the kernel would
// refuse is refused before the first write, with its file line; what
// only the kernel can refuse leaves both families as they were.

// rawV6 is an IPv6 file whose filter part is the seed's and which also
// owns a chain in raw, with a rule only the kernel can refuse: a
// conntrack helper no module provides (ENOENT at the replace, on
// x_tables and through nft_compat alike).
func rawV6(t *testing.T) (text string, line int) {
	t.Helper()
	seed, err := os.ReadFile("testdata/policy/seed.v6")
	if err != nil {
		t.Fatal(err)
	}
	text = string(seed) + "*raw\n:PREROUTING ACCEPT [0:0]\n:FILTERS - [0:0]\n-A PREROUTING -j FILTERS\n-A FILTERS -p tcp -j CT --helper nosuchhelper\nCOMMIT\n"
	return text, strings.Count(text, "\n") - 1
}

// legacyState is every table of both families, entry for entry with
// the counters: a table rolled back is byte-equal to what it was.
func legacyState(t *testing.T, ns string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, fam := range []*xtables.Family{xtables.IPv4, xtables.IPv6} {
		var names []string
		var err error
		nstest.InNetns(t, ns, func() { names, err = xtables.TableNames(fam) })
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			info, blob := nstest.ReadRaw(t, ns, fam, name)
			out[fam.String()+" "+name] = append(info.Marshal(), blob...)
		}
	}
	return out
}

func sameState(t *testing.T, before, after map[string][]byte) {
	t.Helper()
	for name, b := range before {
		if a, ok := after[name]; !ok {
			t.Errorf("%s: gone", name)
		} else if !bytes.Equal(a, b) {
			t.Errorf("%s: changed (counters included) at byte %d of %d", name, diffAt(a, b), len(b))
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("%s: created", name)
		}
	}
}

// TestApplyAllOrNothingLegacy: on x_tables, with counters running in
// every table and the raw tables in place,
//   - DNAT in the IPv4 filter file: refused before anything is read
//     for writing, naming file:line:column; both families untouched;
//   - IPv4 good, IPv6 filter good, IPv6 raw refused by the kernel: IPv4
//     filter and IPv6 filter are written, then put back, byte for byte
//     and counter for counter, and the error names the refused table,
//     the suspect rule's line and what each table holds;
//   - the same apply without the bad rule then goes through.
func TestApplyAllOrNothingLegacy(t *testing.T) {
	nstest.Require(t)
	ns := nstest.Netns(t)
	base, err := os.ReadFile("testdata/base/docker.v4.rules")
	if err != nil {
		t.Fatal(err)
	}
	nstest.Run(t, ns, base, "iptables-legacy-restore", "-c")
	nstest.Run(t, ns, []byte("*filter\n:INPUT ACCEPT [5:500]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n[3:300] -A INPUT -i lo -j ACCEPT\nCOMMIT\n*raw\n:PREROUTING ACCEPT [7:700]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"),
		"ip6tables-legacy-restore", "-c")
	nstest.Run(t, ns, []byte("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"), "iptables-legacy-restore")
	nstest.Run(t, ns, nil, "ip", "link", "set", "lo", "up")
	nstest.LoopbackTraffic(t, ns, 3)

	t.Run("checked before writing", func(t *testing.T) {
		bad := seedWith(t, "-A FILTERS -p tcp -j DNAT --to-destination 192.0.2.1\n")
		path := policyFile(t, "dnat.v4", bad)
		line := strings.Count(bad[:strings.Index(bad, "-j DNAT")], "\n") + 1
		before := legacyState(t, ns)
		out, errOut, code := nstest.Hostwall(t, ns, "apply", "--backend", "legacy", "-4", path, "-6", "testdata/policy/seed.v6")
		want := fmt.Sprintf("%s:%d:22: target DNAT is valid only in the nat table, not in filter", path, line)
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("exit %d, want 1 and %q:\n%s%s", code, want, out, errOut)
		}
		sameState(t, before, legacyState(t, ns))
	})

	t.Run("refused by the kernel, rolled back", func(t *testing.T) {
		v6, line := rawV6(t)
		path := policyFile(t, "raw.v6", v6)
		before := legacyState(t, ns)
		out, errOut, code := nstest.Hostwall(t, ns, "apply", "--backend", "legacy", "-4", "testdata/policy/seed-docker.v4", "-6", path)
		for _, want := range []string{
			"the kernel refused the new IPv6 table raw (no such file or directory)",
			fmt.Sprintf("%s:%d (-A FILTERS -p tcp -j CT --helper nosuchhelper)", path, line),
			"nothing was written: IPv4 filter written, then put back as it was (counters included), IPv6 filter written, then put back as it was (counters included), IPv6 raw not written",
		} {
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr lacks %q", want)
			}
		}
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
		}
		sameState(t, before, legacyState(t, ns))
		if !strings.Contains(out, "IPv4 filter: written, then put back as it was") {
			t.Errorf("the report does not say IPv4 filter was put back:\n%s", out)
		}
	})

	t.Run("good files", func(t *testing.T) {
		v6, _ := rawV6(t)
		path := policyFile(t, "raw.v6", strings.Replace(v6, " --helper nosuchhelper", " --notrack", 1))
		nstest.MustHostwall(t, ns, "apply", "--backend", "legacy", "-4", "testdata/policy/seed-docker.v4", "-6", path)
		save := nstest.Run(t, ns, nil, "ip6tables-legacy-save", "-t", "raw")
		if !strings.Contains(save, "-A FILTERS -p tcp -j CT --notrack") {
			t.Errorf("raw not written:\n%s", save)
		}
	})
}

// TestApplyAllOrNothingNft: on nf_tables the same two refusals change
// nothing in either family, and the kernel's refusal names the rule's
// file line: one transaction holds both families.
func TestApplyAllOrNothingNft(t *testing.T) {
	requireNft(t)
	ns := nstest.Netns(t)
	base, err := os.ReadFile("testdata/base/docker.v4.rules")
	if err != nil {
		t.Fatal(err)
	}
	nstest.Run(t, ns, base, "iptables-nft-restore", "-c")
	nstest.Run(t, ns, []byte("*filter\n:INPUT ACCEPT [0:0]\n[3:300] -A INPUT -i lo -j ACCEPT\nCOMMIT\n*raw\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n"),
		"ip6tables-nft-restore", "-c")

	for _, tc := range []struct {
		name, v4, v6 string
		want         func(v4, v6 string) string
		written      string // what the error says of the kernel
	}{
		{"checked before writing", seedWith(t, "-A FILTERS -p tcp -j DNAT --to-destination 192.0.2.1\n"), "", func(v4, _ string) string {
			b, _ := os.ReadFile(v4)
			line := strings.Count(string(b)[:strings.Index(string(b), "-j DNAT")], "\n") + 1
			return fmt.Sprintf("%s:%d:22: target DNAT is valid only in the nat table, not in filter", v4, line)
		}, ""},
		{"refused by the kernel", "", "raw", func(_, v6 string) string {
			_, line := rawV6(t)
			return fmt.Sprintf("%s:%d", v6, line)
		}, "nothing was written (IPv4 filter, IPv6 filter, IPv6 raw as they were)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v4, v6 := "testdata/policy/seed-docker.v4", "testdata/policy/seed.v6"
			if tc.v4 != "" {
				v4 = policyFile(t, "bad.v4", tc.v4)
			}
			if tc.v6 == "raw" {
				text, _ := rawV6(t)
				v6 = policyFile(t, "raw.v6", text)
			}
			before := nftSnapshot(t, ns, true)
			stop := monitor(t, ns)
			out, errOut, code := nstest.Hostwall(t, ns, "apply", "--backend", "nft", "-4", v4, "-6", v6)
			if ev := stop(); len(ev) != 0 {
				t.Errorf("refused apply made events: %q", ev)
			}
			want := tc.want(v4, v6)
			if code != 1 || !strings.Contains(errOut, want) || !strings.Contains(errOut, tc.written) {
				t.Errorf("exit %d, want 1, %q and %q:\n%s%s", code, want, tc.written, out, errOut)
			}
			if after := nftSnapshot(t, ns, true); after != before {
				t.Errorf("refused apply changed nf_tables:\n%s", nstest.FirstDiff(before, after))
			}
		})
	}
}
