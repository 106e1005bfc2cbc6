package nft

import "golang.org/x/sys/unix"

// Counter counts the packets and bytes that reach it. Sent with non-zero
// values, it starts from them (iptables' -c).
type Counter struct {
	Packets, Bytes uint64
}

func (*Counter) exprName() string { return "counter" }

func (e *Counter) data() ([]byte, error) {
	ae := exprEncoder()
	ae.Uint64(unix.NFTA_COUNTER_BYTES, e.Bytes)
	ae.Uint64(unix.NFTA_COUNTER_PACKETS, e.Packets)
	return ae.Encode()
}

func unmarshalCounter(m attrMap) (Expr, error) {
	if err := m.only(unix.NFTA_COUNTER_BYTES, unix.NFTA_COUNTER_PACKETS, unix.NFTA_COUNTER_PAD); err != nil {
		return nil, err
	}
	// NFTA_COUNTER_PAD only aligns the 64-bit values on architectures
	// that need it; it carries nothing.
	e := &Counter{}
	var err error
	if e.Bytes, err = m.u64(unix.NFTA_COUNTER_BYTES, "bytes"); err != nil {
		return nil, err
	}
	if e.Packets, err = m.u64(unix.NFTA_COUNTER_PACKETS, "packets"); err != nil {
		return nil, err
	}
	return e, nil
}
