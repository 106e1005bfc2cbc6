package engine

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/nft"
)

// kernelFilter is an nf_tables filter table as iptables-nft leaves it:
// INPUT (DROP, counters 5:6) jumping to X, whose rules are an ACCEPT and
// a rule written with nft (notrack) that hostwall cannot read.
func kernelFilter(t *testing.T) *nft.Snapshot {
	t.Helper()
	rule := func(chain string, handle uint64, exprs ...nft.Expr) *nft.Rule {
		raw, err := nft.MarshalExprs(nft.IPv4, exprs)
		if err != nil {
			t.Fatal(err)
		}
		return &nft.Rule{Family: nft.IPv4, Table: "filter", Chain: chain, Handle: handle, Exprs: raw}
	}
	in, _ := nft.Builtin("filter", "INPUT")
	in.Policy = nft.NFPolicy(xtables.VerdictDrop)
	return &nft.Snapshot{
		Family: xtables.IPv4, Name: "filter", Exists: true, Table: &nft.Table{Name: "filter"},
		Chains: []*nft.Chain{{Name: "INPUT", Base: &in, Counters: &xtables.Counters{Packets: 5, Bytes: 6}}, {Name: "X"}},
		Rules: map[string][]*nft.Rule{
			"INPUT": {rule("INPUT", 10, &nft.Counter{}, &nft.Immediate{Reg: unix.NFT_REG_VERDICT, Verdict: unix.NFT_JUMP, Chain: "X"})},
			"X": {
				rule("X", 11, &nft.Counter{Packets: 1, Bytes: 2}, &nft.Immediate{Reg: unix.NFT_REG_VERDICT, Verdict: 1}),
				rule("X", 12, &nft.Unknown{Name: "notrack"}, &nft.Counter{}),
			},
		},
	}
}

func plan(t *testing.T, text string, opt RestoreOptions, snaps ...*nft.Snapshot) (*nft.Batch, []*restoreTable, error) {
	t.Helper()
	file, err := policy.Parse("f.rules", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]*nft.Snapshot{}
	for _, s := range snaps {
		m[s.Name] = s
	}
	for _, b := range file.Tables {
		if m[b.Table] == nil {
			m[b.Table] = &nft.Snapshot{Family: xtables.IPv4, Name: b.Table}
		}
	}
	return planNFTRestore(m, file, opt, nil)
}

// TestPlanRestoreNoflush: -n keeps the kernel's rules (foreign one
// included) by handle and adds the new ones around them; a declared
// built-in chain takes [0:0] without -c, the file's counters with it.
func TestPlanRestoreNoflush(t *testing.T) {
	text := "*filter\n:INPUT ACCEPT [7:8]\n:Y - [0:0]\n-A X -j DROP\n-I X 1 -j Y\nCOMMIT\n"
	for _, withCounters := range []bool{false, true} {
		b, tables, err := plan(t, text, RestoreOptions{NoFlush: true, Counters: withCounters}, kernelFilter(t))
		if err != nil {
			t.Fatal(err)
		}
		st := tables[0]
		if st.deleted {
			t.Error("-n deletes the table")
		}
		x := st.table.Chain("X")
		var kept []uint64
		for _, r := range x.Rules {
			if kr := st.kernel[r]; kr != nil {
				kept = append(kept, kr.Handle)
			}
		}
		if len(x.Rules) != 4 || len(kept) != 2 || kept[0] != 11 || kept[1] != 12 || st.kernel[x.Rules[0]] != nil {
			t.Errorf("chain X: %d rules, kernel handles kept %v", len(x.Rules), kept)
		}
		in := st.builtins["INPUT"]
		want := xtables.Counters{}
		if withCounters {
			want = xtables.Counters{Packets: 7, Bytes: 8}
		}
		if !in.present || in.counters == nil || *in.counters != want {
			t.Errorf("INPUT with -c %v: %+v", withCounters, in)
		}
		if st.builtins["FORWARD"].present {
			t.Error("FORWARD made to exist")
		}
		// INPUT's policy and counters, chain Y, two rules.
		if b.Len() != 4 {
			t.Errorf("batch of %d messages, want 4", b.Len())
		}
	}
}

// TestPlanRestoreFlush: without -n the table is deleted and made again
// with only what the file creates; an empty block deletes it; a rule made
// built-in chain gets no counters; a mistake names its line and plans
// nothing.
func TestPlanRestoreFlush(t *testing.T) {
	b, tables, err := plan(t, "*filter\n:Y - [0:0]\n-A OUTPUT -j Y\nCOMMIT\n", RestoreOptions{}, kernelFilter(t))
	if err != nil {
		t.Fatal(err)
	}
	st := tables[0]
	if !st.deleted || st.builtins["INPUT"].present || !st.builtins["OUTPUT"].present || st.builtins["OUTPUT"].counters != nil {
		t.Errorf("state: deleted %v, builtins INPUT %+v OUTPUT %+v", st.deleted, st.builtins["INPUT"], st.builtins["OUTPUT"])
	}
	// DELTABLE, NEWTABLE, OUTPUT, Y, one rule.
	if b.Len() != 5 {
		t.Errorf("batch of %d messages, want 5", b.Len())
	}
	if b, _, err := plan(t, "*filter\nCOMMIT\n*raw\nCOMMIT\n", RestoreOptions{}, kernelFilter(t)); err != nil || b.Len() != 1 {
		t.Errorf("empty blocks: %v, %d messages, want the filter table's deletion only", err, b.Len())
	}
	_, _, err = plan(t, "*nat\n-A POSTROUTING -j ACCEPT\nCOMMIT\n*filter\n-A X -j ACCEPT\nCOMMIT\n", RestoreOptions{}, kernelFilter(t))
	if err == nil || !strings.Contains(err.Error(), "f.rules:5") {
		t.Errorf("rule to a chain the flushed table no longer has: %v", err)
	}
}
