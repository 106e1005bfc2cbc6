package nft

import (
	"bytes"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
)

// ErrUnrepresentable is wrapped by EncodeRule's errors for a rule that
// iptables-nft 1.8.9 cannot store so that it reads back as the same rule.
var ErrUnrepresentable = errors.New("rule has no iptables-nft 1.8.9 form")

// EncodeRule returns the expressions iptables-nft 1.8.9 writes for a rule
// (nft_ipv4_add / nft_ipv6_add in iptables/nft-ipv4.c, nft-ipv6.c, and
// add_match / add_action in nft.c), in its order: input and output
// interface, protocol, source and destination address, fragment; the
// matches in order; a counter starting at r.Counters; the verdict or
// target. It also returns the NFTA_RULE_COMPAT to send with them.
//
// Native in 1.8.9 are interfaces, -p, addresses, -f, tcp and udp, limit,
// mark, counters, the standard verdicts, jumps and gotos, NFLOG (as log)
// and TRACE; every other match and target is an nft_compat expression
// holding the same payload as in x_tables.
//
// Where 1.8.9's native form would read back as a different rule, the
// match or target is written as nft_compat instead, which 1.8.9 reads
// back exactly: a second native tcp/udp match in one rule (1.8.9 merges
// them), "! --dport 0:N" (read back as N+1:65535), an inverted empty
// port range or flag set, --nflog-range, and limit rates that do not
// survive the rate/unit conversion. A rule that still cannot be read back
// as itself (a -j QUEUE, IPv6 "-p all", header bits iptables-nft has no
// expression for) is an error wrapping ErrUnrepresentable, so that
// DecodeRule(EncodeRule(r)) is always r.
func EncodeRule(f *xtables.Family, r *xtables.Rule) ([]Expr, Compat, error) {
	if f != xtables.IPv4 && f != xtables.IPv6 {
		return nil, Compat{}, fmt.Errorf("encode rule: family %v is not IPv4 or IPv6", f)
	}
	out, compat, err := encodeHeader(f, r)
	if err != nil {
		return nil, Compat{}, err
	}
	h := &r.Header

	nativeTH := false
	for i := range r.Matches {
		m := &r.Matches[i]
		native, err := nativeMatch(f, h, m, nativeTH)
		if err != nil {
			return nil, Compat{}, fmt.Errorf("match %d (%s): %w", i+1, m.Name, err)
		}
		if native != nil {
			out = append(out, native...)
			nativeTH = nativeTH || m.Name == "tcp" || m.Name == "udp"
			continue
		}
		out = append(out, &Match{Name: m.Name, Rev: uint32(m.Revision), Info: m.Data})
	}

	// The counter goes before the verdict: after it, nf_tables would
	// count only packets the verdict let through.
	out = append(out, &Counter{Packets: r.Counters.Packets, Bytes: r.Counters.Bytes})

	action, err := encodeAction(f, r)
	if err != nil {
		return nil, Compat{}, err
	}
	out = append(out, action...)

	back, err := DecodeRule(f, out, nil)
	if err != nil {
		return nil, Compat{}, fmt.Errorf("%w: %v", ErrUnrepresentable, err)
	}
	if !back.SameAs(r) {
		return nil, Compat{}, fmt.Errorf("%w: it would read back differently (header flags %#x/%#x, or bytes past an interface name)",
			ErrUnrepresentable, h.Flags, h.InvFlags)
	}
	return out, compat, nil
}

// encodeHeader is the header part of nft_ipv4_add / nft_ipv6_add: input
// and output interface, protocol, source and destination address,
// fragment; and the NFTA_RULE_COMPAT of the rule. The native backend
// writes the header the same way.
func encodeHeader(f *xtables.Family, r *xtables.Rule) ([]Expr, Compat, error) {
	h := &r.Header
	if f == xtables.IPv6 && h.Proto == 0 && h.Flags&f.ProtoFlag() != 0 {
		return nil, Compat{}, fmt.Errorf("%w: ip6tables-nft stores nothing for \"-p all\"; leave it out", ErrUnrepresentable)
	}
	var out []Expr
	if h.InIface[0] != 0 {
		out = appendIface(out, unix.NFT_META_IIFNAME, h.InIface, h.InvFlags&xtables.InvIn != 0)
	}
	if h.OutIface[0] != 0 {
		out = appendIface(out, unix.NFT_META_OIFNAME, h.OutIface, h.InvFlags&xtables.InvOut != 0)
	}
	if h.Proto != 0 {
		out = append(out,
			&Meta{Key: unix.NFT_META_L4PROTO, Reg: unix.NFT_REG_1},
			&Cmp{Op: cmpOp(h.InvFlags&xtables.InvProto != 0), Reg: unix.NFT_REG_1, Data: []byte{byte(h.Proto)}})
	}
	alen, srcOff, dstOff := 4, uint32(ip4Saddr), uint32(ip4Daddr)
	if f == xtables.IPv6 {
		alen, srcOff, dstOff = 16, ip6Saddr, ip6Daddr
	}
	if h.InvFlags&xtables.InvSrc != 0 && zero(h.SrcMask[:alen]) || h.InvFlags&xtables.InvDst != 0 && zero(h.DstMask[:alen]) {
		// add_addr would compare zero bytes, which the kernel refuses
		// (iptables-nft fails on "! -s 0.0.0.0/0" with EINVAL).
		return nil, Compat{}, fmt.Errorf("%w: an inverted /0 address (\"! -s 0.0.0.0/0\") is refused by nf_tables", ErrUnrepresentable)
	}
	if !zero(h.Src[:alen]) || !zero(h.SrcMask[:alen]) || h.InvFlags&xtables.InvSrc != 0 {
		out = appendAddr(out, srcOff, h.Src[:alen], h.SrcMask[:alen], h.InvFlags&xtables.InvSrc != 0)
	}
	if !zero(h.Dst[:alen]) || !zero(h.DstMask[:alen]) || h.InvFlags&xtables.InvDst != 0 {
		out = appendAddr(out, dstOff, h.Dst[:alen], h.DstMask[:alen], h.InvFlags&xtables.InvDst != 0)
	}
	if f == xtables.IPv4 && h.Flags&f.FragFlag() != 0 {
		// The 13 fragment offset bits of frag_off: non-zero in every
		// fragment but the first.
		out = append(out,
			&Payload{Base: unix.NFT_PAYLOAD_NETWORK_HEADER, Offset: ip4FragOff, Len: 2, Reg: unix.NFT_REG_1},
			&Bitwise{SReg: unix.NFT_REG_1, DReg: unix.NFT_REG_1, Len: 2, Mask: []byte{0x1f, 0xff}, Xor: []byte{0, 0}},
			&Cmp{Op: cmpOp(h.InvFlags&xtables.InvFrag == 0), Reg: unix.NFT_REG_1, Data: []byte{0, 0}})
	}
	compat := Compat{Proto: uint32(h.Proto)}
	if h.InvFlags&xtables.InvProto != 0 {
		compat.Flags = unix.NFT_RULE_COMPAT_F_INV
	}
	return out, compat, nil
}

func cmpOp(inv bool) uint32 {
	if inv {
		return unix.NFT_CMP_NEQ
	}
	return unix.NFT_CMP_EQ
}

func zero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// appendIface is add_iniface/add_outiface: the name with its NUL, or a
// wildcard's prefix without; "+" alone loads the name and compares
// nothing, and "! -i +" compares with a name no interface has.
func appendIface(out []Expr, key uint32, name [ifNameSize]byte, inv bool) []Expr {
	n := name[:]
	if i := bytes.IndexByte(n, 0); i >= 0 {
		n = n[:i]
	}
	out = append(out, &Meta{Key: key, Reg: unix.NFT_REG_1})
	switch {
	case n[len(n)-1] != '+':
		out = append(out, &Cmp{Op: cmpOp(inv), Reg: unix.NFT_REG_1, Data: append(append([]byte{}, n...), 0)})
	case len(n) > 1:
		out = append(out, &Cmp{Op: cmpOp(inv), Reg: unix.NFT_REG_1, Data: append([]byte{}, n[:len(n)-1]...)})
	case inv:
		out = append(out, &Cmp{Op: unix.NFT_CMP_EQ, Reg: unix.NFT_REG_1, Data: []byte(invalidIface + "\x00")})
	}
	return out
}

// appendAddr is add_addr: load only the bytes the mask covers whole when
// it is a byte prefix, else the whole address and a bitwise.
func appendAddr(out []Expr, off uint32, addr, mask []byte, inv bool) []Expr {
	n := len(mask)
	i, masked := 0, false
	for ; i < n; i++ {
		if mask[i] != 0xff {
			masked = mask[i] != 0
			break
		}
	}
	for j := i + 1; !masked && j < n; j++ {
		masked = mask[j] != 0
	}
	if !masked {
		n = i
	}
	out = append(out, &Payload{Base: unix.NFT_PAYLOAD_NETWORK_HEADER, Offset: off, Len: uint32(n), Reg: unix.NFT_REG_1})
	if masked {
		out = append(out, &Bitwise{SReg: unix.NFT_REG_1, DReg: unix.NFT_REG_1, Len: uint32(n),
			Mask: append([]byte{}, mask[:n]...), Xor: make([]byte, n)})
	}
	return append(out, &Cmp{Op: cmpOp(inv), Reg: unix.NFT_REG_1, Data: append([]byte{}, addr[:n]...)})
}

// nativeMatch returns the native expressions of a match iptables-nft 1.8.9
// writes natively, or nil for an nft_compat match.
func nativeMatch(f *xtables.Family, h *xtables.Header, m *xtables.Match, haveTH bool) ([]Expr, error) {
	var exprs []Expr
	switch {
	case m.Name == "limit" && m.Revision == 0:
		rate, err := ext.UnmarshalRateInfo(m.Data)
		if err != nil {
			return nil, nil
		}
		exprs = limitExprs(rate)
	case m.Name == "mark" && m.Revision == 1:
		mark, err := ext.UnmarshalMarkInfo(m.Data)
		if err != nil {
			return nil, nil
		}
		exprs = markExprs(mark)
	case (m.Name == "tcp" || m.Name == "udp") && m.Revision == 0 && len(m.Data) >= 12:
		var err error
		if exprs, err = thExprs(h, m); err != nil || exprs == nil {
			return nil, err
		}
		// 1.8.9 merges every native tcp/udp compare of a rule into one
		// match; a second one stays nft_compat to keep its own.
		if haveTH {
			return nil, nil
		}
	default:
		return nil, nil
	}
	if exprs == nil || !readsBackAs(f, h, exprs, m) {
		return nil, nil
	}
	return exprs, nil
}

// readsBackAs reports whether 1.8.9's reader turns the native expressions
// back into exactly m.
func readsBackAs(f *xtables.Family, h *xtables.Header, exprs []Expr, m *xtables.Match) bool {
	d := newDecoder(f)
	d.r.Header.Proto = h.Proto
	d.r.Header.InvFlags = h.InvFlags & xtables.InvProto
	for _, e := range exprs {
		if d.expr(e) != nil {
			return false
		}
	}
	if d.finish() != nil || len(d.r.Matches) != 1 {
		return false
	}
	got := &d.r.Matches[0]
	return got.Name == m.Name && got.Revision == m.Revision && bytes.Equal(got.Data, m.Data)
}

// limitExprs is add_nft_limit: the rate in the largest unit (day, hour,
// minute, second) that still divides evenly enough.
func limitExprs(rate *ext.RateInfo) []Expr {
	avg, burst := uint64(rate.Avg), rate.Burst
	if avg == 0 {
		return nil
	}
	mult := [...]uint64{ext.LimitScale * 24 * 60 * 60, ext.LimitScale * 60 * 60, ext.LimitScale * 60, ext.LimitScale}
	i := 1
	for ; i < len(mult); i++ {
		if avg > mult[i] || mult[i]/avg < mult[i]%avg {
			break
		}
	}
	return []Expr{&Limit{Rate: mult[i-1] / avg, Unit: mult[i-1] / ext.LimitScale, Burst: burst, Type: unix.NFT_LIMIT_PKTS}}
}

// markExprs is add_nft_mark: meta mark, a bitwise unless the mask is
// all ones, a compare; mark and mask in host order as meta holds them.
func markExprs(m *ext.MarkInfo) []Expr {
	ne := xtables.NativeEndian
	out := []Expr{&Meta{Key: unix.NFT_META_MARK, Reg: unix.NFT_REG_1}}
	if m.Mask != 0xffffffff {
		out = append(out, &Bitwise{SReg: unix.NFT_REG_1, DReg: unix.NFT_REG_1, Len: 4,
			Mask: ne.AppendUint32(nil, m.Mask), Xor: make([]byte, 4)})
	}
	return append(out, &Cmp{Op: cmpOp(m.Invert != 0), Reg: unix.NFT_REG_1, Data: ne.AppendUint32(nil, m.Mark)})
}

// thExprs is add_nft_tcp/add_nft_udp. It returns nil for the matches
// 1.8.9 writes as nft_compat: unknown inversion bits, a tcp option, and
// the all-default match (-p tcp -m tcp), which would otherwise vanish.
func thExprs(h *xtables.Header, m *xtables.Match) ([]Expr, error) {
	th, ok, err := unpackTH(m)
	if err != nil || !ok {
		return nil, err
	}
	spts, dpts, inv, proto := th.spts, th.dpts, th.inv, th.proto
	var out []Expr
	if h.Proto != proto {
		return nil, fmt.Errorf("%w: %s match requires \"-p %s\" (iptables-nft refuses it too)", ErrUnrepresentable, m.Name, m.Name)
	}
	if m.Name == "tcp" && th.flagMask != 0 {
		out = th.appendFlags(out)
	}
	invSrc, invDst := inv&ext.TCPInvSrcPort != 0, inv&ext.TCPInvDstPort != 0
	if spts[0] != 0 && spts[0] == spts[1] && dpts[0] != 0 && dpts[0] == dpts[1] && invSrc == invDst {
		// Both single ports in one 4-byte compare. With both inverted
		// this says "not both equal", which is not what "! --sport a
		// ! --dport b" means; iptables-nft 1.8.9 writes it so, and reads
		// it back as the rule it came from (fixed in 1.8.11).
		return append(out,
			&Payload{Base: unix.NFT_PAYLOAD_TRANSPORT_HEADER, Offset: thSport, Len: 4, Reg: unix.NFT_REG_1},
			&Cmp{Op: cmpOp(invSrc), Reg: unix.NFT_REG_1, Data: []byte{
				byte(spts[0] >> 8), byte(spts[0]), byte(dpts[0] >> 8), byte(dpts[0])}}), nil
	}
	if spts[0] != 0 || spts[1] < 0xffff {
		out = appendPortRange(out, thSport, spts, invSrc)
	}
	if dpts[0] != 0 || dpts[1] < 0xffff {
		out = appendPortRange(out, thDport, dpts, invDst)
	}
	return out, nil
}

// thMatch is what the nf_tables encoders read of a tcp or udp match.
type thMatch struct {
	proto                  uint16
	spts, dpts             [2]uint16
	inv, flagMask, flagCmp byte
}

// unpackTH reads a tcp or udp match's typed value. ok is false for what
// has no expressions and goes as nft_compat, as 1.8.9 writes it:
// inversion bits beyond the ports and flags, a tcp option, and the
// all-default match (-p tcp -m tcp), which would otherwise vanish.
func unpackTH(m *xtables.Match) (th thMatch, ok bool, err error) {
	if m.Name == "tcp" {
		t, err := ext.UnmarshalTCP(m.Data)
		if err != nil {
			return th, false, err
		}
		th = thMatch{protoTCP, t.SrcPorts, t.DstPorts, t.InvFlags, t.FlagMask, t.FlagCmp}
		return th, th.inv&^(ext.TCPInvSrcPort|ext.TCPInvDstPort|ext.TCPInvFlags) == 0 && t.Option == 0 && !t.AllDefault(), nil
	}
	u, err := ext.UnmarshalUDP(m.Data)
	if err != nil {
		return th, false, err
	}
	th = thMatch{proto: protoUDP, spts: u.SrcPorts, dpts: u.DstPorts, inv: u.InvFlags}
	return th, th.inv <= ext.UDPInvMask && !u.AllDefault(), nil
}

// appendFlags is --tcp-flags: the flags byte masked, then compared.
func (th thMatch) appendFlags(out []Expr) []Expr {
	return append(out,
		&Payload{Base: unix.NFT_PAYLOAD_TRANSPORT_HEADER, Offset: thTCPFlags, Len: 1, Reg: unix.NFT_REG_1},
		&Bitwise{SReg: unix.NFT_REG_1, DReg: unix.NFT_REG_1, Len: 1, Mask: []byte{th.flagMask}, Xor: []byte{0}},
		&Cmp{Op: cmpOp(th.inv&ext.TCPInvFlags != 0), Reg: unix.NFT_REG_1, Data: []byte{th.flagCmp}})
}

// appendPortRange is expr_gen_range_cmp16: one port as a compare, 0:N as
// "<= N", anything else as a range.
func appendPortRange(out []Expr, off uint32, pts [2]uint16, inv bool) []Expr {
	out = append(out, &Payload{Base: unix.NFT_PAYLOAD_TRANSPORT_HEADER, Offset: off, Len: 2, Reg: unix.NFT_REG_1})
	lo, hi := []byte{byte(pts[0] >> 8), byte(pts[0])}, []byte{byte(pts[1] >> 8), byte(pts[1])}
	switch {
	case pts[0] == pts[1]:
		return append(out, &Cmp{Op: cmpOp(inv), Reg: unix.NFT_REG_1, Data: lo})
	case pts[0] == 0 && pts[1] < 0xffff:
		op := uint32(unix.NFT_CMP_LTE)
		if inv {
			op = unix.NFT_CMP_GT
		}
		return append(out, &Cmp{Op: op, Reg: unix.NFT_REG_1, Data: hi})
	}
	op := uint32(unix.NFT_RANGE_EQ)
	if inv {
		op = unix.NFT_RANGE_NEQ
	}
	return append(out, &Range{Op: op, Reg: unix.NFT_REG_1, From: lo, To: hi})
}

// encodeAction is add_action: the verdict or target after the counter.
func encodeAction(f *xtables.Family, r *xtables.Rule) ([]Expr, error) {
	t := &r.Target
	if t.IsStandard() {
		switch {
		case t.Chain != "":
			code := int32(unix.NFT_JUMP)
			if r.IsGoto(f) {
				code = unix.NFT_GOTO
			}
			return []Expr{&Immediate{Reg: unix.NFT_REG_VERDICT, Verdict: code, Chain: t.Chain}}, nil
		case t.Verdict == xtables.VerdictAccept:
			return []Expr{&Immediate{Reg: unix.NFT_REG_VERDICT, Verdict: nfAccept}}, nil
		case t.Verdict == xtables.VerdictDrop:
			return []Expr{&Immediate{Reg: unix.NFT_REG_VERDICT, Verdict: nfDrop}}, nil
		case t.Verdict == xtables.VerdictReturn:
			return []Expr{&Immediate{Reg: unix.NFT_REG_VERDICT, Verdict: unix.NFT_RETURN}}, nil
		case t.Verdict == xtables.VerdictContinue:
			return nil, nil
		}
		return nil, fmt.Errorf("%w: verdict %d (use -j NFQUEUE for QUEUE)", ErrUnrepresentable, t.Verdict)
	}
	switch {
	case t.Name == "NFLOG" && t.Revision == 0 && len(t.Data) == 80:
		if e := nflogExpr(t.Data); e != nil {
			d := newDecoder(f)
			if d.expr(e) == nil && bytes.Equal(d.r.Target.Data, t.Data) {
				return []Expr{e}, nil
			}
		}
	case t.Name == "TRACE" && t.Revision == 0 && len(t.Data) == 0:
		// TRACE sets nftrace from a register holding 1 (add_meta_nftrace).
		return []Expr{
			&Immediate{Reg: unix.NFT_REG32_01, Data: []byte{1}},
			&Meta{Key: unix.NFT_META_NFTRACE, Reg: unix.NFT_REG32_01, Set: true},
		}, nil
	}
	return []Expr{&Target{Name: t.Name, Rev: uint32(t.Revision), Info: t.Data}}, nil
}

// nflogExpr is add_log: the group always, the prefix if any, the snap
// length only with XT_NFLOG_F_COPY_LEN, the queue threshold if non-zero.
// A payload whose prefix has no NUL has none (nil).
func nflogExpr(data []byte) *Log {
	n, err := ext.UnmarshalNFLog(data)
	if err != nil {
		return nil
	}
	e := &Log{HasGroup: true, Group: n.Group}
	if n.Prefix != "" {
		e.HasPrefix, e.Prefix = true, n.Prefix
	}
	if n.Flags&ext.NFLogCopyLen != 0 {
		e.HasSnaplen, e.Snaplen = true, n.Len
	}
	if n.Threshold != 0 {
		e.HasQThreshold, e.QThreshold = true, n.Threshold
	}
	return e
}
