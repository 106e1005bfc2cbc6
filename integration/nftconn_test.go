package integration

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/hostwall/hostwall/integration/nstest"
	"github.com/hostwall/hostwall/xtables/nft"
)

// dialNft opens an nf_tables connection inside the namespace ns.
func dialNft(t *testing.T, ns string) *nft.Conn {
	t.Helper()
	f, err := os.Open("/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := nft.Dial(nft.Options{NetNS: int(f.Fd())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestNftTransport: scoped reads see what iptables-nft wrote; a batch is
// applied whole at the place asked for; a stale generation and a refused
// message each leave the kernel as it was.
func TestNftTransport(t *testing.T) {
	nstest.Require(t)
	nstest.RequireTools(t, "iptables-nft-restore", "iptables-nft-save")
	ns := nstest.Netns(t)
	nstest.Run(t, ns, []byte(`*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:FILTERS - [0:0]
-A INPUT -j FILTERS
-A FILTERS -i lo -j ACCEPT
-A FILTERS -p tcp --dport 22 -j ACCEPT
-A FILTERS -j DROP
COMMIT
`), "iptables-nft-restore")
	ctx := context.Background()
	c := dialNft(t, ns)
	gen, err := c.GenID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.Tables(ctx, nft.IPv4, gen)
	if err != nil || len(tables) != 1 || tables[0].Name != "filter" {
		t.Fatalf("tables: %+v, %v", tables, err)
	}
	in, err := c.Chain(ctx, nft.IPv4, "filter", "INPUT")
	if err != nil || in == nil || in.Base == nil || in.Base.Hook != 1 || in.Base.Type != "filter" || in.Base.Policy != 1 {
		t.Fatalf("INPUT: %+v, %v", in, err)
	}
	fw, err := c.Chain(ctx, nft.IPv4, "filter", "FORWARD")
	if err != nil || fw.Base.Policy != 0 || fw.Counters == nil {
		t.Fatalf("FORWARD: %+v %+v, %v", fw, fw.Base, err)
	}
	filters, err := c.Chain(ctx, nft.IPv4, "filter", "FILTERS")
	if err != nil || filters.Base != nil || filters.Use != 4 { // 3 rules + 1 jump
		t.Fatalf("FILTERS: %+v, %v", filters, err)
	}
	if missing, err := c.Chain(ctx, nft.IPv4, "filter", "NOPE"); missing != nil || err != nil {
		t.Fatalf("missing chain: %+v, %v", missing, err)
	}
	rules, err := c.Rules(ctx, nft.IPv4, "filter", "FILTERS", gen)
	if err != nil || len(rules) != 3 {
		t.Fatalf("rules: %d, %v", len(rules), err)
	}
	if rules[0].Position != 0 || rules[1].Position != rules[0].Handle {
		t.Errorf("positions: %d %d (handles %d %d)", rules[0].Position, rules[1].Position, rules[0].Handle, rules[1].Handle)
	}
	if ok, err := c.Revision(ctx, nft.IPv4, false, "conntrack", 3); !ok || err != nil {
		t.Errorf("conntrack revision 3: %v, %v", ok, err)
	}
	if ok, err := c.Revision(ctx, nft.IPv4, false, "nosuchmatch", 0); ok || err != nil {
		t.Errorf("nosuchmatch: %v, %v", ok, err)
	}
	save := func() string { return nstest.Run(t, ns, nil, "iptables-nft-save") }
	before := nstest.StripComments(save())

	// A copy of the ssh rule after the DROP, and the lo rule deleted.
	var b nft.Batch
	b.AddRule(nft.NewRule{Family: nft.IPv4, Table: "filter", Chain: "FILTERS", Exprs: rules[1].Exprs,
		Compat: nft.Compat{Proto: 6}, At: nft.Placement{After: rules[2].Handle}, What: "copy"})
	b.DelRule(nft.IPv4, "filter", "FILTERS", rules[0].Handle, "lo rule")

	// Stale generation: nothing applied.
	if err := c.Commit(ctx, &b, gen+1); !errors.Is(err, nft.ErrGenChanged) {
		t.Fatalf("stale commit: %v", err)
	}
	if got := nstest.StripComments(save()); got != before {
		t.Fatalf("stale commit changed the kernel:\n%s", nstest.FirstDiff(before, got))
	}
	// A refused message (a rule in a missing chain): nothing applied,
	// and the error names the message.
	bad := b
	bad.AddRule(nft.NewRule{Family: nft.IPv4, Table: "filter", Chain: "NOPE", Exprs: rules[2].Exprs, What: "rule at policy:7"})
	err = c.Commit(ctx, &bad, gen)
	var re *nft.RefusedError
	if !errors.As(err, &re) || re.What != "rule at policy:7" {
		t.Fatalf("refused commit: %v", err)
	}
	if got := nstest.StripComments(save()); got != before {
		t.Fatalf("refused commit changed the kernel:\n%s", nstest.FirstDiff(before, got))
	}
	if err := c.Commit(ctx, &b, gen); err != nil {
		t.Fatal(err)
	}
	got := save()
	want := "-A FILTERS -p tcp -m tcp --dport 22 -j ACCEPT\n-A FILTERS -j DROP\n-A FILTERS -p tcp -m tcp --dport 22 -j ACCEPT\n"
	if !strings.Contains(got, want) || strings.Contains(got, "-i lo") {
		t.Fatalf("after commit:\n%s", got)
	}
	gen2, err := c.GenID(ctx)
	if err != nil || gen2 != gen+1 {
		t.Errorf("generation after one commit: %d, want %d (%v)", gen2, gen+1, err)
	}
	// An empty batch sends nothing and bumps nothing.
	if err := c.Commit(ctx, &nft.Batch{}, gen2); err != nil {
		t.Fatal(err)
	}
	if gen3, _ := c.GenID(ctx); gen3 != gen2 {
		t.Errorf("empty commit bumped the generation %d -> %d", gen2, gen3)
	}
	// A dump made after another commit is refused as incoherent.
	if _, err := c.Rules(ctx, nft.IPv4, "filter", "FILTERS", gen); !errors.Is(err, nft.ErrGenChanged) {
		t.Errorf("rules read against an old generation: %v", err)
	}
}
