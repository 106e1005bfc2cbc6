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
	"github.com/hostwall/hostwall/xtables/ext"
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
	// The table as read: its info (NumEntries goes into the replace),
	// its entries, the Partial they were read into, and its decoded
	// chains (cur): part.Table, only those a plan reads or changes; or,
	// when whole is set, the whole table (part.Whole; in a dry run of a
	// table that does not exist, the empty table, and part is nil).
	info  xtables.Info
	blob  []byte
	part  *xtables.Partial
	cur   *xtables.Table
	whole bool
	// inPlace: the table was written over the blob read (part.EncodeInPlace).
	inPlace bool
	// After the write: the info of the table written (what verify
	// expects, and the entry count a rollback replaces), the counters
	// the old table's entries had at the swap (by entry, in cur's
	// layout), and whether they were carried over.
	written       xtables.Info
	from          []int // by entry written, the entry read it keeps the counters of
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
		err := lt.write(ctx, i == len(changed)-1)
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
// refuse. Only the chains the plan reads or changes are decoded (owned
// chains, the chains holding or to hold hooks, and all that owned rules
// jump to, through any number of jumps); the others are checked as
// Decode checks them and written back as they were read. When the plan
// would make one of those reached from a hook it was not reached from,
// its rules need the kernel checks of that hook: then the whole table
// is decoded and checked.
func (lt *legacyTable) plan(ctx context.Context, exists, dryRun bool) error {
	fam := lt.conn.Family()
	lt.part, lt.blob, lt.whole, lt.inPlace = nil, nil, false, false
	if !exists && dryRun {
		lt.cur, lt.info, lt.whole = xtables.EmptyTable(fam, lt.dt.Table), xtables.Info{}, true
		return lt.planWhole()
	}
	part, info, blob, err := lt.conn.ReadPartial(ctx, lt.dt.Table, partialChains(lt.dt))
	if err != nil && blob == nil {
		return err
	}
	if err != nil {
		return fmt.Errorf("decode %s table %s: %w", fam, lt.dt.Table, err)
	}
	lt.info, lt.blob, lt.part = info, blob, part
	plan, err := planFor(part.Table, lt.dt, lt.remove)
	if err != nil {
		return err
	}
	reached, grew := part.Reach(plan.Next)
	if grew {
		lt.cur, lt.whole = part.Whole(), true
		return lt.planWhole()
	}
	lt.cur = part.Table
	// The hooks that reach the decoded chains through the others count
	// as reached (Reached).
	return lt.check(plan, reached)
}

// planWhole plans lt.cur, a whole table.
func (lt *legacyTable) planWhole() error {
	plan, err := planFor(lt.cur, lt.dt, lt.remove)
	if err != nil {
		return err
	}
	return lt.check(plan, nil)
}

// check refuses a changing plan whose table the kernel would refuse, and
// else makes it the table's plan.
func (lt *legacyTable) check(plan *Plan, reached map[string]ext.Hooks) error {
	if plan.Changed() {
		// What the kernel holds passed its checks: only the chains the
		// plan changes or reaches from more hooks count.
		opt := policy.KernelCheckOptions{Accepted: lt.cur, Reached: reached}
		if err := checkPlanWith(lt.conn.Family(), lt.dt, plan, opt); err != nil {
			return err
		}
	}
	lt.tr.Plan = plan
	return nil
}

// partialChains are the chains a plan of dt reads or changes.
func partialChains(dt *policy.DesiredTable) xtables.PartialChains {
	var sel xtables.PartialChains
	for _, o := range dt.Owned {
		sel.Owned = append(sel.Owned, o.Name)
		for _, r := range o.Rules {
			if r.Target.IsStandard() && r.Target.Chain != "" {
				sel.Reach = append(sel.Reach, r.Target.Chain)
			}
		}
	}
	for _, h := range dt.Hooks {
		sel.Keep = append(sel.Keep, h.Chain)
	}
	return sel
}

// write replaces the table with the plan's, reading and planning again
// when another writer got in between (EAGAIN). An error with
// tr.Written unset means nothing was written.
//
// The last table an apply writes is never put back (a rollback puts back
// the tables written before one the kernel refuses), so it is encoded
// over the memory it was read into (last).
func (lt *legacyTable) write(ctx context.Context, last bool) error {
	for {
		err := lt.replace(last)
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
func (lt *legacyTable) replace(inPlace bool) error {
	next := lt.tr.Plan.Next
	var (
		newEnc *xtables.Encoded
		from   []int
		err    error
	)
	if !lt.whole {
		err = xtables.ErrNoRoom
		if inPlace {
			newEnc, from, err = lt.part.EncodeInPlace(next)
			lt.inPlace = err == nil
		}
		if errors.Is(err, xtables.ErrNoRoom) {
			newEnc, from, err = lt.part.Encode(next)
		}
		if err != nil {
			return fmt.Errorf("encode the new %s table %s: %w", next.Family, next.Name, err)
		}
	} else {
		oldLayout, err := xtables.Layout(lt.cur)
		if err != nil {
			return fmt.Errorf("encode the current %s table %s: %w", lt.cur.Family, lt.cur.Name, err)
		}
		if newEnc, err = xtables.Encode(next); err != nil {
			return fmt.Errorf("encode the new %s table %s: %w", next.Family, next.Name, err)
		}
		from = oldIndexes(oldLayout, newEnc)
	}
	swapped, err := lt.conn.Replace(newEnc, lt.info.NumEntries)
	if err != nil {
		return err
	}
	lt.tr.Written, lt.written, lt.from, lt.swapped = true, newEnc.Info, from, swapped
	// The first entry that counted less than when read.
	if i := lt.part.CountersDropped(swapped); i >= 0 {
		// The table is written; carrying counters over from a table
		// that was not the one read would be wrong.
		return fmt.Errorf("%s table %s written, but the table it replaced was not the one read (entry %d counted less than when read): another program wrote it without the xtables lock, and its change is undone", next.Family, next.Name, i)
	}
	add := make([]xtables.Counters, newEnc.Info.NumEntries)
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

// rollback puts the table read back in place of the one written (its
// bytes as read), with the counters every entry would have had if
// nothing had been written: what the old entry had at the first swap,
// plus, for a rule the write kept, what it counted since.
func (lt *legacyTable) rollback() error {
	next := lt.tr.Plan.Next
	if lt.inPlace {
		return fmt.Errorf("internal error: the table read was written over")
	}
	back := &xtables.Encoded{Info: lt.info, Blob: lt.blob}
	back.Info.Name = next.Name
	// from[j]: the entry written that entry j read kept the counters of.
	from := make([]int, lt.info.NumEntries)
	for j := range from {
		from[j] = -1
	}
	for i, j := range lt.from {
		if j >= 0 && j < len(from) {
			from[j] = i
		}
	}
	since, err := lt.conn.Replace(back, lt.written.NumEntries)
	if err != nil {
		return err
	}
	lt.tr.Written, lt.tr.RolledBack, lt.tr.CountersKept = false, true, 0
	add := make([]xtables.Counters, len(from))
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
	want := lt.written
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
