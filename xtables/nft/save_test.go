package nft

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/xtables"
)

func kernelRule(t *testing.T, chain string, handle uint64, exprs ...Expr) *Rule {
	t.Helper()
	raw, err := MarshalExprs(IPv4, exprs)
	if err != nil {
		t.Fatal(err)
	}
	return &Rule{Family: IPv4, Table: "filter", Chain: chain, Handle: handle, Exprs: raw}
}

// TestSaveLayout: the table as iptables-nft-save 1.8.9 prints it (built-in
// chains in hook order, missing ones faked as ACCEPT [0:0], user chains
// sorted whatever the kernel's order, policy counters of the base chain),
// with a rule it cannot read and a base chain it does not make as
// "# hostwall:" comments in their places.
func TestSaveLayout(t *testing.T) {
	in, _ := Builtin("filter", "INPUT")
	in.Policy = verdictDrop
	alien := BaseChain{Hook: xtables.HookInput, Priority: 10, Type: "filter", Policy: verdictAccept}
	s := &Snapshot{
		Family: xtables.IPv4, Name: "filter", Exists: true,
		Chains: []*Chain{
			{Name: "INPUT", Base: &in, Counters: &xtables.Counters{Packets: 5, Bytes: 6}},
			{Name: "b"}, {Name: "a"},
			{Name: "Q", Base: &alien},
		},
		Rules: map[string][]*Rule{
			"a": {kernelRule(t, "a", 3, &Counter{Packets: 3, Bytes: 4}, &Immediate{Reg: unix.NFT_REG_VERDICT, Verdict: nfAccept})},
			"b": {
				kernelRule(t, "b", 7, &Unknown{Name: "notrack"}, &Counter{}),
				kernelRule(t, "b", 8, &Counter{}, &Immediate{Reg: unix.NFT_REG_VERDICT, Verdict: unix.NFT_JUMP, Chain: "a"}),
			},
			"Q": {kernelRule(t, "Q", 9, &Counter{})},
		},
	}
	var buf bytes.Buffer
	warnings, err := Save(&buf, s.Model(), true)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\n")
	want := []string{
		"*filter",
		"# hostwall: base chain Q (type filter, hook 1, priority 10) is not one iptables-nft makes; it and its 1 rule(s) are left out (see hostwall dump --backend nft)",
		":INPUT DROP [5:6]",
		":FORWARD ACCEPT [0:0]",
		":OUTPUT ACCEPT [0:0]",
		":a - [0:0]",
		":b - [0:0]",
		"[3:4] -A a -j ACCEPT",
		"# hostwall: rule handle 7 in chain b is not in iptables-nft form",
		"[0:0] -A b -j a",
		"COMMIT",
		"",
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) || (want[i] != "" && !strings.HasPrefix(want[i], "# hostwall: rule") && lines[i] != want[i]) {
			t.Errorf("line %d: got %q, want %q", i+1, lines[i], want[i])
		}
	}
	if !strings.HasSuffix(lines[8], ": [ notrack (no data) ] [ counter pkts 0 bytes 0 ]") {
		t.Errorf("the foreign rule's expressions are not shown: %q", lines[8])
	}
	if len(warnings) != 2 {
		t.Errorf("warnings: %q", warnings)
	}

	// Without -c, and for a table the kernel does not have.
	buf.Reset()
	if _, err := Save(&buf, (&Snapshot{Family: xtables.IPv4, Name: "raw"}).Model(), false); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n" {
		t.Errorf("absent raw table:\n%s", got)
	}
}
