package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	sys "golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/nft"
)

// BackendSource sends Backend events when the backend the host uses may
// have changed, so that the reconciler detects it again:
//   - on nf_tables, the x_tables probe: a table appearing in
//     /proc/net/ip{,6}_tables_names, or a listed table's GET_INFO
//     moving (every interval; a few hundred bytes per table);
//   - on x_tables, nf_tables events: another program's commit that
//     creates an iptables-nft table, chain or rule;
//   - every redetect (0: never), a re-detection whatever happened.
func BackendSource(current engine.BackendKind, interval, redetect time.Duration) Source {
	return SourceFunc(func(ctx context.Context, out chan<- Event) error {
		errc := make(chan error, 1)
		if current == engine.LegacyBackend {
			go func() { errc <- nftArrivals(ctx, out) }()
		} else {
			go func() { errc <- legacyArrivals(ctx, interval, out) }()
		}
		var tick <-chan time.Time
		if redetect > 0 {
			t := time.NewTicker(redetect)
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case <-ctx.Done():
				return nil
			case err := <-errc:
				if err != nil && ctx.Err() == nil {
					return err
				}
				errc = nil
			case <-tick:
				if !send(ctx, out, Event{Kind: Backend, What: "periodic re-detection"}) {
					return nil
				}
			}
		}
	})
}

// legacyArrivals probes x_tables for tables appearing or changing.
func legacyArrivals(ctx context.Context, interval time.Duration, out chan<- Event) error {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	type key struct {
		fam   *xtables.Family
		table string
	}
	conns := map[*xtables.Family]*xtables.Conn{}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	last := map[key]xtables.Info{}
	probe := func() ([]string, error) {
		var changed []string
		for _, fam := range []*xtables.Family{xtables.IPv4, xtables.IPv6} {
			names, err := xtables.TableNames(fam)
			if errors.Is(err, xtables.ErrNoProc) || errors.Is(err, os.ErrPermission) || errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			for k := range last {
				if k.fam == fam && !slices.Contains(names, k.table) {
					delete(last, k)
				}
			}
			for _, t := range names {
				c := conns[fam]
				if c == nil {
					if c, err = xtables.Open(fam); err != nil {
						return nil, err
					}
					conns[fam] = c
				}
				info, err := c.Info(t)
				if err != nil {
					continue // gone meanwhile
				}
				prev, had := last[key{fam, t}]
				last[key{fam, t}] = info
				switch {
				case !had:
					changed = append(changed, fmt.Sprintf("x_tables %s %s table appeared", fam, t))
				case info != prev:
					changed = append(changed, fmt.Sprintf("x_tables %s %s: %d entries (was %d)", fam, t, info.NumEntries, prev.NumEntries))
				}
			}
		}
		return changed, nil
	}
	if _, err := probe(); err != nil {
		return err
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			changed, err := probe()
			if err != nil {
				return err
			}
			if len(changed) > 0 && !send(ctx, out, Event{Kind: Backend, What: strings.Join(changed, "; ")}) {
				return nil
			}
		}
	}
}

// nftArrivals listens for another program's commits that put iptables-nft
// tables, chains or rules into nf_tables.
func nftArrivals(ctx context.Context, out chan<- Event) error {
	m, err := nft.Listen(nft.Options{})
	if errors.Is(err, nft.ErrNotSupported) {
		return nil
	}
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { m.Close() })
	defer func() {
		if stop() {
			m.Close()
		}
	}()
	self := uint32(os.Getpid())
	var touched []string
	for {
		evs, err := m.Receive()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, nft.ErrOverrun) {
			touched = append(touched, "nf_tables events lost")
			continue
		}
		if err != nil {
			return fmt.Errorf("nf_tables events: %w", err)
		}
		for _, ev := range evs {
			switch ev.Type {
			case sys.NFT_MSG_NEWGEN:
				if len(touched) > 0 && ev.PID != self {
					what := fmt.Sprintf("nf_tables: %s by %s (pid %d)", strings.Join(touched, "; "), ev.Proc, ev.PID)
					if !send(ctx, out, Event{Kind: Backend, What: what}) {
						return nil
					}
				}
				touched = nil
			case sys.NFT_MSG_NEWTABLE, sys.NFT_MSG_NEWCHAIN, sys.NFT_MSG_NEWRULE:
				if (ev.Family == nft.IPv4 || ev.Family == nft.IPv6) && nft.IsXtablesTable(ev.Table) {
					d := fmt.Sprintf("%s %s %s", ev.Verb(), ev.Table, ev.Chain)
					if !slices.Contains(touched, d) && len(touched) < 4 {
						touched = append(touched, strings.TrimSpace(d))
					}
				}
			}
		}
	}
}
