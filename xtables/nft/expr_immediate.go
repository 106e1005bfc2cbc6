package nft

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Immediate loads a constant into a register. With Reg 0
// (NFT_REG_VERDICT) the constant is a verdict: Verdict is its code (NF_DROP
// 0, NF_ACCEPT 1, NFT_JUMP -3, NFT_GOTO -4, NFT_RETURN -5, ...) and Chain
// the target of a jump or goto. With any other Reg it is Data.
type Immediate struct {
	Reg     uint32
	Verdict int32
	Chain   string
	Data    []byte
}

func (*Immediate) exprName() string { return "immediate" }

func (e *Immediate) data() ([]byte, error) {
	ae := exprEncoder()
	ae.Uint32(unix.NFTA_IMMEDIATE_DREG, e.Reg)
	if e.Reg == unix.NFT_REG_VERDICT {
		if len(e.Data) != 0 {
			return nil, errors.New("verdict immediate with data")
		}
		putVerdict(ae, unix.NFTA_IMMEDIATE_DATA, e.Verdict, e.Chain)
	} else {
		if e.Verdict != 0 || e.Chain != "" {
			return nil, errors.New("data immediate with a verdict")
		}
		putValue(ae, unix.NFTA_IMMEDIATE_DATA, e.Data)
	}
	return ae.Encode()
}

func unmarshalImmediate(m attrMap) (Expr, error) {
	if err := m.only(unix.NFTA_IMMEDIATE_DREG, unix.NFTA_IMMEDIATE_DATA); err != nil {
		return nil, err
	}
	e := &Immediate{}
	var err error
	if e.Reg, err = m.u32(unix.NFTA_IMMEDIATE_DREG, "dreg"); err != nil {
		return nil, err
	}
	if e.Reg != unix.NFT_REG_VERDICT {
		if e.Data, err = m.value(unix.NFTA_IMMEDIATE_DATA, "data"); err != nil {
			return nil, err
		}
		return e, nil
	}
	d, ok := m[unix.NFTA_IMMEDIATE_DATA]
	if !ok {
		return nil, errors.New("missing data")
	}
	inner, err := fieldsOf(d)
	if err != nil {
		return nil, err
	}
	v, ok := inner[unix.NFTA_DATA_VERDICT]
	if !ok || len(inner) != 1 {
		return nil, errors.New("verdict register loaded with something other than a verdict")
	}
	if e.Verdict, e.Chain, err = verdictOf(v); err != nil {
		return nil, err
	}
	return e, nil
}
