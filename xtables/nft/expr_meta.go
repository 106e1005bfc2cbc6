package nft

import "golang.org/x/sys/unix"

// Meta is the meta expression: it loads a packet property (Key, an
// NFT_META_* value) into register Reg, or, with Set, stores Reg into it
// (iptables-nft's TRACE is "meta set nftrace").
type Meta struct {
	Key uint32
	Reg uint32
	Set bool
}

func (*Meta) exprName() string { return "meta" }

func (e *Meta) data() ([]byte, error) {
	ae := exprEncoder()
	ae.Uint32(unix.NFTA_META_KEY, e.Key)
	if e.Set {
		ae.Uint32(unix.NFTA_META_SREG, e.Reg)
	} else {
		ae.Uint32(unix.NFTA_META_DREG, e.Reg)
	}
	return ae.Encode()
}

func unmarshalMeta(m attrMap) (Expr, error) {
	if err := m.only(unix.NFTA_META_KEY, unix.NFTA_META_DREG, unix.NFTA_META_SREG); err != nil {
		return nil, err
	}
	e := &Meta{}
	var err error
	if e.Key, err = m.u32(unix.NFTA_META_KEY, "key"); err != nil {
		return nil, err
	}
	switch {
	case m.has(unix.NFTA_META_DREG) && !m.has(unix.NFTA_META_SREG):
		e.Reg, err = m.u32(unix.NFTA_META_DREG, "dreg")
	case m.has(unix.NFTA_META_SREG) && !m.has(unix.NFTA_META_DREG):
		e.Set = true
		e.Reg, err = m.u32(unix.NFTA_META_SREG, "sreg")
	default:
		return nil, errUnmodelled
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}
