package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
)

// Policy is one family's rules file, in iptables-save syntax, as
// hostwall apply takes it: what the owned chains and the hooks that jump
// to them should be. The rest of the file is checked but never applied.
type Policy struct {
	// Family is xtables.IPv4 (rules.v4) or xtables.IPv6 (rules.v6);
	// required.
	Family *xtables.Family
	// Name names the file in messages ("rules.v4:12:5: …"); "<policy>"
	// when empty.
	Name string
	// Data is the file's text.
	Data []byte
	// Chains are the owned chains; policy.DefaultChain (FILTERS) when
	// empty. Each must be declared in the file.
	Chains []string
}

// ReadPolicy parses p for this host: the revision of each match and
// target is the highest the kernel supports, probed through the backend
// in use (Supported), as iptables picks them. A mistake in the file is a
// *policy.Error naming its file:line:column; nothing touches the kernel
// but the probes.
func (h *Host) ReadPolicy(ctx context.Context, p Policy) (*policy.Desired, error) {
	if p.Family == nil {
		return nil, errors.New("engine: Policy.Family is nil (xtables.IPv4 or xtables.IPv6)")
	}
	if h.Backend != NFTBackend && h.Backend != NativeBackend && h.legacy[p.Family] == nil {
		return nil, fmt.Errorf("no %s socket open (OpenOptions.Families)", p.Family)
	}
	name := p.Name
	if name == "" {
		name = "<policy>"
	}
	return policy.ReadDesired(name, p.Data, policy.DesiredOptions{Family: p.Family, Chains: p.Chains, Supported: h.Supported(ctx, p.Family)})
}

// ApplyPolicy is what hostwall apply does with its files: it reads every
// policy (ReadPolicy) and, when all of them are valid, makes the owned
// chains and hooks of each family what they say (Apply), changing
// nothing else. Give each family at most once.
//
// Whatever it returns, the error says what the kernel holds:
//
//   - Before the first write, nothing is written: a mistake in a file, a
//     rule the kernel would refuse (ErrRuleRefused), the lock held past
//     Options.LockWait (ErrLockBusy), or ctx ending (a *StoppedError,
//     which unwraps to ctx.Err(): a signal or a deadline). This is where
//     the CLI exits 130 or 143 on SIGINT or SIGTERM.
//   - From the first write on, ctx is no longer heeded: the write, its
//     verification and any rollback run to their end, and the error, if
//     any, names each table written, not written or put back as it was.
//     On nf_tables every family is one transaction; on x_tables a table
//     the kernel refuses (ErrRuleRefused) has the tables written before
//     it put back as they were, counters included.
//
// The reports say per family and table what was planned and written;
// with Options.DryRun, what would be, and nothing is written.
func (h *Host) ApplyPolicy(ctx context.Context, opt Options, ps ...Policy) ([]*Report, error) {
	var ds []*policy.Desired
	seen := map[*xtables.Family]bool{}
	for _, p := range ps {
		if seen[p.Family] {
			return nil, fmt.Errorf("engine: two policies for %s", p.Family)
		}
		seen[p.Family] = true
		d, err := h.ReadPolicy(ctx, p)
		if err != nil {
			return nil, BeforeWriting(ctx, err)
		}
		ds = append(ds, d)
	}
	return h.Apply(ctx, ds, opt)
}
