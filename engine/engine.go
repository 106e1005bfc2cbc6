package engine

import (
	"context"
	"time"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
)

// Backend is a firewall implementation hostwall can drive: today the
// x_tables (iptables-legacy) one, nftables next.
type Backend interface {
	// Apply makes one family's owned chains and hooks what d says and
	// changes nothing else. Each table is written atomically or not at
	// all.
	Apply(ctx context.Context, d *policy.Desired, opt Options) (*Report, error)
}

// Options tune an Apply. The zero value applies for real, waits
// DefaultLockWait for the xtables lock and expands external-interfaces
// hooks to this network namespace's interfaces.
type Options struct {
	// DryRun plans and reports without writing (and without creating a
	// table that does not exist yet).
	DryRun bool
	// LockWait bounds the wait for the xtables lock (x_tables only):
	// zero waits DefaultLockWait, NoLockWait (any negative value) tries
	// once. When it ends with the lock still held the error matches
	// ErrLockBusy; a context that ends first stops the wait as well.
	LockWait time.Duration
	// Interfaces lists the interfaces a hook marked external-interfaces
	// expands to (externalInterfaces when nil).
	Interfaces func(patterns []string) ([]string, error)
	// Remove takes the owned chains of the desired states away, with
	// every rule jumping to them (the hooks), instead of applying them:
	// what a watcher leaves behind in the backend it moves away from.
	// Nothing else changes (an empty DOCKER-USER hostwall created
	// stays); on the native backend, hostwall's table is deleted.
	Remove bool
}

// Report says what an Apply did to one family.
type Report struct {
	Family *xtables.Family
	Tables []*TableReport
}

// TableReport says what happened to one table.
type TableReport struct {
	Table   string
	Plan    *Plan
	Written bool
	// RolledBack: the table was written, then put back as it was
	// (counters included) because the kernel refused another table of
	// the same apply.
	RolledBack bool
	// CountersKept is how many entries (rules and chain policies) had
	// non-zero counters carried over the replace.
	CountersKept int
	// Attempts counts reads: more than one means another writer got in
	// between and the plan was made again.
	Attempts int
}
