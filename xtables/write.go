package xtables

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// maxReplaceTries bounds how often a write is retried when another
// writer changed the table between the read of its entry count and the
// replace (the kernel answers EAGAIN).
const maxReplaceTries = 5

// Restore replaces a whole table with t and sets every entry's counters
// to t's: what iptables-restore -c does for one table. The caller holds
// the xtables lock.
func (c *Conn) Restore(ctx context.Context, t *Table) error {
	enc, err := Encode(t)
	if err != nil {
		return fmt.Errorf("encode %s table %s: %w", c.fam, t.Name, err)
	}
	for try := 0; ; try++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := c.Info(t.Name)
		if err != nil {
			return err
		}
		_, err = c.Replace(enc, info.NumEntries)
		if errors.Is(err, unix.EAGAIN) && try < maxReplaceTries {
			time.Sleep(time.Millisecond << try)
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	set := enc.Counters()
	for _, v := range set {
		if v != (Counters{}) {
			return c.AddCounters(t.Name, set)
		}
	}
	return nil
}

// Counters lists the counters of the encoded entries in blob order, from
// the rules and chain feet they were encoded from.
func (e *Encoded) Counters() []Counters {
	out := make([]Counters, len(e.Rules))
	for i := range e.Rules {
		switch {
		case e.Rules[i] != nil:
			out[i] = e.Rules[i].Counters
		case e.Feet[i] != nil:
			out[i] = e.Feet[i].Counters
		}
	}
	return out
}
