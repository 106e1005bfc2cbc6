package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

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

// Apply implements Backend: one family, as Host.Apply does several.
func (l *Legacy) Apply(ctx context.Context, d *policy.Desired, opt Options) (*Report, error) {
	if l.Conn.Family() != d.Family {
		return nil, fmt.Errorf("socket is %s, policy is %s", l.Conn.Family(), d.Family)
	}
	reps, err := applyLegacy(ctx, []legacyJob{{l.Conn, d}}, l.LockFile, opt)
	if len(reps) == 0 {
		return nil, err
	}
	return reps[0], err
}

// legacyJob is one family's policy and the socket to write it with.
type legacyJob struct {
	conn *xtables.Conn
	d    *policy.Desired
}

// legacyTable is one table of one family on its way to the kernel.
type legacyTable struct {
	conn *xtables.Conn
	d    *policy.Desired
	dt   *policy.DesiredTable
	tr   *TableReport
	// The table as read, and its info (NumEntries goes into the replace).
	info xtables.Info
	cur  *xtables.Table
	// After the write: what was written (its info for verify, its layout for a rollback), the counters
	// the old table's entries had at the swap (by entry, in cur's
	// layout), and whether they were carried over.
	enc           *xtables.Encoded
	swapped       []xtables.Counters
	countersAdded bool
	remove        bool
}

// applyLegacy applies every family's policy under one xtables lock, as
// one unit: it reads, plans and checks every table first, and writes only
// when all of them can be written; then writes them one by one (each in
// one atomic replace), and if the kernel refuses one, puts the ones
// already written back as they were, counters included. Once the first
// write starts, ctx is no longer heeded.
func applyLegacy(ctx context.Context, jobs []legacyJob, lockFile string, opt Options) ([]*Report, error) {
	var ds []*policy.Desired
	for _, j := range jobs {
		ds = append(ds, j.d)
	}
	if !opt.DryRun {
		if lockFile == "" {
			lockFile = xtables.LockFile()
		}
		lctx, cancel := context.WithTimeout(ctx, lockWait(opt.LockWait))
		lock, err := xtables.AcquireLock(lctx, lockFile)
		cancel()
		if err != nil {
			return nil, nothingWritten(ctx, ds, err)
		}
		defer lock.Release()
	}
	var (
		reps    []*Report
		changed []*legacyTable
	)
	for _, j := range jobs {
		exists, err := existingTables(j.d.Family, opt.DryRun)
		if err != nil {
			return nil, nothingWritten(ctx, ds, err)
		}
		rep := &Report{Family: j.d.Family}
		reps = append(reps, rep)
		for _, dt := range j.d.Tables {
			if opt.Remove && !tableListed(j.d.Family, dt.Table) {
				continue // nothing to remove; reading it would create it
			}
			lt := &legacyTable{conn: j.conn, d: j.d, dt: dt, remove: opt.Remove, tr: &TableReport{Table: dt.Table, Attempts: 1}}
			if err := lt.plan(ctx, exists(dt.Table), opt.DryRun); err != nil {
				return nil, nothingWritten(ctx, ds, err)
			}
			rep.Tables = append(rep.Tables, lt.tr)
			if lt.tr.Plan.Changed() {
				changed = append(changed, lt)
			}
		}
	}
	if opt.DryRun || len(changed) == 0 {
		return reps, nil
	}
	if ctx.Err() != nil {
		return reps, stopped(ctx, ds)
	}
	// From here on the apply runs to its end, whatever the signals: the
	// writes, the rollback if one is refused, and the verification.
	ctx = context.WithoutCancel(ctx)
	var failed error
	for i, lt := range changed {
		err := lt.write(ctx)
		if err == nil {
			continue
		}
		if !lt.tr.Written {
			return reps, refused(changed, i, err)
		}
		failed = errors.Join(failed, err) // written, counters lost
	}
	for _, lt := range changed {
		if lt.tr.Written {
			failed = errors.Join(failed, lt.verify())
		}
	}
	return reps, failed
}

// tableListed reports whether /proc lists a table (false when it cannot
// be listed).
func tableListed(f *xtables.Family, table string) bool {
	names, err := xtables.TableNames(f)
	return err == nil && slices.Contains(names, table)
}

// existingTables says whether a table exists. Only a dry run must know,
// since reading a table that does not exist would create it; a write
// creates it anyway. So apply needs no /proc (a bare chroot) and no read
// access to it (a network namespace made with its user namespace); nor
// does a dry run, which then reads the table as save -t does (and as
// iptables-save -t, makes the kernel create it, empty and accepting, if
// it was not there).
func existingTables(f *xtables.Family, dryRun bool) (func(string) bool, error) {
	all := func(string) bool { return true }
	if !dryRun {
		return all, nil
	}
	names, err := xtables.TableNames(f)
	switch {
	case err == nil:
		return func(t string) bool { return slices.Contains(names, t) }, nil
	case errors.Is(err, xtables.ErrNoProc) || errors.Is(err, os.ErrPermission):
		return all, nil
	}
	return nil, err
}

// plan reads the table (or, in a dry run, takes the empty table the
// kernel would create) and plans it, refusing what the kernel would
// refuse.
func (lt *legacyTable) plan(ctx context.Context, exists, dryRun bool) error {
	fam := lt.conn.Family()
	if !exists && dryRun {
		lt.cur, lt.info = xtables.EmptyTable(fam, lt.dt.Table), xtables.Info{}
	} else {
		info, blob, err := lt.conn.ReadRaw(ctx, lt.dt.Table)
		if err != nil {
			return err
		}
		cur, err := xtables.Decode(fam, info, blob)
		if err != nil {
			return fmt.Errorf("decode %s table %s: %w", fam, lt.dt.Table, err)
		}
		lt.cur, lt.info = cur, info
	}
	plan, err := planFor(lt.cur, lt.dt, lt.remove)
	if err != nil {
		return err
	}
	if plan.Changed() {
		if err := checkPlan(fam, lt.dt, plan, false); err != nil {
			return err
		}
	}
	lt.tr.Plan = plan
	return nil
}

// write replaces the table with the plan's, reading and planning again
// when another writer got in between (EAGAIN). An error with
// tr.Written unset means nothing was written.
func (lt *legacyTable) write(ctx context.Context) error {
	for {
		err := lt.replace()
		if !errors.Is(err, unix.EAGAIN) || lt.tr.Attempts >= maxAttempts {
			return err
		}
		lt.tr.Attempts++ // another writer got in: read again and plan again
		if err := lt.plan(ctx, true, false); err != nil {
			return err
		}
		if !lt.tr.Plan.Changed() {
			return nil
		}
	}
}

// replace writes the plan's table over the one read with one
// SET_REPLACE and then gives every surviving entry the counters its old
// entry had at the moment of the swap, with one SET_ADD_COUNTERS.
func (lt *legacyTable) replace() error {
	cur, next := lt.cur, lt.tr.Plan.Next
	oldLayout, err := xtables.Layout(cur)
	if err != nil {
		return fmt.Errorf("encode the current %s table %s: %w", cur.Family, cur.Name, err)
	}
	newEnc, err := xtables.Encode(next)
	if err != nil {
		return fmt.Errorf("encode the new %s table %s: %w", next.Family, next.Name, err)
	}
	from := oldIndexes(oldLayout, newEnc)
	swapped, err := lt.conn.Replace(newEnc, lt.info.NumEntries)
	if err != nil {
		return err
	}
	lt.tr.Written, lt.enc, lt.swapped = true, newEnc, swapped
	if i := countersWentDown(oldLayout, swapped); i >= 0 {
		// The table is written; carrying counters over from a table
		// that was not the one read would be wrong.
		return fmt.Errorf("%s table %s written, but the table it replaced was not the one read (entry %d counted less than when read): another program wrote it without the xtables lock, and its change is undone", next.Family, next.Name, i)
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
	if kept > 0 {
		if err := lt.conn.AddCounters(next.Name, add); err != nil {
			// The new table is in place; only counters were lost.
			return fmt.Errorf("%s table %s written, but carrying counters over failed: %w", next.Family, next.Name, err)
		}
	}
	lt.countersAdded, lt.tr.CountersKept = true, kept
	return nil
}

// rollback puts the table read back in place of the one written, with
// the counters every entry would have had if nothing had been written:
// what the old entry had at the first swap, plus, for a rule the write
// kept, what it counted since.
func (lt *legacyTable) rollback() error {
	next := lt.tr.Plan.Next
	back, err := xtables.Encode(lt.cur)
	if err != nil {
		return err
	}
	from := oldIndexes(lt.enc, back) // lt.enc: the layout written, entry for entry
	since, err := lt.conn.Replace(back, lt.enc.Info.NumEntries)
	if err != nil {
		return err
	}
	lt.tr.Written, lt.tr.RolledBack, lt.tr.CountersKept = false, true, 0
	add := make([]xtables.Counters, len(back.Rules))
	any := false
	for j := range add {
		i := from[j]
		switch {
		case i >= 0 && i < len(since) && lt.countersAdded:
			add[j] = since[i]
		case i >= 0 && i < len(since) && j < len(lt.swapped):
			add[j] = xtables.Counters{Packets: lt.swapped[j].Packets + since[i].Packets, Bytes: lt.swapped[j].Bytes + since[i].Bytes}
		case j < len(lt.swapped):
			add[j] = lt.swapped[j] // gone from the table written: as it was
		}
		any = any || add[j] != (xtables.Counters{})
	}
	if !any {
		return nil
	}
	if err := lt.conn.AddCounters(next.Name, add); err != nil {
		return fmt.Errorf("rolled back, but restoring counters failed: %w", err)
	}
	return nil
}

// refused is the error of an apply whose table changed[i] the kernel
// refused after changed[:i] were written: those are rolled back, and
// the error says what the kernel holds now, table by table. x_tables
// says only "invalid argument" for the whole table; the rules this
// apply adds to it are named, as the suspects.
func refused(changed []*legacyTable, i int, err error) error {
	lt, written := changed[i], changed[:i]
	fam, name := lt.conn.Family(), lt.dt.Table
	var errno unix.Errno
	why := err.Error()
	if errors.As(err, &errno) {
		why = errno.Error()
	}
	msg := fmt.Sprintf("the kernel refused the new %s table %s (%s)", fam, name, why)
	if lt.tr.Plan != nil {
		if suspects, more := newRules(lt.dt, lt.tr.Plan, 3); len(suspects) > 0 {
			msg += "; the cause is in what this apply adds to it: " + strings.Join(suspects, ", ")
			if more > 0 {
				msg += fmt.Sprintf(" or %d more", more)
			}
		}
	}
	var state []string
	allBack := true
	for k := len(written) - 1; k >= 0; k-- {
		w := written[k]
		what := fmt.Sprintf("%s %s", w.conn.Family(), w.dt.Table)
		if rerr := w.rollback(); rerr != nil {
			allBack = false
			state = append(state, fmt.Sprintf("%s HOLDS THE NEW TABLE: putting the old one back failed (%v)", what, rerr))
		} else {
			state = append(state, what+" written, then put back as it was (counters included)")
		}
	}
	slices.Reverse(state)
	for _, n := range changed[i:] {
		state = append(state, fmt.Sprintf("%s %s not written", n.conn.Family(), n.dt.Table))
	}
	if allBack {
		msg += "; nothing was written: " + strings.Join(state, ", ")
	} else {
		msg += "; " + strings.Join(state, ", ")
	}
	re := &RuleRefusedError{Family: fam, Table: name, Err: &msgError{msg, err}}
	if lt.tr.Plan != nil {
		re.Suspects = newRulePos(lt.dt, lt.tr.Plan)
		if len(re.Suspects) == 1 {
			re.Pos = re.Suspects[0]
		}
	}
	return re
}

// msgError is an error with its own message that wraps err.
type msgError struct {
	msg string
	err error
}

func (e *msgError) Error() string { return e.msg }
func (e *msgError) Unwrap() error { return e.err }

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

// verify checks that the kernel holds the table this apply wrote, without
// reading its entries back: GET_INFO must report the size, entry count,
// hooks and every hook's entry and underflow offset that went into the
// replace. With what the write already checked (the kernel's EAGAIN
// when the entry count read is no longer the table's, and the old
// counters the replace returned, none lower than the ones read), this
// tells that the table replaced was the one read and the table in place
// is the one written, unless another program wrote a table of exactly
// the same shape without the xtables lock. The kernel keeps the bytes
// of a replace as sent (only counters and comefrom are its own), and
// they are not read back to compare (see ARCHITECTURE.md).
func (lt *legacyTable) verify() error {
	want := lt.enc.Info
	fam, name := lt.conn.Family(), want.Name
	got, err := lt.conn.Info(name)
	if err != nil {
		return fmt.Errorf("%s table %s written; reading its info back failed: %w", fam, name, err)
	}
	if !sameShape(got, want) {
		return fmt.Errorf("%s table %s written, but the kernel now holds another table (%d entries, %d bytes; written: %d, %d): another program writing without the xtables lock?",
			fam, name, got.NumEntries, got.Size, want.NumEntries, want.Size)
	}
	return nil
}

// sameShape reports whether two infos of a table agree on its size,
// entry count, hooks and the offsets of their entries and underflows.
func sameShape(a, b xtables.Info) bool {
	if a.Size != b.Size || a.NumEntries != b.NumEntries || a.ValidHooks != b.ValidHooks {
		return false
	}
	for h := range a.HookEntry {
		if a.ValidHooks&(1<<h) != 0 && (a.HookEntry[h] != b.HookEntry[h] || a.Underflow[h] != b.Underflow[h]) {
			return false
		}
	}
	return true
}

// countersWentDown returns the first entry whose counters, as the replace
// returned them, are lower than when the table was read (-1 if none).
// Counters only grow while a table stays in place: a lower one means the
// table replaced was not the one read but one another program wrote in
// between without the xtables lock, whose change the replace undid.
func countersWentDown(read *xtables.Encoded, swapped []xtables.Counters) int {
	for i := range min(len(swapped), len(read.Rules)) {
		var c xtables.Counters
		switch {
		case read.Rules[i] != nil:
			c = read.Rules[i].Counters
		case read.Feet[i] != nil:
			c = read.Feet[i].Counters
		}
		if swapped[i].Packets < c.Packets || swapped[i].Bytes < c.Bytes {
			return i
		}
	}
	return -1
}
