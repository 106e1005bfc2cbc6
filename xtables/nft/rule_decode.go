package nft

import (
	"bytes"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/ext"
)

// DecodeRule turns a rule's expressions (and its NFTA_RULE_USERDATA) into
// the xtables rule iptables-nft 1.8.9 reads from them
// (nft_rule_to_iptables_command_state in iptables/nft-shared.c), with
// payloads byte-identical to what hostwall's rule parser builds for the
// same iptables text.
//
// Besides what EncodeRule writes, it reads what 1.8.9 also maps from
// other writers: IPv4 -p as a load of the protocol byte (iptables 1.8.10),
// a userdata comment (appended after the other matches), and the forms
// nft itself writes for interfaces, addresses, tcp/udp ports and flags,
// icmp types, ttl/hop limit, mark, pkttype, limit and NFLOG-style log.
//
// Everything else is an error wrapping ErrForeign: expressions 1.8.9
// calls incompatible, forms it misreads or silently drops (a set lookup,
// a cmp on a bitwise it ignores, a port compare on a non-tcp/udp rule),
// and forms it rejects. A malformed argument (nil expression, unknown
// family) is an error that does not wrap ErrForeign.
func DecodeRule(f *xtables.Family, exprs []Expr, userdata []byte) (*xtables.Rule, error) {
	if f != xtables.IPv4 && f != xtables.IPv6 {
		return nil, fmt.Errorf("decode rule: family %v is not IPv4 or IPv6", f)
	}
	d := newDecoder(f)
	for i, e := range exprs {
		if e == nil {
			return nil, fmt.Errorf("decode rule: expression %d is nil", i)
		}
		if err := d.expr(e); err != nil {
			return nil, fmt.Errorf("expression %d (%s): %w", i, e.exprName(), err)
		}
	}
	if err := d.finish(); err != nil {
		return nil, err
	}
	if err := d.userdata(userdata); err != nil {
		return nil, err
	}
	return d.r, nil
}

// regKind is what a register holds, as iptables' nft_xt_ctx_reg tracks it.
type regKind uint8

const (
	regNone regKind = iota
	regPayload
	regMeta
	regImmediate
)

type register struct {
	kind           regKind
	base, off, len uint32 // payload
	key            uint32 // meta
	data           []byte // immediate
	bitwise        bool
	mask           []byte
	// used: a cmp, range, bitwise or meta set read the register. 1.8.9
	// ignores a load nothing reads; hostwall reads only the one such
	// load iptables-nft writes (the lone meta of "-i +").
	used bool
}

// portState tracks which bounds of a tcp/udp port range have been set,
// so that a second compare of the same port, which 1.8.9 would merge
// lossily, is refused instead.
type portState struct{ eq, lo, hi bool }

type decoder struct {
	f    *xtables.Family
	r    *xtables.Rule
	regs [17]register

	th       int // index in r.Matches of the native tcp/udp match, -1 if none
	ports    [2]portState
	thFlags  bool
	seen     uint16 // header fields decoded, seen* bits
	final    bool   // a verdict or target was decoded: nothing may follow
	haveCtr  bool
	isGoto   bool
	noTarget bool
}

const (
	seenIn = 1 << iota
	seenOut
	seenProto
	seenSrc
	seenDst
	seenFrag
)

func newDecoder(f *xtables.Family) *decoder {
	return &decoder{f: f, r: &xtables.Rule{}, th: -1, noTarget: true}
}

// slot maps a register number to iptables 1.8.9's register slot
// (nft_xt_ctx_get_sreg), whose aliasing of 32-bit and 128-bit registers
// it copies.
func (d *decoder) slot(reg uint32) (*register, error) {
	switch {
	case reg <= unix.NFT_REG_4:
		if reg == unix.NFT_REG_VERDICT {
			return &d.regs[0], nil
		}
		return &d.regs[1+4*(reg-1)], nil
	case reg >= unix.NFT_REG32_00 && reg <= unix.NFT_REG32_15:
		return &d.regs[reg-unix.NFT_REG32_00], nil
	}
	return nil, foreign("unknown register %d", reg)
}

// dreg returns a register about to be written, after settling what it
// held.
func (d *decoder) dreg(reg uint32) (*register, error) {
	s, err := d.slot(reg)
	if err != nil {
		return nil, err
	}
	if err := d.settle(s); err != nil {
		return nil, err
	}
	*s = register{}
	return s, nil
}

// settle accounts for a register's content before it is overwritten or
// the rule ends: a meta iifname/oifname load nothing compared is
// iptables-nft's "-i +" / "-o +"; any other unread load is refused.
func (d *decoder) settle(s *register) error {
	if s.kind == regNone || s.used {
		return nil
	}
	if s.kind == regMeta && !s.bitwise && (s.key == unix.NFT_META_IIFNAME || s.key == unix.NFT_META_OIFNAME) {
		return d.setIface(s.key == unix.NFT_META_IIFNAME, "+", false)
	}
	return foreign("a register loaded and never read")
}

// sreg returns a register about to be read, which must hold something.
// Compares may read it again (nft writes "dport 1000-2000" as >= and <=
// on one load, and 1.8.9 applies both); what they set is checked for
// repeats field by field. A bitwise or meta set reads it once.
func (d *decoder) sreg(reg uint32, again bool) (*register, error) {
	s, err := d.slot(reg)
	if err != nil {
		return nil, err
	}
	if s.kind == regNone {
		return nil, foreign("register %d read before it is loaded", reg)
	}
	if s.used && !again {
		return nil, foreign("register %d read twice", reg)
	}
	s.used = true
	return s, nil
}

func (d *decoder) expr(e Expr) error {
	if d.final {
		return foreign("expression after the rule's verdict or target")
	}
	switch e := e.(type) {
	case *Counter:
		if d.haveCtr {
			return foreign("two counters")
		}
		d.haveCtr = true
		d.r.Counters = xtables.Counters{Packets: e.Packets, Bytes: e.Bytes}
	case *Payload:
		s, err := d.dreg(e.Reg)
		if err != nil {
			return err
		}
		*s = register{kind: regPayload, base: e.Base, off: e.Offset, len: e.Len}
	case *Meta:
		if e.Set {
			return d.metaSet(e)
		}
		s, err := d.dreg(e.Reg)
		if err != nil {
			return err
		}
		*s = register{kind: regMeta, key: e.Key}
	case *Bitwise:
		return d.bitwise(e)
	case *Cmp:
		return d.cmp(e)
	case *Range:
		return d.rangeExpr(e)
	case *Immediate:
		return d.immediate(e)
	case *Match:
		if e.Rev > 255 {
			return foreign("match %s revision %d", e.Name, e.Rev)
		}
		d.r.Matches = append(d.r.Matches, xtables.Match{Name: e.Name, Revision: uint8(e.Rev), Data: e.Info})
	case *Target:
		if e.Rev > 255 {
			return foreign("target %s revision %d", e.Name, e.Rev)
		}
		d.setTarget(xtables.Target{Name: e.Name, Revision: uint8(e.Rev), Data: e.Info})
	case *Limit:
		return d.limit(e)
	case *Log:
		return d.log(e)
	case *Lookup:
		return foreign("set lookup (iptables-nft 1.8.9 drops it when reading)")
	case *Ct, *Reject:
		return foreign("native expression %q", e.exprName())
	case *Unknown:
		return foreign("native expression %q", e.Name)
	default:
		return fmt.Errorf("unexpected expression type %T", e)
	}
	return nil
}

func (d *decoder) setTarget(t xtables.Target) {
	d.r.Target = t
	d.final = true
	d.noTarget = false
}

func (d *decoder) bitwise(e *Bitwise) error {
	s, err := d.sreg(e.SReg, false)
	if err != nil {
		return err
	}
	if s.kind == regImmediate || s.bitwise {
		return foreign("bitwise on an immediate or twice")
	}
	if len(e.Mask) > 16 {
		return foreign("bitwise mask of %d bytes", len(e.Mask))
	}
	// 1.8.9 keeps the mask and ignores the xor; a non-zero xor would be
	// lost.
	for _, c := range e.Xor {
		if c != 0 {
			return foreign("bitwise with a non-zero xor")
		}
	}
	n := *s
	n.used, n.bitwise, n.mask = false, true, e.Mask
	dst, err := d.dreg(e.DReg)
	if err != nil {
		return err
	}
	*dst = n
	return nil
}

func opIs(op uint32, ops ...uint32) bool {
	for _, o := range ops {
		if op == o {
			return true
		}
	}
	return false
}

func (d *decoder) cmp(e *Cmp) error {
	s, err := d.sreg(e.Reg, true)
	if err != nil {
		return err
	}
	switch s.kind {
	case regMeta:
		return d.cmpMeta(s, e)
	case regPayload:
		switch s.base {
		case unix.NFT_PAYLOAD_NETWORK_HEADER:
			return d.cmpNetwork(s, e)
		case unix.NFT_PAYLOAD_TRANSPORT_HEADER:
			return d.cmpTransport(s, e)
		}
		return foreign("compare of payload base %d", s.base)
	}
	return foreign("compare of an immediate")
}

func (d *decoder) once(bit uint16, what string) error {
	if d.seen&bit != 0 {
		return foreign("%s twice", what)
	}
	d.seen |= bit
	return nil
}

func (d *decoder) cmpMeta(s *register, e *Cmp) error {
	if !opIs(e.Op, unix.NFT_CMP_EQ, unix.NFT_CMP_NEQ) {
		return foreign("meta compare with op %d", e.Op)
	}
	inv := e.Op == unix.NFT_CMP_NEQ
	switch s.key {
	case unix.NFT_META_L4PROTO:
		if s.bitwise || len(e.Data) != 1 {
			return foreign("l4proto compare of %d bytes or with a bitwise", len(e.Data))
		}
		return d.setProto(e.Data[0], inv)
	case unix.NFT_META_IIFNAME, unix.NFT_META_OIFNAME:
		if s.bitwise {
			return foreign("interface name with a bitwise")
		}
		return d.ifaceCmp(s.key == unix.NFT_META_IIFNAME, e.Data, inv)
	case unix.NFT_META_MARK:
		if len(e.Data) != 4 {
			return foreign("mark compare of %d bytes", len(e.Data))
		}
		mask := []byte{0xff, 0xff, 0xff, 0xff}
		if s.bitwise {
			if len(s.mask) != 4 {
				return foreign("mark mask of %d bytes", len(s.mask))
			}
			mask = s.mask
		}
		// Mark and mask are in host order, as meta mark holds them.
		ne := xtables.NativeEndian
		m := ext.MarkInfo{Mark: ne.Uint32(e.Data), Mask: ne.Uint32(mask)}
		if inv {
			m.Invert = 1
		}
		d.r.Matches = append(d.r.Matches, xtables.Match{Name: "mark", Revision: 1, Data: m.Marshal()})
		return nil
	case unix.NFT_META_PKTTYPE:
		if s.bitwise || len(e.Data) != 1 {
			return foreign("pkttype compare of %d bytes or with a bitwise", len(e.Data))
		}
		p := ext.PktType{Type: int32(e.Data[0])}
		if inv {
			p.Invert = 1
		}
		d.r.Matches = append(d.r.Matches, xtables.Match{Name: "pkttype", Revision: 0, Data: p.Marshal()})
		return nil
	}
	// iif/oif need the host's ifindex table; bridge names mean something
	// else in an ip table.
	return foreign("meta key %d", s.key)
}

func (d *decoder) setProto(p byte, inv bool) error {
	if err := d.once(seenProto, "protocol"); err != nil {
		return err
	}
	if p == 0 {
		return foreign("protocol 0 compare (iptables reads it as no -p)")
	}
	h := &d.r.Header
	h.Proto = uint16(p)
	if inv {
		h.InvFlags |= xtables.InvProto
	}
	h.Flags |= d.f.ProtoFlag()
	return nil
}

// ifaceCmp reads an interface name compare as 1.8.9's parse_ifname and
// parse_invalid_iface do: a NUL-terminated name, a prefix without NUL
// for a "+" wildcard, and "INVAL/D" for "! -i +".
func (d *decoder) ifaceCmp(in bool, data []byte, inv bool) error {
	n := len(data)
	switch {
	case !inv && string(data) == invalidIface+"\x00":
		return d.setIface(in, "+", true)
	case data[n-1] == 0:
		if n > ifNameSize {
			return foreign("interface name of %d bytes", n)
		}
		return d.setIface(in, string(data[:n-1]), inv)
	default:
		// iptables appends "+" and a NUL; a longer prefix leaves its
		// mask unset.
		if n > ifNameSize-2 {
			return foreign("interface prefix of %d bytes", n)
		}
		return d.setIface(in, string(data)+"+", inv)
	}
}

// setIface stores an interface as hostwall's parser would for the same
// "-i" argument, so that a name it refuses is refused here too.
func (d *decoder) setIface(in bool, text string, inv bool) error {
	bit, what, invBit := uint16(seenIn), "input interface", uint8(xtables.InvIn)
	if !in {
		bit, what, invBit = seenOut, "output interface", xtables.InvOut
	}
	if err := d.once(bit, what); err != nil {
		return err
	}
	name, mask, err := ext.ParseInterface(text)
	if err != nil {
		return foreign("%s: %v", what, err)
	}
	h := &d.r.Header
	if in {
		h.InIface, h.InIfaceMask = name, mask
	} else {
		h.OutIface, h.OutIfaceMask = name, mask
	}
	if inv {
		h.InvFlags |= invBit
	}
	return nil
}

func (d *decoder) cmpNetwork(s *register, e *Cmp) error {
	if !opIs(e.Op, unix.NFT_CMP_EQ, unix.NFT_CMP_NEQ) && !d.isHopLimit(s) {
		return foreign("network header compare with op %d", e.Op)
	}
	inv := e.Op == unix.NFT_CMP_NEQ
	if d.f == xtables.IPv4 {
		switch s.off {
		case ip4Saddr, ip4Daddr:
			return d.addr(s.off == ip4Saddr, s, e, 4, inv)
		case ip4Protocol:
			if s.bitwise || s.len != 1 || len(e.Data) != 1 {
				return foreign("protocol load of %d bytes or with a bitwise", s.len)
			}
			return d.setProto(e.Data[0], inv)
		case ip4FragOff:
			return d.frag(s, e)
		case ip4TTL:
			return d.hopLimit(s, e, "ttl")
		}
	} else {
		switch s.off {
		case ip6Saddr, ip6Daddr:
			return d.addr(s.off == ip6Saddr, s, e, 16, inv)
		case ip6HopLimit:
			return d.hopLimit(s, e, "hl")
		}
		// 1.8.9 reads ip6 nexthdr as -p and as an hl match both.
	}
	return foreign("network header offset %d", s.off)
}

func (d *decoder) isHopLimit(s *register) bool {
	if d.f == xtables.IPv4 {
		return s.off == ip4TTL
	}
	return s.off == ip6HopLimit
}

func (d *decoder) addr(src bool, s *register, e *Cmp, alen uint32, inv bool) error {
	bit, what, invBit := uint16(seenSrc), "source address", uint8(xtables.InvSrc)
	if !src {
		bit, what, invBit = seenDst, "destination address", xtables.InvDst
	}
	if err := d.once(bit, what); err != nil {
		return err
	}
	var addr, mask [16]byte
	if int(s.len) != len(e.Data) {
		return foreign("%s: %d-byte load compared with %d bytes", what, s.len, len(e.Data))
	}
	if s.bitwise {
		if s.len != alen || len(s.mask) != int(alen) {
			return foreign("%s: masked load of %d bytes", what, s.len)
		}
		copy(mask[:], s.mask)
	} else {
		if s.len > alen {
			return foreign("%s: load of %d bytes", what, s.len)
		}
		for i := uint32(0); i < s.len; i++ {
			mask[i] = 0xff
		}
	}
	copy(addr[:], e.Data)
	h := &d.r.Header
	if src {
		h.Src, h.SrcMask = addr, mask
	} else {
		h.Dst, h.DstMask = addr, mask
	}
	if inv {
		h.InvFlags |= invBit
	}
	return nil
}

// frag accepts only the form iptables-nft writes for -f: the fragment
// offset bits of frag_off compared with zero.
func (d *decoder) frag(s *register, e *Cmp) error {
	if err := d.once(seenFrag, "fragment"); err != nil {
		return err
	}
	if s.len != 2 || !s.bitwise || !bytes.Equal(s.mask, []byte{0x1f, 0xff}) || !bytes.Equal(e.Data, []byte{0, 0}) {
		return foreign("frag_off compare not in iptables' -f form")
	}
	h := &d.r.Header
	h.Flags |= d.f.FragFlag()
	if e.Op == unix.NFT_CMP_EQ {
		h.InvFlags |= xtables.InvFrag
	}
	return nil
}

// hopLimit maps a ttl (IPv4) or hop limit (IPv6) compare to the ttl or
// hl match as 1.8.9's nft_parse_hl does: <= and >= become < and > of
// the next value.
func (d *decoder) hopLimit(s *register, e *Cmp, name string) error {
	if s.bitwise || s.len != 1 || len(e.Data) != 1 {
		return foreign("%s load of %d bytes or with a bitwise", name, s.len)
	}
	v := e.Data[0]
	// ipt_ttl_info / ip6t_hl_info modes: EQ 0, NE 1, LT 2, GT 3.
	var mode byte
	switch e.Op {
	case unix.NFT_CMP_EQ:
		mode = 0
	case unix.NFT_CMP_NEQ:
		mode = 1
	case unix.NFT_CMP_LT:
		mode = 2
	case unix.NFT_CMP_GT:
		mode = 3
	case unix.NFT_CMP_LTE:
		if v == 255 {
			return foreign("%s <= 255", name)
		}
		mode, v = 2, v+1
	case unix.NFT_CMP_GTE:
		if v == 0 {
			return foreign("%s >= 0", name)
		}
		mode, v = 3, v-1
	default:
		return foreign("%s compare with op %d", name, e.Op)
	}
	data := make([]byte, 8)
	data[0], data[1] = mode, v
	d.r.Matches = append(d.r.Matches, xtables.Match{Name: name, Revision: 0, Data: data})
	return nil
}

// l4 returns the rule's protocol for a transport header compare, which
// 1.8.9 takes from -p: it must come first and not be inverted.
func (d *decoder) l4() (uint16, error) {
	h := &d.r.Header
	if h.Proto == 0 {
		return 0, foreign("transport header compare without a protocol before it")
	}
	if h.InvFlags&xtables.InvProto != 0 {
		return 0, foreign("transport header compare with an inverted protocol")
	}
	return h.Proto, nil
}

// thMatch returns the payload of the rule's native tcp or udp match,
// creating it with the defaults of tcp_init/udp_init on first use: all
// native transport compares of a rule go into one match, as in 1.8.9.
func (d *decoder) thMatch(proto uint16) []byte {
	if d.th < 0 {
		data := make([]byte, 16)
		xtables.NativeEndian.PutUint16(data[2:], 0xffff)
		xtables.NativeEndian.PutUint16(data[6:], 0xffff)
		name := "tcp"
		if proto == protoUDP {
			name = "udp"
		}
		d.th = len(d.r.Matches)
		d.r.Matches = append(d.r.Matches, xtables.Match{Name: name, Revision: 0, Data: data})
	}
	return d.r.Matches[d.th].Data
}

func thInvOffset(proto uint16) int {
	if proto == protoUDP {
		return 8 // xt_udp.invflags
	}
	return 11 // xt_tcp.invflags
}

func (d *decoder) cmpTransport(s *register, e *Cmp) error {
	proto, err := d.l4()
	if err != nil {
		return err
	}
	if int(s.len) != len(e.Data) {
		return foreign("%d-byte transport load compared with %d bytes", s.len, len(e.Data))
	}
	switch {
	case proto == protoICMP && d.f == xtables.IPv4, proto == protoICMPv6 && d.f == xtables.IPv6:
		return d.icmp(s, e)
	case proto != protoTCP && proto != protoUDP:
		return foreign("transport header compare for protocol %d", proto)
	}
	if s.off == thTCPFlags && s.len == 1 && proto == protoTCP {
		return d.tcpFlags(s, e)
	}
	if s.bitwise {
		return foreign("port compare with a bitwise")
	}
	switch {
	case s.off == thSport && s.len == 2:
		return d.port(proto, 0, e.Op, be16(e.Data))
	case s.off == thSport && s.len == 4:
		if err := d.port(proto, 0, e.Op, be16(e.Data[0:])); err != nil {
			return err
		}
		return d.port(proto, 1, e.Op, be16(e.Data[2:]))
	case s.off == thDport && s.len == 2:
		return d.port(proto, 1, e.Op, be16(e.Data))
	}
	return foreign("transport header load at %d of %d bytes", s.off, s.len)
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

// port applies one port compare as 1.8.9's port_match_single_to_range
// does; which is 0 for the source port, 1 for the destination.
func (d *decoder) port(proto uint16, which int, op uint32, p uint16) error {
	data := d.thMatch(proto)
	off := 4 * which
	st := &d.ports[which]
	lo, hi := off, off+2
	switch op {
	case unix.NFT_CMP_EQ, unix.NFT_CMP_NEQ:
		if st.eq || st.lo || st.hi {
			return foreign("a port compared twice")
		}
		st.eq = true
		xtables.NativeEndian.PutUint16(data[lo:], p)
		xtables.NativeEndian.PutUint16(data[hi:], p)
		if op == unix.NFT_CMP_NEQ {
			data[thInvOffset(proto)] |= byte(1 << which)
		}
	case unix.NFT_CMP_LT, unix.NFT_CMP_LTE:
		if st.eq || st.hi || (op == unix.NFT_CMP_LT && p <= 1) {
			return foreign("port upper bound compared twice or below 1")
		}
		st.hi = true
		if op == unix.NFT_CMP_LT {
			p--
		}
		xtables.NativeEndian.PutUint16(data[hi:], p)
	case unix.NFT_CMP_GT, unix.NFT_CMP_GTE:
		if st.eq || st.lo || (op == unix.NFT_CMP_GT && p == 0xffff) {
			return foreign("port lower bound compared twice or above 65535")
		}
		st.lo = true
		if op == unix.NFT_CMP_GT {
			p++
		}
		xtables.NativeEndian.PutUint16(data[lo:], p)
	default:
		return foreign("port compare with op %d", op)
	}
	return nil
}

func (d *decoder) tcpFlags(s *register, e *Cmp) error {
	if !opIs(e.Op, unix.NFT_CMP_EQ, unix.NFT_CMP_NEQ) {
		return foreign("tcp flags compare with op %d", e.Op)
	}
	if d.thFlags {
		return foreign("tcp flags compared twice")
	}
	d.thFlags = true
	mask := byte(0xff)
	if s.bitwise {
		if len(s.mask) != 1 {
			return foreign("tcp flags mask of %d bytes", len(s.mask))
		}
		mask = s.mask[0]
	}
	data := d.thMatch(protoTCP)
	data[9], data[10] = mask, e.Data[0]
	if e.Op == unix.NFT_CMP_NEQ {
		data[11] |= ext.TCPInvFlags
	}
	return nil
}

// icmp maps an icmp type (and code) compare to the icmp or icmp6 match
// as 1.8.9's nft_parse_icmp does; it ignores the operator, so only
// equality is read.
func (d *decoder) icmp(s *register, e *Cmp) error {
	if s.bitwise || s.off != 0 || (s.len != 1 && s.len != 2) || e.Op != unix.NFT_CMP_EQ {
		return foreign("icmp compare at %d of %d bytes with op %d", s.off, s.len, e.Op)
	}
	name := "icmp"
	if d.f == xtables.IPv6 {
		name = "icmp6"
		if e.Data[0] == 0xff {
			return foreign("icmp6 type 255")
		}
	}
	c := ext.ICMP{Type: e.Data[0], CodeMin: 0, CodeMax: 0xff}
	if s.len == 2 {
		c.CodeMin, c.CodeMax = e.Data[1], e.Data[1]
	}
	d.r.Matches = append(d.r.Matches, xtables.Match{Name: name, Revision: 0, Data: c.Marshal()})
	return nil
}

func (d *decoder) rangeExpr(e *Range) error {
	s, err := d.sreg(e.Reg, true)
	if err != nil {
		return err
	}
	if s.kind != regPayload || s.base != unix.NFT_PAYLOAD_TRANSPORT_HEADER || s.bitwise {
		return foreign("range on something other than a transport header load")
	}
	proto, err := d.l4()
	if err != nil {
		return err
	}
	if proto != protoTCP && proto != protoUDP {
		return foreign("port range for protocol %d", proto)
	}
	if s.len != 2 || len(e.From) != 2 || len(e.To) != 2 || (s.off != thSport && s.off != thDport) {
		return foreign("range at %d of %d bytes", s.off, s.len)
	}
	if !opIs(e.Op, unix.NFT_RANGE_EQ, unix.NFT_RANGE_NEQ) {
		return foreign("range with op %d", e.Op)
	}
	which := 0
	if s.off == thDport {
		which = 1
	}
	st := &d.ports[which]
	if st.eq || st.lo || st.hi {
		return foreign("a port compared twice")
	}
	st.eq = true
	data := d.thMatch(proto)
	xtables.NativeEndian.PutUint16(data[4*which:], be16(e.From))
	xtables.NativeEndian.PutUint16(data[4*which+2:], be16(e.To))
	if e.Op == unix.NFT_RANGE_NEQ {
		data[thInvOffset(proto)] |= byte(1 << which)
	}
	return nil
}

func (d *decoder) immediate(e *Immediate) error {
	if e.Reg != unix.NFT_REG_VERDICT {
		if len(e.Data) > 16 {
			return foreign("immediate of %d bytes", len(e.Data))
		}
		s, err := d.dreg(e.Reg)
		if err != nil {
			return err
		}
		*s = register{kind: regImmediate, data: e.Data}
		return nil
	}
	t := xtables.Target{}
	switch e.Verdict {
	case nfAccept:
		t.Verdict = xtables.VerdictAccept
	case nfDrop:
		t.Verdict = xtables.VerdictDrop
	case unix.NFT_RETURN:
		t.Verdict = xtables.VerdictReturn
	case unix.NFT_JUMP, unix.NFT_GOTO:
		if e.Chain == "" {
			return foreign("jump without a chain")
		}
		t.Chain = e.Chain
		d.isGoto = e.Verdict == unix.NFT_GOTO
	default:
		return foreign("verdict %d", e.Verdict)
	}
	if e.Chain != "" && t.Chain == "" {
		return foreign("verdict %d with a chain", e.Verdict)
	}
	d.setTarget(t)
	return nil
}

// metaSet reads iptables-nft's TRACE: "meta set nftrace" from a register
// holding 1. Any other meta set is what 1.8.9 refuses ("meta sreg key not
// supported").
func (d *decoder) metaSet(e *Meta) error {
	if e.Key != unix.NFT_META_NFTRACE {
		return foreign("meta set of key %d", e.Key)
	}
	s, err := d.sreg(e.Reg, false)
	if err != nil {
		return err
	}
	if s.kind != regImmediate || s.bitwise || !bytes.Equal(s.data, []byte{1}) {
		return foreign("meta set nftrace from something other than the constant 1")
	}
	d.setTarget(xtables.Target{Name: "TRACE", Revision: 0})
	return nil
}

// limit maps the limit expression to the limit match as 1.8.9's
// nft_parse_limit does: avg = XT_LIMIT_SCALE * unit / rate.
func (d *decoder) limit(e *Limit) error {
	if e.Type != unix.NFT_LIMIT_PKTS || e.Flags != 0 {
		return foreign("limit of type %d flags %d", e.Type, e.Flags)
	}
	if e.Rate == 0 || e.Unit > (1<<64-1)/ext.LimitScale {
		return foreign("limit rate %d per %d s", e.Rate, e.Unit)
	}
	avg := ext.LimitScale * e.Unit / e.Rate
	if avg == 0 || avg > 1<<32-1 {
		return foreign("limit rate %d per %d s out of the limit match's range", e.Rate, e.Unit)
	}
	rate := ext.RateInfo{Avg: uint32(avg), Burst: e.Burst}
	d.r.Matches = append(d.r.Matches, xtables.Match{Name: "limit", Revision: 0, Data: rate.Marshal()})
	return nil
}

// log maps a log with a group to the NFLOG target as 1.8.9's
// nft_parse_log does. 1.8.9 calls a log without a group incompatible.
func (d *decoder) log(e *Log) error {
	if !e.HasGroup || e.HasLevel || e.HasFlags {
		return foreign("log without a group, or with a level or flags")
	}
	// 1.8.9 keeps prefixes longer than xt_nflog_info's 63 bytes in a
	// wider struct of its own; hostwall's NFLOG payload cannot.
	if len(e.Prefix) > 63 {
		return foreign("log prefix of %d bytes", len(e.Prefix))
	}
	n := ext.NFLog{Group: e.Group, Threshold: e.QThreshold, Prefix: e.Prefix}
	if e.HasSnaplen {
		n.Len, n.Flags = e.Snaplen, ext.NFLogCopyLen
	}
	data, err := n.Marshal()
	if err != nil {
		return foreign("log prefix %q: %v", e.Prefix, err)
	}
	d.setTarget(xtables.Target{Name: "NFLOG", Revision: 0, Data: data})
	return nil
}

func (d *decoder) finish() error {
	for i := range d.regs {
		if err := d.settle(&d.regs[i]); err != nil {
			return err
		}
	}
	r := d.r
	if d.noTarget {
		r.Target = xtables.Target{Verdict: xtables.VerdictContinue}
	}
	if d.isGoto {
		r.Header.Flags |= d.f.GotoFlag()
	}
	return nil
}

// userdata reads NFTA_RULE_USERDATA as 1.8.9's get_comment does: TLV
// records (__u8 type, __u8 len, value) of which type 0 is a NUL-terminated
// comment, which becomes a comment match after all others. Anything else
// there is not iptables'.
func (d *decoder) userdata(b []byte) error {
	var comment []byte
	found := false
	for len(b) > 0 {
		if len(b) < 2 || int(b[1]) > len(b)-2 {
			return foreign("malformed rule userdata")
		}
		typ, val := b[0], b[2:2+int(b[1])]
		b = b[2+int(b[1]):]
		if typ != udataComment || found {
			return foreign("rule userdata record of type %d", typ)
		}
		if len(val) == 0 || val[len(val)-1] != 0 || bytes.IndexByte(val, 0) != len(val)-1 {
			return foreign("rule comment not a NUL-terminated string")
		}
		comment, found = val[:len(val)-1], true
	}
	if !found {
		return nil
	}
	c := ext.Comment{Text: string(comment)}
	data, err := c.Marshal()
	if err != nil {
		return foreign("rule comment: %v", err)
	}
	d.r.Matches = append(d.r.Matches, xtables.Match{Name: "comment", Revision: 0, Data: data})
	return nil
}
