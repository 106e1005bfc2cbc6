package nft

import (
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// maxDataLen is NFT_DATA_VALUE_MAXLEN: the largest value a register
// operand (cmp, bitwise, range, immediate) may carry.
const maxDataLen = 64

// putValue writes an nft_data value: a nest holding NFTA_DATA_VALUE.
func putValue(ae *netlink.AttributeEncoder, typ uint16, v []byte) {
	ae.Nested(typ, func(nae *netlink.AttributeEncoder) error {
		nae.Bytes(unix.NFTA_DATA_VALUE, v)
		return nil
	})
}

// value reads a mandatory nft_data value attribute.
func (m attrMap) value(t uint16, what string) ([]byte, error) {
	b, ok := m[t]
	if !ok {
		return nil, fmt.Errorf("missing %s", what)
	}
	inner, err := fieldsOf(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	v, ok := inner[unix.NFTA_DATA_VALUE]
	if !ok || len(inner) != 1 {
		return nil, fmt.Errorf("%s: not a single NFTA_DATA_VALUE", what)
	}
	if len(v) == 0 || len(v) > maxDataLen {
		return nil, fmt.Errorf("%s: %d bytes", what, len(v))
	}
	return append([]byte{}, v...), nil
}

// verdict reads an NFTA_DATA_VERDICT nest: the code and, for a jump or
// goto, the chain.
func verdictOf(b []byte) (int32, string, error) {
	m, err := fieldsOf(b)
	if err != nil {
		return 0, "", err
	}
	if err := m.only(unix.NFTA_VERDICT_CODE, unix.NFTA_VERDICT_CHAIN); err != nil {
		return 0, "", err
	}
	code, err := m.u32(unix.NFTA_VERDICT_CODE, "verdict code")
	if err != nil {
		return 0, "", err
	}
	var chain string
	if m.has(unix.NFTA_VERDICT_CHAIN) {
		if chain, err = m.str(unix.NFTA_VERDICT_CHAIN, "verdict chain"); err != nil {
			return 0, "", err
		}
		if chain == "" {
			return 0, "", errors.New("empty verdict chain")
		}
	}
	return int32(code), chain, nil
}

func putVerdict(ae *netlink.AttributeEncoder, typ uint16, code int32, chain string) {
	ae.Nested(typ, func(nae *netlink.AttributeEncoder) error {
		nae.Nested(unix.NFTA_DATA_VERDICT, func(v *netlink.AttributeEncoder) error {
			v.Uint32(unix.NFTA_VERDICT_CODE, uint32(code))
			if chain != "" {
				v.String(unix.NFTA_VERDICT_CHAIN, chain)
			}
			return nil
		})
		return nil
	})
}
