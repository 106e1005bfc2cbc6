package nft

import "golang.org/x/sys/unix"

// Cmp compares register Reg with Data by Op (NFT_CMP_EQ, NEQ, LT, LTE,
// GT, GTE); the rule stops here when the comparison fails.
type Cmp struct {
	Op   uint32
	Reg  uint32
	Data []byte
}

func (*Cmp) exprName() string { return "cmp" }

func (e *Cmp) data() ([]byte, error) {
	ae := exprEncoder()
	ae.Uint32(unix.NFTA_CMP_SREG, e.Reg)
	ae.Uint32(unix.NFTA_CMP_OP, e.Op)
	putValue(ae, unix.NFTA_CMP_DATA, e.Data)
	return ae.Encode()
}

func unmarshalCmp(m attrMap) (Expr, error) {
	if err := m.only(unix.NFTA_CMP_SREG, unix.NFTA_CMP_OP, unix.NFTA_CMP_DATA); err != nil {
		return nil, err
	}
	e := &Cmp{}
	var err error
	if e.Reg, err = m.u32(unix.NFTA_CMP_SREG, "sreg"); err != nil {
		return nil, err
	}
	if e.Op, err = m.u32(unix.NFTA_CMP_OP, "op"); err != nil {
		return nil, err
	}
	if e.Data, err = m.value(unix.NFTA_CMP_DATA, "data"); err != nil {
		return nil, err
	}
	return e, nil
}
