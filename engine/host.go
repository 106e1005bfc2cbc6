package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hostwall/hostwall/policy"
	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
	"github.com/hostwall/hostwall/xtables/nft"
)

// Host is one network namespace's firewall, reached through one backend:
// what the CLI, a watcher and embedders open before they read or apply.
type Host struct {
	// Backend is the backend in use; Detection says why, when it was
	// chosen automatically.
	Backend   BackendKind
	Detection *Detection

	nft    *nft.Conn
	legacy map[*xtables.Family]*xtables.Conn
	// own is what hostwall last wrote, for Watch (notify.go).
	own ownWrites
}

// OpenOptions tune Open.
type OpenOptions struct {
	// Backend: Auto (or "") detects it.
	Backend BackendKind
	// Owned are the owned chains, for detection; DefaultChain when empty.
	Owned []string
	// Families to open legacy sockets for; both when empty.
	Families []*xtables.Family
}

// Open chooses the backend (Detect unless one is given) and opens its
// connections in the calling thread's network namespace.
func Open(ctx context.Context, opt OpenOptions) (*Host, error) {
	kind := opt.Backend
	if kind == "" {
		kind = Auto
	}
	h := &Host{Backend: kind, legacy: map[*xtables.Family]*xtables.Conn{}}
	if kind == Auto || kind == NFTBackend || kind == NativeBackend {
		c, err := nft.Dial(nft.Options{})
		if err != nil && (kind != Auto || !errors.Is(err, nft.ErrNotSupported)) {
			return nil, err
		}
		h.nft = c
	}
	if kind == Auto {
		d, err := Detect(ctx, DetectOptions{Owned: opt.Owned, NFT: h.nft})
		if err != nil {
			h.Close()
			return nil, err
		}
		h.Backend, h.Detection = d.Backend, d
	}
	if h.Backend == LegacyBackend {
		if h.nft != nil {
			h.nft.Close()
			h.nft = nil
		}
		fams := opt.Families
		if len(fams) == 0 {
			fams = []*xtables.Family{xtables.IPv4, xtables.IPv6}
		}
		for _, f := range fams {
			c, err := xtables.Open(f)
			if err != nil {
				h.Close()
				return nil, err
			}
			h.legacy[f] = c
		}
	}
	return h, nil
}

// Close releases the connections.
func (h *Host) Close() error {
	var err error
	if h.nft != nil {
		err = h.nft.Close()
	}
	for _, c := range h.legacy {
		err = errors.Join(err, c.Close())
	}
	return err
}

// NFT is the nf_tables connection of an nft or native host, nil
// otherwise.
func (h *Host) NFT() *nft.Conn { return h.nft }

// Legacy is the x_tables socket of a family on a legacy host, nil
// otherwise.
func (h *Host) Legacy(f *xtables.Family) *xtables.Conn { return h.legacy[f] }

// Supported probes the kernel for an extension revision through the
// backend in use, as iptables does before it picks one.
func (h *Host) Supported(ctx context.Context, f *xtables.Family) func(ext.Kind, string, uint8) (bool, error) {
	if h.Backend == NFTBackend || h.Backend == NativeBackend {
		return func(k ext.Kind, name string, rev uint8) (bool, error) {
			return h.nft.Revision(ctx, nft.FamilyOf(f), k == ext.Target, name, rev)
		}
	}
	c := h.legacy[f]
	return func(k ext.Kind, name string, rev uint8) (bool, error) { return c.Revision(k == ext.Target, name, rev) }
}

// Apply makes the owned chains and hooks of every family what ds say,
// and changes nothing else. On nf_tables all families go in one
// transaction; on x_tables each table is one atomic replace.
func (h *Host) Apply(ctx context.Context, ds []*policy.Desired, opt Options) ([]*Report, error) {
	ifaces := opt.Interfaces
	if ifaces == nil {
		ifaces = externalInterfaces
	}
	ds, err := expandExternal(ds, ifaces)
	if err != nil {
		return nil, err
	}
	switch h.Backend {
	case NFTBackend:
		return (&NFT{Conn: h.nft}).ApplyAll(ctx, ds, opt)
	case NativeBackend:
		return (&Native{Conn: h.nft}).ApplyAll(ctx, ds, opt)
	}
	// All families under one lock, checked before the first write, and
	// rolled back together if the kernel refuses one.
	var jobs []legacyJob
	for _, d := range ds {
		c := h.legacy[d.Family]
		if c == nil {
			return nil, fmt.Errorf("no %s socket open", d.Family)
		}
		jobs = append(jobs, legacyJob{c, d})
	}
	return applyLegacy(ctx, jobs, "", opt)
}

// ErrNoTable means the table asked for does not exist; hostwall never
// creates one by reading it.
var ErrNoTable = errors.New("table does not exist")

// TableNames lists the tables of a family that exist, without creating
// any: for x_tables from /proc/net/ip{,6}_tables_names, for nf_tables
// iptables-nft's tables in save order; for the native backend "filter"
// when hostwall's table exists.
func (h *Host) TableNames(ctx context.Context, f *xtables.Family) ([]string, error) {
	if h.Backend == NativeBackend {
		tables, err := h.nft.Tables(ctx, nft.FamilyOf(f), 0)
		if err != nil || !slices.ContainsFunc(tables, func(t *nft.Table) bool { return t.Name == nft.NativeTable }) {
			return nil, err
		}
		return []string{nft.NativeModelTable}, nil
	}
	if h.Backend != NFTBackend {
		return xtables.TableNames(f)
	}
	tables, err := h.nft.Tables(ctx, nft.FamilyOf(f), 0)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range nft.SaveOrder {
		for _, t := range tables {
			if t.Name == name {
				out = append(out, name)
			}
		}
	}
	return out, nil
}

// ReadTable reads a whole table into the model. On nf_tables, a rule not
// in iptables-nft's form is a placeholder (nft.IsForeign) that keeps its
// place; ErrNoTable when the table does not exist. The native backend
// has only "filter", read from hostwall's own table.
func (h *Host) ReadTable(ctx context.Context, f *xtables.Family, name string) (*xtables.Table, error) {
	if h.Backend == NativeBackend {
		m, err := h.nativeTable(ctx, f, name)
		if err != nil {
			return nil, err
		}
		return m.Table, nil
	}
	if h.Backend != NFTBackend {
		names, err := xtables.TableNames(f)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(names, name) {
			return nil, fmt.Errorf("%s table %s: %w", f, name, ErrNoTable)
		}
		c := h.legacy[f]
		if c == nil {
			return nil, fmt.Errorf("no %s socket open", f)
		}
		return c.Read(ctx, name)
	}
	for attempt := 1; ; attempt++ {
		t, err := readNFTWhole(ctx, h.nft, f, name)
		if errors.Is(err, nft.ErrGenChanged) && retryAfterGenChange(ctx, attempt) {
			continue
		}
		return t, err
	}
}

func readNFTWhole(ctx context.Context, c *nft.Conn, f *xtables.Family, name string) (*xtables.Table, error) {
	nf := nft.FamilyOf(f)
	gen, err := c.GenID(ctx)
	if err != nil {
		return nil, err
	}
	tables, err := c.Tables(ctx, nf, gen)
	if err != nil {
		return nil, err
	}
	found := false
	for _, t := range tables {
		found = found || t.Name == name
	}
	if !found {
		return nil, fmt.Errorf("%s table %s: %w", f, name, ErrNoTable)
	}
	st := &nftState{family: f, table: &xtables.Table{Family: f, Name: name}, chains: map[string]*nftChain{}, handles: map[*xtables.Rule]uint64{}}
	if err := (&NFT{Conn: c}).readWholeTable(ctx, st, nf, name, gen); err != nil {
		return nil, err
	}
	st.table.SortChains()
	return st.table, nil
}

// Remove takes the owned chains of ds away from this host's backend,
// with every rule jumping to them, and changes nothing else: legacy
// replaces each table without them (counters of the other rules kept),
// nft deletes the rules by handle and then the chains, native deletes
// hostwall's table. Tables that do not exist are left alone.
func (h *Host) Remove(ctx context.Context, ds []*policy.Desired, opt Options) ([]*Report, error) {
	opt.Remove = true
	opt.Interfaces = func([]string) ([]string, error) { return nil, nil }
	return h.Apply(ctx, ds, opt)
}
