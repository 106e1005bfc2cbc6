package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
)

// Legacy drives x_tables through its socket options, as iptables-legacy
// does.
type Legacy struct {
	// Conn is an open socket of the family being applied.
	Conn *xtables.Conn
	// LockFile is the xtables lock; xtables.LockFile() when empty.
	LockFile string
}

// maxAttempts bounds how often a plan is made again after another writer
// changed the table between hostwall's read and its replace.
const maxAttempts = 5

// Apply implements Backend.
func (l *Legacy) Apply(ctx context.Context, d *policy.Desired, opt Options) (*Report, error) {
	if l.Conn.Family() != d.Family {
		return nil, fmt.Errorf("socket is %s, policy is %s", l.Conn.Family(), d.Family)
	}
	rep := &Report{Family: d.Family}
	if !opt.DryRun {
		lockFile := l.LockFile
		if lockFile == "" {
			lockFile = xtables.LockFile()
		}
		lctx, cancel := context.WithTimeout(ctx, opt.LockWait)
		lock, err := xtables.AcquireLock(lctx, lockFile)
		cancel()
		if err != nil {
			return nil, err
		}
		defer lock.Release()
	}
	existing, err := xtables.TableNames(d.Family)
	if err != nil {
		return nil, err
	}
	for _, dt := range d.Tables {
		tr, err := l.applyTable(ctx, dt, slices.Contains(existing, dt.Table), opt)
		if err != nil {
			return rep, fmt.Errorf("%s table %s: %w", d.Family, dt.Table, err)
		}
		rep.Tables = append(rep.Tables, tr)
	}
	return rep, nil
}

func (l *Legacy) applyTable(ctx context.Context, dt *policy.DesiredTable, exists bool, opt Options) (*TableReport, error) {
	tr := &TableReport{Table: dt.Table}
	fam := l.Conn.Family()
	for tr.Attempts = 1; ; tr.Attempts++ {
		var (
			info xtables.Info
			cur  *xtables.Table
		)
		if !exists && opt.DryRun {
			// Reading would create the table; plan against the empty
			// table the kernel would create.
			cur = xtables.EmptyTable(fam, dt.Table)
		} else {
			var blob []byte
			var err error
			if info, blob, err = l.Conn.ReadRaw(ctx, dt.Table); err != nil {
				return nil, err
			}
			if cur, err = xtables.Decode(fam, info, blob); err != nil {
				return nil, fmt.Errorf("decode: %w", err)
			}
		}
		plan, err := PlanTable(cur, dt)
		if err != nil {
			return nil, err
		}
		tr.Plan = plan
		if !plan.Changed() || opt.DryRun {
			return tr, nil
		}
		kept, err := l.replace(cur, plan.Next, info.NumEntries)
		if errors.Is(err, unix.EAGAIN) && tr.Attempts < maxAttempts {
			continue // another writer got in: read again and plan again
		}
		if err != nil {
			return nil, err
		}
		tr.Written, tr.CountersKept = true, kept
		return tr, l.verify(ctx, plan.Next)
	}
}

// replace writes next over cur with one SET_REPLACE and then gives every
// surviving entry the counters its old entry had at the moment of the
// swap, with one SET_ADD_COUNTERS.
func (l *Legacy) replace(cur, next *xtables.Table, numRead uint32) (int, error) {
	oldEnc, err := xtables.Encode(cur)
	if err != nil {
		return 0, fmt.Errorf("encode current table: %w", err)
	}
	newEnc, err := xtables.Encode(next)
	if err != nil {
		return 0, fmt.Errorf("encode new table: %w", err)
	}
	oldRule := map[*xtables.Rule]int{}
	oldFoot := map[string]int{}
	for i := range oldEnc.Rules {
		if r := oldEnc.Rules[i]; r != nil {
			oldRule[r] = i
		} else if c := oldEnc.Feet[i]; c != nil {
			oldFoot[c.Name] = i
		}
	}
	swapped, err := l.Conn.Replace(newEnc, numRead)
	if err != nil {
		return 0, err
	}
	add := make([]xtables.Counters, len(newEnc.Rules))
	kept := 0
	for j := range newEnc.Rules {
		i, ok := -1, false
		if r := newEnc.Rules[j]; r != nil {
			i, ok = oldRule[r]
		} else if c := newEnc.Feet[j]; c != nil {
			i, ok = oldFoot[c.Name]
		}
		if ok && i < len(swapped) {
			add[j] = swapped[i]
			if add[j] != (xtables.Counters{}) {
				kept++
			}
		}
	}
	if kept == 0 {
		return 0, nil
	}
	if err := l.Conn.AddCounters(next.Name, add); err != nil {
		// The new table is in place; only counters were lost.
		return 0, fmt.Errorf("table written, but carrying counters over failed: %w", err)
	}
	return kept, nil
}

// verify reads the table back and requires it to be what was written.
func (l *Legacy) verify(ctx context.Context, want *xtables.Table) error {
	got, err := l.Conn.Read(ctx, want.Name)
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	if !got.SameAs(want) {
		return fmt.Errorf("read back after writing: the kernel's table differs from what hostwall wrote (another program writing without the xtables lock?)")
	}
	return nil
}
