package nft

import "golang.org/x/sys/unix"

// Reject is the reject expression: Type is NFT_REJECT_ICMP_UNREACH (an
// ICMP or ICMPv6 destination unreachable with Code, per the table's
// family), NFT_REJECT_TCP_RST or NFT_REJECT_ICMPX_UNREACH. The kernel
// dumps the code only for the ICMP types; so does data.
type Reject struct {
	Type uint32
	Code uint8
}

func (*Reject) exprName() string { return "reject" }

func (e *Reject) data() ([]byte, error) {
	ae := exprEncoder()
	ae.Uint32(unix.NFTA_REJECT_TYPE, e.Type)
	if e.Type != unix.NFT_REJECT_TCP_RST {
		ae.Uint8(unix.NFTA_REJECT_ICMP_CODE, e.Code)
	}
	return ae.Encode()
}

func unmarshalReject(m attrMap) (Expr, error) {
	if err := m.only(unix.NFTA_REJECT_TYPE, unix.NFTA_REJECT_ICMP_CODE); err != nil {
		return nil, err
	}
	e := &Reject{}
	var err error
	if e.Type, err = m.u32(unix.NFTA_REJECT_TYPE, "type"); err != nil {
		return nil, err
	}
	c, ok := m[unix.NFTA_REJECT_ICMP_CODE]
	switch {
	case e.Type == unix.NFT_REJECT_TCP_RST && ok, e.Type != unix.NFT_REJECT_TCP_RST && !ok:
		return nil, errUnmodelled
	case ok && len(c) != 1:
		return nil, errUnmodelled
	case ok:
		e.Code = c[0]
	}
	return e, nil
}
