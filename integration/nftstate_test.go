package integration

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hostwall/hostwall/xtables/nft"
)

// nftSnapshot renders every nf_tables table, chain and rule of a
// namespace from its netlink attributes: base chain hook, priority,
// type and policy, whether it counts, and each rule's expressions byte
// for byte. Counter values are zeroed (traffic and hostwall's keeping
// them are tested apart); handles are shown when handles is true.
func nftSnapshot(t *testing.T, ns string, handles bool) string {
	t.Helper()
	ctx := context.Background()
	c := dialNft(t, ns)
	var b strings.Builder
	for _, fam := range []byte{nft.IPv4, nft.IPv6} {
		tables, err := c.Tables(ctx, fam, 0)
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(tables, func(i, j int) bool { return tables[i].Name < tables[j].Name })
		for _, tb := range tables {
			fmt.Fprintf(&b, "table %d %s flags %d\n", fam, tb.Name, tb.Flags)
			chains, err := c.Chains(ctx, fam, tb.Name, 0)
			if err != nil {
				t.Fatal(err)
			}
			sort.Slice(chains, func(i, j int) bool { return chains[i].Name < chains[j].Name })
			for _, ch := range chains {
				fmt.Fprintf(&b, "  chain %s flags %d", ch.Name, ch.Flags)
				if ch.Base != nil {
					fmt.Fprintf(&b, " hook %d prio %d type %s policy %d counters %v", ch.Base.Hook, ch.Base.Priority, ch.Base.Type, ch.Base.Policy, ch.Counters != nil)
				}
				b.WriteByte('\n')
				rules, err := c.Rules(ctx, fam, tb.Name, ch.Name, 0)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rules {
					exprs, err := nft.UnmarshalExprs(fam, r.Exprs)
					if err != nil {
						t.Fatalf("rule %d of %s: %v", r.Handle, ch.Name, err)
					}
					for _, e := range exprs {
						if ctr, ok := e.(*nft.Counter); ok {
							*ctr = nft.Counter{}
						}
					}
					raw, err := nft.MarshalExprs(fam, exprs)
					if err != nil {
						t.Fatal(err)
					}
					if handles {
						fmt.Fprintf(&b, "    [%d] ", r.Handle)
					} else {
						b.WriteString("    ")
					}
					fmt.Fprintf(&b, "%s userdata %x\n", hex.EncodeToString(raw), r.UserData)
				}
			}
		}
	}
	return b.String()
}

// monitor records the nf_tables events of a namespace (nft monitor)
// until the returned function is called; that function returns them.
func monitor(t *testing.T, ns string) func() []string {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "monitor")
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// nft monitor has joined its multicast group once it runs; give it
	// a moment, bounded.
	time.Sleep(200 * time.Millisecond)
	stopped := false
	stop := func() []string {
		if stopped {
			return nil
		}
		stopped = true
		time.Sleep(200 * time.Millisecond)
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		var events []string
		for _, l := range strings.Split(out.String(), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				events = append(events, l)
			}
		}
		return events
	}
	t.Cleanup(func() { stop() })
	return stop
}
