package nft

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
)

// NativeTable is the name of hostwall's own nf_tables table, one per
// family ("table ip hostwall", "table ip6 hostwall"), written by the
// native backend on hosts without iptables (Docker 29's nftables
// firewall, kube-proxy's nftables mode, plain nftables).
const NativeTable = "hostwall"

// NativeModelTable is the iptables table the native table stands for:
// the rules files' "*filter", whose owned chains and hooks it holds.
const NativeModelTable = "filter"

// Base chains of the native table. They keep the names of the chains the
// rules file hooks from, so that its hooks read the same in "nft list
// table": a file's "-A INPUT -j FILTERS" is a rule of the base chain
// INPUT, its "-A DOCKER-USER -i eth0 -j FILTERS" one of DOCKER-USER, a
// base chain on the forward hook.
//
// Priorities: every one runs at "filter - 1", before the filter-priority
// base chains of Docker 29 (filter-FORWARD) and kube-proxy, as
// DOCKER-USER ran first in iptables' FORWARD; FORWARD at "filter - 2",
// because in iptables a hook at the top of FORWARD ran before FORWARD's
// jump to DOCKER-USER.
var nativeBases = []builtin{
	{"INPUT", BaseChain{Hook: xtables.HookInput, Priority: -1, Type: "filter", Policy: verdictAccept}},
	{"FORWARD", BaseChain{Hook: xtables.HookForward, Priority: -2, Type: "filter", Policy: verdictAccept}},
	{"OUTPUT", BaseChain{Hook: xtables.HookOutput, Priority: -1, Type: "filter", Policy: verdictAccept}},
	{"DOCKER-USER", BaseChain{Hook: xtables.HookForward, Priority: -1, Type: "filter", Policy: verdictAccept}},
}

// NativeBase returns the base chain the native table has for a chain a
// rules file hooks from, false for a chain that is not one (a hook from
// any other chain has no place in the native table).
func NativeBase(chain string) (BaseChain, bool) {
	for _, b := range nativeBases {
		if b.name == chain {
			return b.base, true
		}
	}
	return BaseChain{}, false
}

// NativeBaseNames lists the native base chains, in the order above.
func NativeBaseNames() []string {
	out := make([]string, len(nativeBases))
	for i, b := range nativeBases {
		out[i] = b.name
	}
	return out
}

// NativeModelChain turns a kernel chain of the native table into an
// empty chain of the model: INPUT, FORWARD and OUTPUT as the built-in
// chains of "*filter" (policy ACCEPT, as hostwall creates them), every
// other chain, DOCKER-USER included, as a user chain, as the rules file
// declares it. A base chain hostwall would not have made is an error.
func NativeModelChain(c *Chain) (*xtables.Chain, error) {
	b, ok := NativeBase(c.Name)
	switch {
	case c.Base == nil && ok:
		return nil, fmt.Errorf("chain %s of table %s is not a base chain: %w", c.Name, NativeTable, ErrIncompatible)
	case c.Base == nil:
		return xtables.NewUserChain(c.Name), nil
	case !ok || c.Base.Hook != b.Hook || c.Base.Priority != b.Priority || c.Base.Type != b.Type:
		return nil, fmt.Errorf("base chain %s of table %s (hook %d, priority %d, type %s) is not one hostwall makes: %w",
			c.Name, NativeTable, c.Base.Hook, c.Base.Priority, c.Base.Type, ErrIncompatible)
	}
	if !IsBuiltinName(NativeModelTable, c.Name) {
		return xtables.NewUserChain(c.Name), nil
	}
	xc := &xtables.Chain{Name: c.Name, Hook: int(c.Base.Hook), Policy: Policy(c.Base.Policy)}
	if c.Counters != nil {
		xc.Counters = *c.Counters
	}
	return xc, nil
}

// NativeRule is a rule as the native backend writes it.
type NativeRule struct {
	Exprs    []Expr
	Compat   Compat
	UserData []byte
	// CompatExts names the extensions written as nft_compat because
	// they have no native form here ("match multiport").
	CompatExts []string
}

// ErrNoNativeForm is wrapped by EncodeNative's errors for a rule the
// native table cannot hold.
var ErrNoNativeForm = errors.New("rule cannot be stored in hostwall's native table")

// EncodeNative returns the native nf_tables expressions of a rule of
// chain: the header as iptables-nft writes it (meta iifname/oifname,
// meta l4proto, ip saddr/daddr), each match as native expressions where
// nf_tables has an equivalent (tcp/udp ports and flags, icmp and icmpv6
// type/code, ct state/status/protocol/addresses/ports for -m state and
// -m conntrack, limit, mark, pkttype; a comment becomes rule userdata),
// nft_compat otherwise; a counter; and the verdict, native reject, log
// (LOG and NFLOG), or nft_compat target.
//
// The userdata keeps the rule's canonical iptables-save text (and the
// comment, for "nft list"), which DecodeNative reads back.
func EncodeNative(f *xtables.Family, chain string, r *xtables.Rule) (*NativeRule, error) {
	if f != xtables.IPv4 && f != xtables.IPv6 {
		return nil, fmt.Errorf("encode rule: family %v is not IPv4 or IPv6", f)
	}
	// The header must be what iptables-nft's form holds exactly: the
	// same check EncodeRule makes, on the header alone.
	probe := &xtables.Rule{Header: r.Header, Target: r.Target}
	if !r.Target.IsStandard() {
		probe.Target = xtables.Target{Verdict: xtables.VerdictAccept}
	}
	if _, _, err := EncodeRule(f, probe); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoNativeForm, err)
	}
	out, compat, err := encodeHeader(f, r)
	if err != nil {
		return nil, err
	}
	nr := &NativeRule{Compat: compat}
	var comments []string
	for i := range r.Matches {
		m := &r.Matches[i]
		if m.Name == "comment" && m.Revision == 0 {
			comments = append(comments, ext.UnmarshalComment(m.Data).Text)
			continue
		}
		native, err := nativeMatchExprs(f, &r.Header, m)
		if err != nil {
			return nil, fmt.Errorf("match %d (%s): %w", i+1, m.Name, err)
		}
		if native != nil {
			out = append(out, native...)
			continue
		}
		out = append(out, &Match{Name: m.Name, Rev: uint32(m.Revision), Info: m.Data})
		nr.CompatExts = append(nr.CompatExts, "match "+m.Name)
	}
	out = append(out, &Counter{Packets: r.Counters.Packets, Bytes: r.Counters.Bytes})
	action, err := nativeAction(f, r)
	if err != nil {
		return nil, err
	}
	for _, e := range action {
		if t, ok := e.(*Target); ok {
			nr.CompatExts = append(nr.CompatExts, "target "+t.Name)
		}
	}
	nr.Exprs = append(out, action...)

	text := NativeRuleText(f, chain, r)
	if nr.UserData, err = nativeUserData(text, comments); err != nil {
		return nil, err
	}
	return nr, nil
}

// NativeRuleText is the rule's iptables-save text without "-A CHAIN":
// what the native table keeps in each rule's userdata.
func NativeRuleText(f *xtables.Family, chain string, r *xtables.Rule) string {
	t := &xtables.Table{Family: f, Name: NativeModelTable}
	c := &xtables.Chain{Name: chain, Hook: -1}
	s := t.RuleText(c, r, false)
	return strings.TrimPrefix(strings.TrimPrefix(s, "-A "+chain), " ")
}

// Userdata of a native rule: nftnl's TLVs (type, length, value; at most
// 255 bytes each, NFT_USERDATA_MAXLEN = 256 bytes in all). The rule text
// goes in udataHostwallText TLVs, split where it is longer than one; the
// comment, when it fits beside it, in a UDATA_TYPE_COMMENT TLV as nft
// writes it (NUL-terminated), so that "nft list" shows it. nft skips
// TLV types it does not know.
const (
	udataHostwallText = 0xf0
	udataMaxLen       = 256
)

func nativeUserData(text string, comments []string) ([]byte, error) {
	var ud []byte
	rest := text
	for first := true; first || rest != ""; first = false {
		n := min(len(rest), 255)
		ud = append(ud, udataHostwallText, byte(n))
		ud = append(ud, rest[:n]...)
		rest = rest[n:]
	}
	if len(ud) > udataMaxLen {
		return nil, fmt.Errorf("%w: its text is %d bytes; nf_tables keeps at most %d bytes of rule userdata, where hostwall keeps it", ErrNoNativeForm, len(text), udataMaxLen)
	}
	if c := strings.Join(comments, " "); c != "" && len(c)+1 <= 255 && len(ud)+2+len(c)+1 <= udataMaxLen {
		ud = append(ud, udataComment, byte(len(c)+1))
		ud = append(ud, c...)
		ud = append(ud, 0)
	}
	return ud, nil
}

// nativeText returns the rule text kept in native userdata.
func nativeText(ud []byte) (string, error) {
	var b strings.Builder
	found := false
	for len(ud) > 0 {
		if len(ud) < 2 || int(ud[1]) > len(ud)-2 {
			return "", foreign("userdata: truncated TLV")
		}
		typ, v := ud[0], ud[2:2+int(ud[1])]
		ud = ud[2+int(ud[1]):]
		if typ == udataHostwallText {
			found = true
			b.Write(v)
		}
	}
	if !found {
		return "", foreign("no hostwall rule text in its userdata")
	}
	return b.String(), nil
}

// Values of the kernel's conntrack and reject UAPI the native encoder uses.
const (
	ctStateInvalid   = 1 << 0 // the same bits in xt_conntrack and ct state
	ctStateEst       = 1 << 1
	ctStateRel       = 1 << 2
	ctStateNew       = 1 << 3
	ctStateUntracked = 1 << 8

	ctDirOriginal = 0
	ctDirReply    = 1
)

// nativeMatchExprs returns the native expressions of a match, nil for a
// match written as nft_compat.
func nativeMatchExprs(f *xtables.Family, h *xtables.Header, m *xtables.Match) ([]Expr, error) {
	switch {
	case (m.Name == "tcp" || m.Name == "udp") && m.Revision == 0 && len(m.Data) >= 12:
		return nativeTH(h, m)
	case m.Name == "limit" && m.Revision == 0:
		rate, err := ext.UnmarshalRateInfo(m.Data)
		if err != nil {
			return nil, nil
		}
		e := limitExprs(rate)
		if e == nil {
			return nil, nil
		}
		if l := e[0].(*Limit); l.Rate*uint64(rate.Avg) != l.Unit*ext.LimitScale {
			return nil, nil // the rate does not convert exactly
		}
		return e, nil
	case m.Name == "mark" && m.Revision == 1:
		mark, err := ext.UnmarshalMarkInfo(m.Data)
		if err != nil {
			return nil, nil
		}
		return markExprs(mark), nil
	case m.Name == "conntrack" && (m.Revision == 2 || m.Revision == 3):
		ct, err := ext.UnmarshalConntrack(m.Data, m.Revision)
		if err != nil {
			return nil, nil
		}
		return ctExprs(f, ct, m.Revision), nil
	case m.Name == "icmp" && f == xtables.IPv4 && m.Revision == 0,
		m.Name == "icmp6" && f == xtables.IPv6 && m.Revision == 0:
		icmp, err := ext.UnmarshalICMP(m.Data)
		if err != nil {
			return nil, nil
		}
		return icmpExprs(m.Name == "icmp", icmp), nil
	case m.Name == "pkttype" && m.Revision == 0:
		p, err := ext.UnmarshalPktType(m.Data)
		if err != nil || uint32(p.Type) > 0xff || uint32(p.Invert) > 1 {
			return nil, nil
		}
		return []Expr{
			&Meta{Key: unix.NFT_META_PKTTYPE, Reg: unix.NFT_REG_1},
			&Cmp{Op: cmpOp(p.Invert != 0), Reg: unix.NFT_REG_1, Data: []byte{byte(p.Type)}},
		}, nil
	}
	return nil, nil
}

// nativeTH is tcp/udp as "tcp flags", "tcp sport", "tcp dport": each
// port on its own (iptables-nft 1.8.9's merged compare of two inverted
// ports is not copied). An option match, an unknown inversion bit, an
// inverted full or an empty port range, and the option-less "-m tcp"
// stay nft_compat.
func nativeTH(h *xtables.Header, m *xtables.Match) ([]Expr, error) {
	th, ok, err := unpackTH(m)
	if err != nil || !ok {
		return nil, nil
	}
	spts, dpts, inv, proto := th.spts, th.dpts, th.inv, th.proto
	if h.Proto != proto || h.InvFlags&xtables.InvProto != 0 {
		return nil, nil
	}
	var out []Expr
	if m.Name == "tcp" && (th.flagMask != 0 || th.flagCmp != 0) {
		out = th.appendFlags(out)
	} else if inv&ext.TCPInvFlags != 0 && m.Name == "tcp" {
		return nil, nil // "! --tcp-flags NONE NONE" matches nothing
	}
	for _, p := range []struct {
		off uint32
		pts [2]uint16
		inv bool
	}{{thSport, spts, inv&ext.TCPInvSrcPort != 0}, {thDport, dpts, inv&ext.TCPInvDstPort != 0}} {
		full := p.pts[0] == 0 && p.pts[1] == 0xffff
		switch {
		case p.pts[0] > p.pts[1], full && p.inv:
			return nil, nil
		case full:
			continue
		}
		out = appendPortRange(out, p.off, p.pts, p.inv)
	}
	return out, nil
}

// icmpExprs is ipt_icmp / ip6t_icmp as "icmp type", "icmp code":
// type and code in one compare when the code is one value, the type
// alone when every code matches. "--icmp-type any" needs no expression
// beyond -p icmp. An inverted code range has no single native compare.
func icmpExprs(v4 bool, c *ext.ICMP) []Expr {
	typ, lo, hi, inv := c.Type, c.CodeMin, c.CodeMax, c.InvFlags
	if inv&^1 != 0 || lo > hi {
		return nil
	}
	neg := inv != 0
	load := func(off, n uint32) Expr {
		return &Payload{Base: unix.NFT_PAYLOAD_TRANSPORT_HEADER, Offset: off, Len: n, Reg: unix.NFT_REG_1}
	}
	switch {
	case v4 && typ == 0xff:
		if neg {
			return nil
		}
		return []Expr{}
	case lo == 0 && hi == 0xff:
		return []Expr{load(0, 1), &Cmp{Op: cmpOp(neg), Reg: unix.NFT_REG_1, Data: []byte{typ}}}
	case lo == hi:
		return []Expr{load(0, 2), &Cmp{Op: cmpOp(neg), Reg: unix.NFT_REG_1, Data: []byte{typ, lo}}}
	case neg:
		return nil
	}
	return []Expr{
		load(0, 1), &Cmp{Op: unix.NFT_CMP_EQ, Reg: unix.NFT_REG_1, Data: []byte{typ}},
		load(1, 1), &Range{Op: unix.NFT_RANGE_EQ, Reg: unix.NFT_REG_1, From: []byte{lo}, To: []byte{hi}},
	}
}

// ctExprs is xt_conntrack revision 2 or 3 (and "-m state", its alias) as
// ct expressions: state, original protocol, tuple addresses and ports,
// status, each an AND of the others as in conntrack_mt. It returns nil
// (nft_compat) for --ctdir and --ctexpire, the SNAT/DNAT pseudo-states,
// an address with a /0 mask, reversed port ranges, and a state that lets
// a packet without conntrack entry through together with other options:
// conntrack_mt then skips the other options, which ct cannot.
func ctExprs(f *xtables.Family, ct *ext.Conntrack, rev uint8) []Expr {
	ne := xtables.NativeEndian
	flags, inv := ct.MatchFlags, ct.InvFlags
	state, status := ct.State, ct.Status
	const known = ext.CTFlagState | ext.CTFlagProto | ext.CTFlagOrigSrc | ext.CTFlagOrigDst | ext.CTFlagReplSrc | ext.CTFlagReplDst |
		ext.CTFlagStatus | ext.CTFlagOrigSrcPort | ext.CTFlagOrigDstPort | ext.CTFlagReplSrcPort | ext.CTFlagReplDstPort | ext.CTFlagStateAlias
	if flags&^known != 0 || flags&^ext.CTFlagStateAlias == 0 {
		return nil
	}
	if flags&ext.CTFlagState != 0 && flags&^(ext.CTFlagState|ext.CTFlagStateAlias) != 0 &&
		(inv&ext.CTFlagState != 0 || state&(ctStateInvalid|ctStateUntracked) != 0) {
		return nil
	}
	var out []Expr
	bits := func(key uint32, mask uint32, neg bool) {
		m := ne.AppendUint32(nil, mask)
		op := uint32(unix.NFT_CMP_NEQ)
		if neg {
			op = unix.NFT_CMP_EQ
		}
		out = append(out,
			&Ct{Key: key, Reg: unix.NFT_REG_1},
			&Bitwise{SReg: unix.NFT_REG_1, DReg: unix.NFT_REG_1, Len: 4, Mask: m, Xor: make([]byte, 4)},
			&Cmp{Op: op, Reg: unix.NFT_REG_1, Data: make([]byte, 4)})
	}
	if flags&ext.CTFlagState != 0 {
		if state&^(ctStateInvalid|ctStateEst|ctStateRel|ctStateNew|ctStateUntracked) != 0 || state == 0 {
			return nil
		}
		bits(unix.NFT_CT_STATE, uint32(state), inv&ext.CTFlagState != 0)
	}
	if flags&ext.CTFlagProto != 0 {
		p := ct.L4Proto
		if p > 0xff {
			return nil
		}
		out = append(out,
			&Ct{Key: unix.NFT_CT_PROTOCOL, Reg: unix.NFT_REG_1, Dir: ctDirOriginal, HasDir: true},
			&Cmp{Op: cmpOp(inv&ext.CTFlagProto != 0), Reg: unix.NFT_REG_1, Data: []byte{byte(p)}})
	}
	alen := 4
	if f == xtables.IPv6 {
		alen = 16
	}
	for i, a := range []struct {
		flag uint16
		key  uint32
		dir  uint8
	}{
		{ext.CTFlagOrigSrc, unix.NFT_CT_SRC, ctDirOriginal}, {ext.CTFlagOrigDst, unix.NFT_CT_DST, ctDirOriginal},
		{ext.CTFlagReplSrc, unix.NFT_CT_SRC, ctDirReply}, {ext.CTFlagReplDst, unix.NFT_CT_DST, ctDirReply},
	} {
		if flags&a.flag == 0 {
			continue
		}
		addr, mask := ct.Addr[i][:alen], ct.Mask[i][:alen]
		if zero(mask) {
			return nil
		}
		want := make([]byte, alen)
		for j := range want {
			want[j] = addr[j] & mask[j]
		}
		out = append(out, &Ct{Key: a.key, Reg: unix.NFT_REG_1, Dir: a.dir, HasDir: true})
		if !bytes.Equal(mask, bytes.Repeat([]byte{0xff}, alen)) {
			out = append(out, &Bitwise{SReg: unix.NFT_REG_1, DReg: unix.NFT_REG_1, Len: uint32(alen),
				Mask: append([]byte{}, mask...), Xor: make([]byte, alen)})
		}
		out = append(out, &Cmp{Op: cmpOp(inv&a.flag != 0), Reg: unix.NFT_REG_1, Data: want})
	}
	for i, p := range []struct {
		flag uint16
		key  uint32
		dir  uint8
	}{
		{ext.CTFlagOrigSrcPort, unix.NFT_CT_PROTO_SRC, ctDirOriginal}, {ext.CTFlagOrigDstPort, unix.NFT_CT_PROTO_DST, ctDirOriginal},
		{ext.CTFlagReplSrcPort, unix.NFT_CT_PROTO_SRC, ctDirReply}, {ext.CTFlagReplDstPort, unix.NFT_CT_PROTO_DST, ctDirReply},
	} {
		if flags&p.flag == 0 {
			continue
		}
		lo, hi := ct.Port[i], ct.PortHigh[i]
		if rev < 3 {
			hi = lo // one port
		}
		if hi < lo {
			return nil
		}
		neg := inv&p.flag != 0
		out = append(out, &Ct{Key: p.key, Reg: unix.NFT_REG_1, Dir: p.dir, HasDir: true})
		from, to := []byte{byte(lo >> 8), byte(lo)}, []byte{byte(hi >> 8), byte(hi)}
		if lo == hi {
			out = append(out, &Cmp{Op: cmpOp(neg), Reg: unix.NFT_REG_1, Data: from})
			continue
		}
		op := uint32(unix.NFT_RANGE_EQ)
		if neg {
			op = unix.NFT_RANGE_NEQ
		}
		out = append(out, &Range{Op: op, Reg: unix.NFT_REG_1, From: from, To: to})
	}
	if flags&ext.CTFlagStatus != 0 {
		if status == 0 {
			return nil
		}
		bits(unix.NFT_CT_STATUS, uint32(status), inv&ext.CTFlagStatus != 0)
	}
	return out
}

// ICMP codes of the REJECT reply types (ipt_reject_with,
// ip6t_reject_with; -1: no native reply).
var (
	rejectCodes4 = []int{0: 0, 1: 1, 2: 2, 3: 3, 4: -1, 5: 9, 6: 10, 7: -1, 8: 13}
	rejectCodes6 = []int{0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: -1, 6: -1, 7: 5, 8: 6}
)

const (
	logFlagNFLOG = 0x10 // XT_LOG_NFLOG, which nft's log does not have
	logFlagsMask = 0x2f // NF_LOG_MASK
)

// nativeAction is the verdict or target after the counter: REJECT as
// reject (the kernel refuses the xt REJECT target in a table not named
// filter), LOG as log with a level, and the rest as EncodeRule writes
// it (verdicts, jumps, NFLOG as log group, TRACE; nft_compat otherwise).
func nativeAction(f *xtables.Family, r *xtables.Rule) ([]Expr, error) {
	t := &r.Target
	switch {
	case t.Name == "REJECT" && t.Revision == 0:
		rej, err := ext.UnmarshalReject(t.Data)
		if err != nil {
			break
		}
		codes := rejectCodes4
		if f == xtables.IPv6 {
			codes = rejectCodes6
		}
		if rej.TCPReset(f.Ext) {
			return []Expr{&Reject{Type: unix.NFT_REJECT_TCP_RST}}, nil
		}
		if with := rej.With; int(with) < len(codes) && codes[with] >= 0 {
			return []Expr{&Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: uint8(codes[with])}}, nil
		}
	case t.Name == "LOG" && t.Revision == 0:
		l, err := ext.UnmarshalLog(t.Data)
		if err != nil {
			break // no NUL in the prefix
		}
		flags := l.Flags
		if l.Level > 7 || flags&logFlagNFLOG != 0 || flags&^logFlagsMask != 0 {
			break
		}
		e := &Log{HasLevel: true, Level: uint32(l.Level)}
		if l.Prefix != "" {
			e.HasPrefix, e.Prefix = true, l.Prefix
		}
		if flags != 0 {
			e.HasFlags, e.Flags = true, uint32(flags)
		}
		return []Expr{e}, nil
	}
	return encodeAction(f, r)
}
