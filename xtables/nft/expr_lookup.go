package nft

import "golang.org/x/sys/unix"

// Lookup tests register SReg against the set named Set (for a map, it
// loads the value into DReg). Only decoded, so that a rule holding one
// can be named; iptables-nft 1.8.9 writes none in ip and ip6 tables.
type Lookup struct {
	Set        string
	SReg, DReg uint32
	IsMap      bool
	Flags      uint32
}

func (*Lookup) exprName() string { return "lookup" }

func (e *Lookup) data() ([]byte, error) {
	ae := exprEncoder()
	ae.String(unix.NFTA_LOOKUP_SET, e.Set)
	ae.Uint32(unix.NFTA_LOOKUP_SREG, e.SReg)
	if e.IsMap {
		ae.Uint32(unix.NFTA_LOOKUP_DREG, e.DReg)
	}
	ae.Uint32(unix.NFTA_LOOKUP_FLAGS, e.Flags)
	return ae.Encode()
}

func unmarshalLookup(m attrMap) (Expr, error) {
	if err := m.only(unix.NFTA_LOOKUP_SET, unix.NFTA_LOOKUP_SREG, unix.NFTA_LOOKUP_DREG, unix.NFTA_LOOKUP_FLAGS); err != nil {
		return nil, err
	}
	e := &Lookup{}
	var err error
	if e.Set, err = m.str(unix.NFTA_LOOKUP_SET, "set"); err != nil {
		return nil, err
	}
	if e.SReg, err = m.u32(unix.NFTA_LOOKUP_SREG, "sreg"); err != nil {
		return nil, err
	}
	if e.IsMap = m.has(unix.NFTA_LOOKUP_DREG); e.IsMap {
		if e.DReg, err = m.u32(unix.NFTA_LOOKUP_DREG, "dreg"); err != nil {
			return nil, err
		}
	}
	if m.has(unix.NFTA_LOOKUP_FLAGS) {
		if e.Flags, err = m.u32(unix.NFTA_LOOKUP_FLAGS, "flags"); err != nil {
			return nil, err
		}
	}
	return e, nil
}
