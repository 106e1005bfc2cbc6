package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
)

// The errors a caller decides on. Each is matched with errors.Is through
// any wrapping; the engine's error messages stay the full sentences the
// CLI prints.
var (
	// ErrNotSupported means the backend in use (or the kernel) cannot do
	// what was asked, as opposed to a mistake in the input: a kernel
	// without nf_tables for --backend nft or native, one without
	// x_tables for legacy, a rules file the native table cannot hold, a
	// restore through the native backend. It is xtables.ErrNotSupported,
	// so errors of the lower packages match it too (nft.ErrNotSupported
	// among them).
	ErrNotSupported = xtables.ErrNotSupported

	// ErrLockBusy means another program held the xtables lock for all of
	// Options.LockWait (x_tables only). Nothing was written. It is
	// xtables.ErrLockBusy.
	ErrLockBusy = xtables.ErrLockBusy

	// ErrRuleRefused means the kernel refused a rule of the policy, or
	// would have and hostwall refused it first (an extension outside the
	// tables or hooks it allows, a loop of jumps). errors.As with a
	// *RuleRefusedError gives where the rules file wrote it.
	ErrRuleRefused = errors.New("the kernel refused a rule")
)

// RuleRefusedError is a rule of the policy the kernel refused, or would
// have refused. It matches ErrRuleRefused. Its message is that of the
// error it wraps, which names the file:line already.
type RuleRefusedError struct {
	// Family and Table are where the rule was to go; Chain, when known,
	// the chain.
	Family *xtables.Family
	Table  string
	Chain  string
	// Pos is where the rules file wrote the rule (Pos.File, Pos.Line);
	// zero when no one rule can be named: x_tables refuses a whole table
	// with "invalid argument", and then Suspects lists the rules the
	// apply added to it.
	Pos      policy.Pos
	Suspects []policy.Pos
	// Rule is the rule in iptables-save syntax, when known.
	Rule string
	// Err is the refusal: the kernel's errno (errors.Is(err,
	// unix.EINVAL)), an *nft.RefusedError, or the *policy.Error of a
	// rule refused before writing.
	Err error
}

func (e *RuleRefusedError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("%s: %s table %s: %v", e.Pos, e.Family, e.Table, ErrRuleRefused)
	}
	return e.Err.Error()
}

// Is makes errors.Is(err, ErrRuleRefused) true.
func (e *RuleRefusedError) Is(target error) bool { return target == ErrRuleRefused }

func (e *RuleRefusedError) Unwrap() error { return e.Err }

// notSupportedError is an error with its own message that matches
// ErrNotSupported.
type notSupportedError struct{ msg string }

func (e *notSupportedError) Error() string        { return e.msg }
func (e *notSupportedError) Is(target error) bool { return target == ErrNotSupported }

func notSupportedf(format string, args ...any) error {
	return &notSupportedError{fmt.Sprintf(format, args...)}
}

// DefaultLockWait is how long an Apply or Restore waits for the xtables
// lock when Options.LockWait is zero: hostwall apply's wait without -w.
const DefaultLockWait = 10 * time.Second

// NoLockWait as Options.LockWait tries the xtables lock once and fails
// with ErrLockBusy at once if it is held (iptables without -w). Any
// negative value does.
const NoLockWait time.Duration = -1

// lockWait is the wait a LockWait option asks for: DefaultLockWait for
// zero, none for a negative value.
func lockWait(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return DefaultLockWait
	case d < 0:
		return 0
	}
	return d
}
