package nft

import "golang.org/x/sys/unix"

// Limit is the limit expression: Rate per Unit seconds with Burst, of
// packets or bytes (Type NFT_LIMIT_PKTS or _BYTES); Flags NFT_LIMIT_F_INV
// inverts it.
type Limit struct {
	Rate, Unit  uint64
	Burst       uint32
	Type, Flags uint32
}

func (*Limit) exprName() string { return "limit" }

func (e *Limit) data() ([]byte, error) {
	ae := exprEncoder()
	ae.Uint64(unix.NFTA_LIMIT_RATE, e.Rate)
	ae.Uint64(unix.NFTA_LIMIT_UNIT, e.Unit)
	ae.Uint32(unix.NFTA_LIMIT_BURST, e.Burst)
	ae.Uint32(unix.NFTA_LIMIT_TYPE, e.Type)
	ae.Uint32(unix.NFTA_LIMIT_FLAGS, e.Flags)
	return ae.Encode()
}

func unmarshalLimit(m attrMap) (Expr, error) {
	if err := m.only(unix.NFTA_LIMIT_RATE, unix.NFTA_LIMIT_UNIT, unix.NFTA_LIMIT_BURST,
		unix.NFTA_LIMIT_TYPE, unix.NFTA_LIMIT_FLAGS, unix.NFTA_LIMIT_PAD); err != nil {
		return nil, err
	}
	e := &Limit{}
	var err error
	if e.Rate, err = m.u64(unix.NFTA_LIMIT_RATE, "rate"); err != nil {
		return nil, err
	}
	if e.Unit, err = m.u64(unix.NFTA_LIMIT_UNIT, "unit"); err != nil {
		return nil, err
	}
	if e.Burst, err = m.u32(unix.NFTA_LIMIT_BURST, "burst"); err != nil {
		return nil, err
	}
	if e.Type, err = m.u32(unix.NFTA_LIMIT_TYPE, "type"); err != nil {
		return nil, err
	}
	if e.Flags, err = m.u32(unix.NFTA_LIMIT_FLAGS, "flags"); err != nil {
		return nil, err
	}
	return e, nil
}
