package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/nft"
)

// BackendKind names a firewall backend.
type BackendKind string

const (
	// Auto chooses the backend the host uses (Detect).
	Auto BackendKind = "auto"
	// LegacyBackend is x_tables through its socket options, as
	// iptables-legacy.
	LegacyBackend BackendKind = "legacy"
	// NFTBackend is nf_tables in the form iptables-nft writes.
	NFTBackend BackendKind = "nft"
	// NativeBackend is hostwall's own nf_tables tables ("ip hostwall",
	// "ip6 hostwall"), in native expressions: for hosts without iptables.
	NativeBackend BackendKind = "native"
)

// ParseBackend reads a --backend value.
func ParseBackend(s string) (BackendKind, error) {
	switch k := BackendKind(s); k {
	case Auto, LegacyBackend, NFTBackend, NativeBackend:
		return k, nil
	case "":
		return Auto, nil
	}
	return "", fmt.Errorf("unknown backend %q (want auto, legacy, nft or native)", s)
}

// ErrBothBackends means rules of other programs live in both x_tables
// and nf_tables: hostwall cannot know which one the host's tools use.
var ErrBothBackends = errors.New("rules in both iptables backends")

// Holdings is what one backend holds in one network namespace.
type Holdings struct {
	// Foreign lists what other programs wrote, one entry per table:
	// "IPv4 filter: 12 rules, chains DOCKER DOCKER-USER".
	Foreign []string
	// Owned lists hostwall's own chains and hooks found there.
	Owned []string
	// Other lists nf_tables tables that are not iptables-nft's
	// ("ip docker-bridges").
	Other []string
}

func (h *Holdings) empty() bool { return len(h.Foreign) == 0 }

// Detection is the backend chosen, and why.
type Detection struct {
	Backend  BackendKind
	Reason   string
	Warnings []string
	Legacy   Holdings
	NFT      Holdings
}

// DetectOptions tune Detect.
type DetectOptions struct {
	// Owned are the owned chain names; DefaultChain when empty. Rules in
	// them and hooks to them are hostwall's, not another program's.
	Owned []string
	// Root is where the alternatives links are looked up; "/" when empty.
	Root string
	// NFT is an open nf_tables connection; Detect dials one when nil.
	NFT *nft.Conn
}

// Detect chooses the backend for a host without running any program and
// without creating anything while looking: legacy tables are read only
// where /proc/net/ip{,6}_tables_names lists them (querying another would
// create it), and reading nf_tables creates nothing.
//
// The order: the backend holding other programs' rules (both: refuse);
// the one holding hostwall's own chain; the host's iptables alternative;
// nft when the kernel has no legacy x_tables; else nft, every current
// distribution's default.
func Detect(ctx context.Context, opt DetectOptions) (*Detection, error) {
	owned := opt.Owned
	if len(owned) == 0 {
		owned = []string{"FILTERS"}
	}
	d := &Detection{}
	legacyKernel, legacyErr := legacyHoldings(ctx, owned, &d.Legacy)
	if legacyErr != nil && !errors.Is(legacyErr, ErrCannotDetect) {
		return nil, legacyErr
	}
	conn := opt.NFT
	if conn == nil {
		c, err := nft.Dial(nft.Options{})
		if err != nil && !errors.Is(err, nft.ErrNotSupported) {
			return nil, err
		}
		if c != nil {
			defer c.Close()
			conn = c
		}
	}
	if conn != nil {
		if err := nftHoldings(ctx, conn, owned, &d.NFT); err != nil && !errors.Is(err, nft.ErrNotSupported) {
			return nil, err
		}
	}
	if legacyErr != nil {
		if d.NFT.empty() {
			return d, fmt.Errorf("%w; give --backend legacy or --backend nft", legacyErr)
		}
		d.Backend, d.Reason = NFTBackend, "nf_tables holds the host's rules ("+strings.Join(d.NFT.Foreign, "; ")+"); x_tables could not be listed"
		return d, nil
	}
	native, nativeWhy := nativeSignal(d)
	switch {
	case native && d.Legacy.empty():
		d.Backend, d.Reason = NativeBackend, nativeWhy
	case !d.Legacy.empty() && !d.NFT.empty():
		return d, fmt.Errorf("%w: x_tables (iptables-legacy) holds %s; nf_tables (iptables-nft) holds %s; choose one with --backend legacy or --backend nft",
			ErrBothBackends, strings.Join(d.Legacy.Foreign, "; "), strings.Join(d.NFT.Foreign, "; "))
	case !d.Legacy.empty():
		d.Backend, d.Reason = LegacyBackend, "x_tables holds the host's rules ("+strings.Join(d.Legacy.Foreign, "; ")+")"
	case !d.NFT.empty():
		d.Backend, d.Reason = NFTBackend, "nf_tables holds the host's rules ("+strings.Join(d.NFT.Foreign, "; ")+")"
	case len(d.Legacy.Owned) > 0 && len(d.NFT.Owned) == 0:
		d.Backend, d.Reason = LegacyBackend, "hostwall's chain is in x_tables"
	case len(d.NFT.Owned) > 0 && len(d.Legacy.Owned) == 0:
		d.Backend, d.Reason = NFTBackend, "hostwall's chain is in nf_tables"
	case len(d.NFT.Other) > 0:
		d.Backend, d.Reason = NativeBackend, "nf_tables holds tables of other tools or hostwall's own ("+strings.Join(d.NFT.Other, ", ")+") and no iptables table: hostwall keeps its own table"
	default:
		if k, link := alternative(opt.Root); k != "" {
			d.Backend, d.Reason = k, "the host's iptables is "+link
		} else if !legacyKernel {
			d.Backend, d.Reason = NFTBackend, "the kernel has no legacy x_tables"
		} else {
			d.Backend, d.Reason = NFTBackend, "no rules anywhere; nft is the distributions' default"
		}
	}
	other := d.Legacy
	name := "x_tables (iptables-legacy)"
	if d.Backend == LegacyBackend {
		other, name = d.NFT, "nf_tables (iptables-nft)"
	}
	for _, o := range other.Owned {
		d.Warnings = append(d.Warnings, fmt.Sprintf("%s left behind in %s, which hostwall does not use here: %s", "hostwall's chain or hook", name, o))
	}
	if d.Backend == NativeBackend {
		for _, o := range d.NFT.Owned {
			d.Warnings = append(d.Warnings, fmt.Sprintf("hostwall's chain or hook left behind in nf_tables (iptables-nft), which hostwall does not use here: %s", o))
		}
	}
	return d, nil
}

// nativeSignal reports the nf_tables tables that mean the host filters
// with nftables itself, where no iptables chain is consulted for the
// traffic hostwall guards: Docker 29's nftables firewall (docker-bridges,
// and no DOCKER-USER) and kube-proxy's nftables mode (kube-proxy).
func nativeSignal(d *Detection) (bool, string) {
	var found []string
	for _, t := range d.NFT.Other {
		switch t {
		case "ip docker-bridges", "ip6 docker-bridges":
			found = append(found, t+" (Docker 29's nftables firewall)")
		case "ip kube-proxy", "ip6 kube-proxy":
			found = append(found, t+" (kube-proxy's nftables mode)")
		}
	}
	if len(found) == 0 {
		return false, ""
	}
	return true, "nf_tables holds " + strings.Join(found, ", ") + ": no iptables chain to hook into, hostwall keeps its own table"
}

// ErrCannotDetect means the legacy tables cannot be listed (no /proc, or
// a /proc that belongs to another user namespace's root) and nf_tables
// holds nothing that would settle it: only --backend can.
var ErrCannotDetect = errors.New("cannot tell which backend the host uses")

// legacyHoldings reads the legacy tables that exist. It reports whether
// the kernel has x_tables at all; ErrCannotDetect (wrapped) when the
// tables cannot be listed.
func legacyHoldings(ctx context.Context, owned []string, h *Holdings) (bool, error) {
	present := false
	for _, fam := range []*xtables.Family{xtables.IPv4, xtables.IPv6} {
		names, err := xtables.TableNames(fam)
		if errors.Is(err, xtables.ErrNoProc) || errors.Is(err, os.ErrPermission) {
			return true, fmt.Errorf("%w: the x_tables tables cannot be listed (%v)", ErrCannotDetect, err)
		}
		if err != nil {
			return false, err
		}
		if _, err := os.Stat(tablesNamesFile(fam)); err == nil {
			present = true
		}
		if len(names) == 0 {
			continue
		}
		conn, err := xtables.Open(fam)
		if err != nil {
			return present, err
		}
		for _, name := range names {
			t, err := conn.Read(ctx, name)
			if err != nil {
				conn.Close()
				return present, fmt.Errorf("read %s table %s: %w", fam, name, err)
			}
			summarize(fam, t, owned, h)
		}
		conn.Close()
	}
	if !present {
		present = kernelHasLegacy()
	}
	return present, nil
}

func tablesNamesFile(f *xtables.Family) string {
	if f == xtables.IPv6 {
		return "/proc/net/ip6_tables_names"
	}
	return "/proc/net/ip_tables_names"
}

// kernelHasLegacy looks for ip_tables among the kernel's modules, for a
// kernel whose x_tables is a module not loaded yet.
func kernelHasLegacy() bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return true // cannot tell: assume the common case
	}
	release := unix.ByteSliceToString(u.Release[:])
	for _, f := range []string{"modules.builtin", "modules.dep"} {
		data, err := os.ReadFile(filepath.Join("/lib/modules", release, f))
		if err == nil && strings.Contains(string(data), "/ip_tables.ko") {
			return true
		}
	}
	return false
}

// summarize records what a table holds: rules and chains of others, and
// hostwall's own chains and hooks.
func summarize(fam *xtables.Family, t *xtables.Table, owned []string, h *Holdings) {
	rules := 0
	var chains []string
	for _, c := range t.Chains {
		if slices.Contains(owned, c.Name) {
			h.Owned = append(h.Owned, fmt.Sprintf("%s %s chain %s", fam, t.Name, c.Name))
			continue
		}
		n := 0
		for _, r := range c.Rules {
			if r.Target.IsStandard() && slices.Contains(owned, r.Target.Chain) {
				h.Owned = append(h.Owned, fmt.Sprintf("%s %s: %s", fam, t.Name, t.RuleText(c, r, false)))
				continue
			}
			n++
		}
		rules += n
		// A DOCKER-USER holding nothing but hostwall's hooks is
		// hostwall's doing; with anything else it is Docker's.
		if !c.Builtin() && (c.Name != "DOCKER-USER" || n > 0) {
			chains = append(chains, c.Name)
		}
	}
	if rules > 0 || len(chains) > 0 {
		s := fmt.Sprintf("%s %s: %d rules", fam, t.Name, rules)
		if len(chains) > 0 {
			s += ", chains " + strings.Join(firstN(chains, 6), " ")
		}
		h.Foreign = append(h.Foreign, s)
	}
}

func firstN(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(slices.Clone(s[:n]), fmt.Sprintf("… %d more", len(s)-n))
}

// nftHoldings reads what iptables-nft's tables hold, chain by chain; the
// rules of a chain are read only where the count of its rules cannot
// tell hostwall's from others'.
func nftHoldings(ctx context.Context, c *nft.Conn, owned []string, h *Holdings) error {
	for _, fam := range []*xtables.Family{xtables.IPv4, xtables.IPv6} {
		nf := nft.FamilyOf(fam)
		tables, err := c.Tables(ctx, nf, 0)
		if err != nil {
			return err
		}
		// iptables-nft-save's order, whatever order they were made in.
		slices.SortStableFunc(tables, func(a, b *nft.Table) int {
			return saveRank(a.Name) - saveRank(b.Name)
		})
		for _, tb := range tables {
			if !nft.IsXtablesTable(tb.Name) {
				h.Other = append(h.Other, fmt.Sprintf("%s %s", familyWord(nf), tb.Name))
				continue
			}
			if err := nftTableHoldings(ctx, c, fam, tb.Name, owned, h); err != nil {
				return err
			}
		}
	}
	// inet tables (firewalld, nftables.service) are never iptables-nft's.
	tables, err := c.Tables(ctx, unix.NFPROTO_INET, 0)
	if err != nil {
		return err
	}
	for _, tb := range tables {
		h.Other = append(h.Other, "inet "+tb.Name)
	}
	return nil
}

// nftTableHoldings summarizes one iptables-nft table without reading
// other programs' rules, so detection stays cheap next to tens of
// thousands of them: a base chain's use count is its number of rules, an
// owned chain's use count beyond its rules is the number of jumps to it
// (hostwall's hooks), and only owned chains and DOCKER-USER are read.
func nftTableHoldings(ctx context.Context, c *nft.Conn, fam *xtables.Family, table string, owned []string, h *Holdings) error {
	nf := nft.FamilyOf(fam)
	chains, err := c.Chains(ctx, nf, table, 0)
	if err != nil {
		return err
	}
	var (
		baseRules, hooks, foreign int
		userChains                []string
	)
	isOwned := func(name string) bool { return slices.Contains(owned, name) }
	jumpsToOwned := func(rules []*nft.Rule) (n int) {
		for _, kr := range rules {
			if r := decodeKernelRule(fam, kr); r.Target.IsStandard() && isOwned(r.Target.Chain) {
				n++
			}
		}
		return n
	}
	dockerUserHooks := 0
	for _, kc := range chains {
		switch {
		case kc.Base != nil:
			baseRules += int(kc.Use)
		case isOwned(kc.Name):
			rules, err := c.Rules(ctx, nf, table, kc.Name, 0)
			if err != nil {
				return err
			}
			// References from owned chains to owned chains are not hooks.
			hooks += int(kc.Use) - len(rules)
			hooks -= jumpsToOwned(rules)
			h.Owned = append(h.Owned, fmt.Sprintf("%s %s chain %s", fam, table, kc.Name))
		case kc.Name == "DOCKER-USER" && kc.Use <= 1024:
			rules, err := c.Rules(ctx, nf, table, kc.Name, 0)
			if err != nil {
				return err
			}
			dockerUserHooks = jumpsToOwned(rules)
			// A DOCKER-USER holding nothing but hostwall's hooks is
			// hostwall's doing; with anything else it is Docker's.
			if n := len(rules) - dockerUserHooks; n > 0 {
				foreign += n
				userChains = append(userChains, kc.Name)
			}
		default:
			userChains = append(userChains, kc.Name)
		}
	}
	if hooks > 0 {
		h.Owned = append(h.Owned, fmt.Sprintf("%s %s: %d hook(s) to %s", fam, table, hooks, strings.Join(owned, ", ")))
	}
	foreign += max(0, baseRules-(hooks-dockerUserHooks))
	if foreign > 0 || len(userChains) > 0 {
		s := fmt.Sprintf("%s %s: %d rules in built-in chains and DOCKER-USER", fam, table, foreign)
		if len(userChains) > 0 {
			s += ", chains " + strings.Join(firstN(userChains, 6), " ")
		}
		h.Foreign = append(h.Foreign, s)
	}
	return nil
}

func familyWord(nf byte) string {
	if nf == nft.IPv6 {
		return "ip6"
	}
	return "ip"
}

// alternative reads which iptables the host's PATH resolves to, from the
// links /usr/sbin/iptables (or /sbin/iptables) point through.
func alternative(root string) (BackendKind, string) {
	if root == "" {
		root = "/"
	}
	for _, p := range []string{"usr/sbin/iptables", "sbin/iptables", "etc/alternatives/iptables"} {
		target, err := filepath.EvalSymlinks(filepath.Join(root, p))
		if err != nil {
			continue
		}
		base := filepath.Base(target)
		switch {
		case strings.Contains(base, "nft"):
			return NFTBackend, "/" + p + " -> " + base
		case strings.Contains(base, "legacy"):
			return LegacyBackend, "/" + p + " -> " + base
		}
	}
	return "", ""
}

func saveRank(table string) int {
	if i := slices.Index(nft.SaveOrder, table); i >= 0 {
		return i
	}
	return len(nft.SaveOrder)
}
