package nft

import "golang.org/x/sys/unix"

// Payload is a payload load: Len bytes at Offset from the header Base
// (NFT_PAYLOAD_*_HEADER) into register Reg. Payload writes (with a
// source register and checksum fields) are kept as Unknown.
type Payload struct {
	Base, Offset, Len uint32
	Reg               uint32
}

func (*Payload) exprName() string { return "payload" }

func (e *Payload) data() ([]byte, error) {
	ae := exprEncoder()
	ae.Uint32(unix.NFTA_PAYLOAD_DREG, e.Reg)
	ae.Uint32(unix.NFTA_PAYLOAD_BASE, e.Base)
	ae.Uint32(unix.NFTA_PAYLOAD_OFFSET, e.Offset)
	ae.Uint32(unix.NFTA_PAYLOAD_LEN, e.Len)
	return ae.Encode()
}

func unmarshalPayload(m attrMap) (Expr, error) {
	if err := m.only(unix.NFTA_PAYLOAD_DREG, unix.NFTA_PAYLOAD_BASE, unix.NFTA_PAYLOAD_OFFSET, unix.NFTA_PAYLOAD_LEN); err != nil {
		return nil, err
	}
	e := &Payload{}
	var err error
	if e.Reg, err = m.u32(unix.NFTA_PAYLOAD_DREG, "dreg"); err != nil {
		return nil, err
	}
	if e.Base, err = m.u32(unix.NFTA_PAYLOAD_BASE, "base"); err != nil {
		return nil, err
	}
	if e.Offset, err = m.u32(unix.NFTA_PAYLOAD_OFFSET, "offset"); err != nil {
		return nil, err
	}
	if e.Len, err = m.u32(unix.NFTA_PAYLOAD_LEN, "len"); err != nil {
		return nil, err
	}
	return e, nil
}
