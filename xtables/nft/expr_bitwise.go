package nft

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Attributes of bitwise that golang.org/x/sys/unix does not name.
const (
	bitwiseAttrOp   = 6 // NFTA_BITWISE_OP
	bitwiseAttrData = 7 // NFTA_BITWISE_DATA
)

// Bitwise is the boolean form of the bitwise expression:
// DReg = (SReg & Mask) ^ Xor over Len bytes. Shifts and the
// register-to-register operations of newer kernels are kept as Unknown.
type Bitwise struct {
	SReg, DReg uint32
	Len        uint32
	Mask, Xor  []byte
}

func (*Bitwise) exprName() string { return "bitwise" }

// data leaves out NFTA_BITWISE_OP, as libnftnl does for the boolean
// operation (NFT_BITWISE_BOOL is the kernel's default).
func (e *Bitwise) data() ([]byte, error) {
	ae := exprEncoder()
	ae.Uint32(unix.NFTA_BITWISE_SREG, e.SReg)
	ae.Uint32(unix.NFTA_BITWISE_DREG, e.DReg)
	ae.Uint32(unix.NFTA_BITWISE_LEN, e.Len)
	putValue(ae, unix.NFTA_BITWISE_MASK, e.Mask)
	putValue(ae, unix.NFTA_BITWISE_XOR, e.Xor)
	return ae.Encode()
}

func unmarshalBitwise(m attrMap) (Expr, error) {
	if err := m.only(unix.NFTA_BITWISE_SREG, unix.NFTA_BITWISE_DREG, unix.NFTA_BITWISE_LEN,
		unix.NFTA_BITWISE_MASK, unix.NFTA_BITWISE_XOR, bitwiseAttrOp); err != nil {
		return nil, err
	}
	if m.has(bitwiseAttrOp) {
		op, err := m.u32(bitwiseAttrOp, "op")
		if err != nil {
			return nil, err
		}
		if op != unix.NFT_BITWISE_BOOL {
			return nil, errUnmodelled
		}
	}
	e := &Bitwise{}
	var err error
	if e.SReg, err = m.u32(unix.NFTA_BITWISE_SREG, "sreg"); err != nil {
		return nil, err
	}
	if e.DReg, err = m.u32(unix.NFTA_BITWISE_DREG, "dreg"); err != nil {
		return nil, err
	}
	if e.Len, err = m.u32(unix.NFTA_BITWISE_LEN, "len"); err != nil {
		return nil, err
	}
	if e.Mask, err = m.value(unix.NFTA_BITWISE_MASK, "mask"); err != nil {
		return nil, err
	}
	if e.Xor, err = m.value(unix.NFTA_BITWISE_XOR, "xor"); err != nil {
		return nil, err
	}
	if int(e.Len) != len(e.Mask) || int(e.Len) != len(e.Xor) {
		return nil, fmt.Errorf("len %d with a %d-byte mask and a %d-byte xor", e.Len, len(e.Mask), len(e.Xor))
	}
	return e, nil
}
