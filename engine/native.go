package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/nft"
)

// Native drives hostwall's own nf_tables tables, "ip hostwall" and "ip6
// hostwall", for hosts where no iptables table is there to hook into:
// Docker 29 with its nftables firewall (no DOCKER-USER), kube-proxy in
// nftables mode, plain nftables. The rules files' *filter owned chains
// become regular chains of that table, written as native expressions
// where nf_tables has them (nft.EncodeNative); each hook becomes a rule
// of the base chain named as the chain it hooks from (nft.NativeBase):
// "-A INPUT -j FILTERS" one of INPUT (hook input), "-A DOCKER-USER -i
// eth0 -j FILTERS" one of DOCKER-USER (hook forward, priority filter - 1).
//
// It is the nft backend with another form: the same scoped read, plan,
// diff by handle, single generation-checked batch for both families and
// verify (NFT with nativeForm).
type Native struct {
	Conn *nft.Conn
}

// nativeForm keeps *filter in the native table.
type nativeForm struct{}

func (nativeForm) kernelTable(string) string { return nft.NativeTable }

func (nativeForm) modelChain(_ string, kc *nft.Chain) (*xtables.Chain, error) {
	return nft.NativeModelChain(kc)
}

func (nativeForm) decode(f *xtables.Family, chain string, kr *nft.Rule) *xtables.Rule {
	r, err := nft.DecodeNative(f, chain, kr.Exprs, kr.UserData)
	if err != nil {
		return nft.ForeignRule(kr)
	}
	return r
}

func (nativeForm) encode(f *xtables.Family, chain string, r *xtables.Rule) (*nft.NativeRule, error) {
	return nft.EncodeNative(f, chain, r)
}

func (nativeForm) base(_ string, c *xtables.Chain) (nft.BaseChain, bool) {
	return nft.NativeBase(c.Name)
}

// canonical is the rule as DecodeNative reads it back: the text parsed
// again (the revisions of natively written matches are then the highest
// hostwall knows, as on the kernel side).
func (nativeForm) canonical(f *xtables.Family, chain string, r *xtables.Rule) *xtables.Rule {
	enc, err := nft.EncodeNative(f, chain, r)
	if err != nil {
		return r
	}
	raw, err := nft.MarshalExprs(nft.FamilyOf(f), enc.Exprs)
	if err != nil {
		return r
	}
	back, err := nft.DecodeNative(f, chain, raw, enc.UserData)
	if err != nil {
		return r
	}
	return back
}

// ApplyAll makes each family's owned chains and hooks what ds say, in
// one nf_tables transaction for all of them, touching only hostwall's
// tables.
func (n *Native) ApplyAll(ctx context.Context, ds []*policy.Desired, opt Options) ([]*Report, error) {
	for _, d := range ds {
		if err := checkNative(d); err != nil {
			return nil, err
		}
	}
	reps, err := (&NFT{Conn: n.Conn, form: nativeForm{}}).ApplyAll(ctx, ds, opt)
	for _, rep := range reps {
		for _, tr := range rep.Tables {
			tr.Table = fmt.Sprintf("%s (nf_tables table %s %s)", tr.Table, familyWord(nft.FamilyOf(rep.Family)), nft.NativeTable)
			if tr.Plan.Changed() {
				tr.Plan.Diff = append(tr.Plan.Diff, compatNotes(rep.Family, tr.Plan.Next, ds)...)
			}
		}
	}
	return reps, err
}

// checkNative refuses what the native table cannot hold, before anything
// is read (an ErrNotSupported): owned chains outside *filter, hooks from a chain that has no
// base chain there, jumps from an owned chain to a chain not owned.
func checkNative(d *policy.Desired) error {
	for _, dt := range d.Tables {
		if dt.Table != nft.NativeModelTable {
			return notSupportedf("%s: --backend native keeps only *filter's owned chains (in nf_tables table %s); this file owns chains in *%s",
				d.File, nft.NativeTable, dt.Table)
		}
		for _, h := range dt.Hooks {
			if _, ok := nft.NativeBase(h.Chain); !ok {
				return notSupportedf("%s: hook %s: --backend native hooks only from %s (base chains of nf_tables table %s)",
					h.Pos, dt.Text(h.Chain, h.Rule), strings.Join(nft.NativeBaseNames(), ", "), nft.NativeTable)
			}
		}
		for _, o := range dt.Owned {
			for i, r := range o.Rules {
				if c := r.Target.Chain; r.Target.IsStandard() && c != "" && !dt.Owns(c) {
					return notSupportedf("%s: %s: --backend native: chain %s is not an owned chain, and only owned chains exist in nf_tables table %s",
						o.RulePos[i], dt.Text(o.Name, r), c, nft.NativeTable)
				}
			}
		}
	}
	return nil
}

// compatNotes lists the owned rules of a plan that keep an nft_compat
// match or target, which "nft list" prints as if native (nft 1.0.6) but
// which is the x_tables extension run through nft_compat.
func compatNotes(f *xtables.Family, next *xtables.Table, ds []*policy.Desired) []string {
	var owned []string
	for _, d := range ds {
		if d.Family != f {
			continue
		}
		for _, dt := range d.Tables {
			for _, o := range dt.Owned {
				owned = append(owned, o.Name)
			}
		}
	}
	var notes []string
	for _, c := range next.Chains {
		if !slices.Contains(owned, c.Name) {
			continue
		}
		for _, r := range c.Rules {
			enc, err := nft.EncodeNative(f, c.Name, r)
			if err != nil || len(enc.CompatExts) == 0 {
				continue
			}
			notes = append(notes, fmt.Sprintf("  (nft_compat, no native form: %s) %s", strings.Join(enc.CompatExts, ", "), next.RuleText(c, r, false)))
		}
	}
	return notes
}

// nativeSnapshot reads hostwall's table of a family in one generation.
func (h *Host) nativeSnapshot(ctx context.Context, f *xtables.Family) (*nft.Snapshot, error) {
	for attempt := 1; ; attempt++ {
		gen, err := h.nft.GenID(ctx)
		if err != nil {
			return nil, err
		}
		s, err := nft.ReadSnapshot(ctx, h.nft, f, nft.NativeTable, gen)
		if errors.Is(err, nft.ErrGenChanged) && retryAfterGenChange(ctx, attempt) {
			continue
		}
		return s, err
	}
}

// nativeTable reads the native table of a family as the *filter table
// of a rules file (ErrNoTable for any other name, or when hostwall's
// table does not exist).
func (h *Host) nativeTable(ctx context.Context, f *xtables.Family, name string) (*nft.Model, error) {
	if name != nft.NativeModelTable {
		return nil, fmt.Errorf("%s table %s: %w (--backend native keeps only *filter, in nf_tables table %s)", f, name, ErrNoTable, nft.NativeTable)
	}
	s, err := h.nativeSnapshot(ctx, f)
	if err != nil {
		return nil, err
	}
	if !s.Exists {
		return nil, fmt.Errorf("%s nf_tables table %s: %w", f, nft.NativeTable, ErrNoTable)
	}
	return nft.NativeModel(s), nil
}
