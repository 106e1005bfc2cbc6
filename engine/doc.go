// Package engine makes the kernel's tables hold what a policy asks for,
// changing only the chains hostwall owns and the hooks that reach them:
// read, plan, write once, carry counters over, verify. It is what the
// hostwall command and its watcher (package engine/watch) call, and the
// one entry point for a program that embeds hostwall.
//
// # Using it
//
// Open a Host in the network namespace of the calling thread, then read
// and apply policies (rules files in iptables-save syntax) through it:
//
//	h, err := engine.Open(ctx, engine.OpenOptions{}) // detect the backend
//	if err != nil { … }
//	defer h.Close()
//	reps, err := h.ApplyPolicy(ctx, engine.Options{},
//		engine.Policy{Family: xtables.IPv4, Name: "rules.v4", Data: rulesV4},
//		engine.Policy{Family: xtables.IPv6, Name: "rules.v6", Data: rulesV6})
//
// Options{DryRun: true} plans without writing; Host.ReadTable, Save and
// Dump read the kernel back; Host.Restore is iptables-restore. Runnable
// examples that apply a policy from a string, read a table, dry-run a
// plan and catch a refused rule are in the repository's
// integration/example_test.go; they run against the kernel, each in a
// network namespace of its own, in the integration suite.
//
// Zero values are safe: OpenOptions{} detects the backend and opens both
// families; Options{} applies for real and waits DefaultLockWait for the
// xtables lock; Policy.Chains empty owns FILTERS (policy.DefaultChain).
// A Host binds to the network namespace of the thread that opened it:
// to manage another namespace, open it from a thread locked
// (runtime.LockOSThread) in that namespace, and use it from there.
//
// # Errors
//
// The cases a caller decides on match sentinel errors through any
// wrapping (errors.Is): ErrLockBusy (the xtables lock stayed held),
// ErrNotSupported (the kernel or the backend cannot do it),
// ErrBothBackends (other programs' rules in x_tables and nf_tables alike:
// choose OpenOptions.Backend), ErrRuleRefused (the kernel refused a rule;
// errors.As with *RuleRefusedError gives its file:line), and
// ErrNoTable. A mistake in a rules file is a *policy.Error naming its
// file:line:column. A *StoppedError is an apply its context stopped
// before it wrote anything.
//
// # What the kernel holds when it fails
//
// An apply is all or nothing, and whatever stops it says what the kernel
// holds. A context cancelled (a signal, a deadline) before the first
// write stops it with a *StoppedError: nothing was written. From the
// first write on the context is no longer heeded: the write, its
// verification and any rollback run to their end, and the error names
// each table written, put back as it was, or not written. The hostwall
// command relies on this to exit 130 or 143 on SIGINT or SIGTERM with
// nothing written, or to finish the write it started.
package engine
