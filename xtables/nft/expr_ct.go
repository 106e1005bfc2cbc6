package nft

import "golang.org/x/sys/unix"

// Ct is the ct expression in its load form: it loads a conntrack
// property (Key, an NFT_CT_* value) into register Reg. Keys of a tuple
// (addresses, ports, protocol) take a direction, which the kernel
// requires for them and dumps back; HasDir says whether it is sent.
// The set form (ct mark set ...) is kept as Unknown.
type Ct struct {
	Key    uint32
	Reg    uint32
	Dir    uint8
	HasDir bool
}

func (*Ct) exprName() string { return "ct" }

// data writes the attributes in the order nft_ct_get_dump puts them.
func (e *Ct) data() ([]byte, error) {
	ae := exprEncoder()
	ae.Uint32(unix.NFTA_CT_DREG, e.Reg)
	ae.Uint32(unix.NFTA_CT_KEY, e.Key)
	if e.HasDir {
		ae.Uint8(unix.NFTA_CT_DIRECTION, e.Dir)
	}
	return ae.Encode()
}

func unmarshalCt(m attrMap) (Expr, error) {
	if err := m.only(unix.NFTA_CT_DREG, unix.NFTA_CT_KEY, unix.NFTA_CT_DIRECTION); err != nil {
		return nil, err
	}
	if !m.has(unix.NFTA_CT_DREG) {
		return nil, errUnmodelled // ct ... set
	}
	e := &Ct{}
	var err error
	if e.Key, err = m.u32(unix.NFTA_CT_KEY, "key"); err != nil {
		return nil, err
	}
	if e.Reg, err = m.u32(unix.NFTA_CT_DREG, "dreg"); err != nil {
		return nil, err
	}
	if d, ok := m[unix.NFTA_CT_DIRECTION]; ok {
		if len(d) != 1 {
			return nil, errUnmodelled
		}
		e.Dir, e.HasDir = d[0], true
	}
	return e, nil
}
