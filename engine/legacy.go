package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
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
	// Only a dry run must know which tables exist, since reading one that
	// does not would create it; a write creates it anyway. So apply needs
	// no /proc (a bare chroot) and no read access to it (a network
	// namespace made with its user namespace); nor does a dry run, which
	// then reads the table as save -t does (and as iptables-save -t,
	// makes the kernel create it, empty and accepting, if it was not
	// there).
	listed, existing := false, []string(nil)
	if opt.DryRun {
		var err error
		existing, err = xtables.TableNames(d.Family)
		switch {
		case err == nil:
			listed = true
		case !errors.Is(err, xtables.ErrNoProc) && !errors.Is(err, os.ErrPermission):
			return nil, err
		}
	}
	for _, dt := range d.Tables {
		tr, err := l.applyTable(ctx, dt, !listed || slices.Contains(existing, dt.Table), opt)
		if err != nil {
			return rep, err // names the family and table, or the file line
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
				return nil, fmt.Errorf("decode %s table %s: %w", fam, dt.Table, err)
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
		enc, kept, err := l.replace(cur, plan.Next, info.NumEntries)
		if errors.Is(err, unix.EAGAIN) && tr.Attempts < maxAttempts {
			continue // another writer got in: read again and plan again
		}
		if err != nil {
			return nil, err
		}
		tr.Written, tr.CountersKept = true, kept
		return tr, l.verify(ctx, plan.Next, enc)
	}
}

// replace writes next over cur with one SET_REPLACE and then gives every
// surviving entry the counters its old entry had at the moment of the
// swap, with one SET_ADD_COUNTERS. It returns what it wrote.
func (l *Legacy) replace(cur, next *xtables.Table, numRead uint32) (*xtables.Encoded, int, error) {
	oldLayout, err := xtables.Layout(cur)
	if err != nil {
		return nil, 0, fmt.Errorf("encode the current %s table %s: %w", cur.Family, cur.Name, err)
	}
	newEnc, err := xtables.Encode(next)
	if err != nil {
		return nil, 0, fmt.Errorf("encode the new %s table %s: %w", next.Family, next.Name, err)
	}
	from := oldIndexes(oldLayout, newEnc)
	swapped, err := l.Conn.Replace(newEnc, numRead)
	if err != nil {
		return nil, 0, err
	}
	add := make([]xtables.Counters, len(newEnc.Rules))
	kept := 0
	for j, i := range from {
		if i >= 0 && i < len(swapped) {
			add[j] = swapped[i]
			if add[j] != (xtables.Counters{}) {
				kept++
			}
		}
	}
	if kept == 0 {
		return newEnc, 0, nil
	}
	if err := l.Conn.AddCounters(next.Name, add); err != nil {
		// The new table is in place; only counters were lost.
		return newEnc, 0, fmt.Errorf("written, but carrying counters over failed: %w", err)
	}
	return newEnc, kept, nil
}

// oldIndexes maps each entry of the new table to the entry of the old one
// whose counters it keeps (-1 for none): a rule to the entry of the same
// *Rule, a chain's foot to the foot of the chain of the same name.
//
// A rule is looked up by identity. The old table is decoded, so each of
// its *Rule values is at one entry; most chains are copied from it whole,
// and their entries map one to one without a lookup.
func oldIndexes(old *xtables.Encoded, enc *xtables.Encoded) []int {
	from := make([]int, len(enc.Rules))
	type span struct{ head, foot int } // a chain's first rule entry and its foot, in old
	oldChain := map[string]span{}
	start := 0
	for i := range old.Rules {
		if c := old.Feet[i]; c != nil {
			oldChain[c.Name] = span{start, i}
		}
		if old.Rules[i] == nil {
			start = i + 1 // after a head or a foot
		}
	}
	// First the chains copied whole; what remains is looked up by
	// identity in one pass over the old rules.
	want := map[*xtables.Rule][]int{}
	start = 0
	for j := range enc.Rules {
		c := enc.Feet[j]
		if c == nil {
			if enc.Rules[j] == nil {
				from[j] = -1 // a head or the final ERROR entry
				start = j + 1
			}
			continue
		}
		o, ok := oldChain[c.Name]
		if ok {
			from[j] = o.foot
		} else {
			from[j] = -1
		}
		n := j - start
		if ok && o.foot-o.head == n && slices.Equal(old.Rules[o.head:o.foot], enc.Rules[start:j]) {
			for k := 0; k < n; k++ {
				from[start+k] = o.head + k
			}
		} else {
			for k := start; k < j; k++ {
				from[k] = -1
				want[enc.Rules[k]] = append(want[enc.Rules[k]], k)
			}
		}
		start = j + 1
	}
	if len(want) > 0 {
		for i, r := range old.Rules {
			if r == nil {
				continue
			}
			if js, ok := want[r]; ok {
				for _, j := range js {
					from[j] = i
				}
			}
		}
	}
	return from
}

// verify reads the table back and requires it to be what was written:
// the same entries, byte for byte, apart from what the kernel keeps for
// itself (counters, comefrom); or, failing that, a table that decodes to
// the same rules. enc, what was written, is spent.
func (l *Legacy) verify(ctx context.Context, want *xtables.Table, enc *xtables.Encoded) error {
	same, info, blob, err := l.Conn.ReadBack(ctx, want, enc)
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	if same {
		return nil
	}
	got, err := xtables.Decode(l.Conn.Family(), info, blob)
	if err != nil {
		return fmt.Errorf("read back: decode %s table %s: %w", l.Conn.Family(), want.Name, err)
	}
	if !got.SameAs(want) {
		return fmt.Errorf("read back after writing: the kernel's %s table %s differs from what hostwall wrote (another program writing without the xtables lock?)", l.Conn.Family(), want.Name)
	}
	return nil
}
