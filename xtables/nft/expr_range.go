package nft

import "golang.org/x/sys/unix"

// Range checks From <= register Reg <= To (Op NFT_RANGE_EQ), or the
// opposite (NFT_RANGE_NEQ).
type Range struct {
	Op       uint32
	Reg      uint32
	From, To []byte
}

func (*Range) exprName() string { return "range" }

func (e *Range) data() ([]byte, error) {
	ae := exprEncoder()
	ae.Uint32(unix.NFTA_RANGE_SREG, e.Reg)
	ae.Uint32(unix.NFTA_RANGE_OP, e.Op)
	putValue(ae, unix.NFTA_RANGE_FROM_DATA, e.From)
	putValue(ae, unix.NFTA_RANGE_TO_DATA, e.To)
	return ae.Encode()
}

func unmarshalRange(m attrMap) (Expr, error) {
	if err := m.only(unix.NFTA_RANGE_SREG, unix.NFTA_RANGE_OP, unix.NFTA_RANGE_FROM_DATA, unix.NFTA_RANGE_TO_DATA); err != nil {
		return nil, err
	}
	e := &Range{}
	var err error
	if e.Reg, err = m.u32(unix.NFTA_RANGE_SREG, "sreg"); err != nil {
		return nil, err
	}
	if e.Op, err = m.u32(unix.NFTA_RANGE_OP, "op"); err != nil {
		return nil, err
	}
	if e.From, err = m.value(unix.NFTA_RANGE_FROM_DATA, "from"); err != nil {
		return nil, err
	}
	if e.To, err = m.value(unix.NFTA_RANGE_TO_DATA, "to"); err != nil {
		return nil, err
	}
	return e, nil
}
