package nft

import "golang.org/x/sys/unix"

// Log is the log expression. Each attribute is optional and its presence
// matters (a snaplen of 0 sent is not a snaplen absent: the kernel then
// copies 0 bytes), so each value has a Has flag. With a group it logs
// through nfnetlink_log, which is what iptables-nft's NFLOG writes.
type Log struct {
	Group      uint16
	Prefix     string
	Snaplen    uint32
	QThreshold uint16
	Level      uint32
	Flags      uint32

	HasGroup, HasPrefix, HasSnaplen, HasQThreshold, HasLevel, HasFlags bool
}

func (*Log) exprName() string { return "log" }

func (e *Log) data() ([]byte, error) {
	ae := exprEncoder()
	if e.HasPrefix {
		ae.String(unix.NFTA_LOG_PREFIX, e.Prefix)
	}
	if e.HasGroup {
		ae.Uint16(unix.NFTA_LOG_GROUP, e.Group)
	}
	if e.HasSnaplen {
		ae.Uint32(unix.NFTA_LOG_SNAPLEN, e.Snaplen)
	}
	if e.HasQThreshold {
		ae.Uint16(unix.NFTA_LOG_QTHRESHOLD, e.QThreshold)
	}
	if e.HasLevel {
		ae.Uint32(unix.NFTA_LOG_LEVEL, e.Level)
	}
	if e.HasFlags {
		ae.Uint32(unix.NFTA_LOG_FLAGS, e.Flags)
	}
	return ae.Encode()
}

func unmarshalLog(m attrMap) (Expr, error) {
	if err := m.only(unix.NFTA_LOG_GROUP, unix.NFTA_LOG_PREFIX, unix.NFTA_LOG_SNAPLEN,
		unix.NFTA_LOG_QTHRESHOLD, unix.NFTA_LOG_LEVEL, unix.NFTA_LOG_FLAGS); err != nil {
		return nil, err
	}
	e := &Log{}
	var err error
	if e.HasGroup = m.has(unix.NFTA_LOG_GROUP); e.HasGroup {
		if e.Group, err = m.u16(unix.NFTA_LOG_GROUP, "group"); err != nil {
			return nil, err
		}
	}
	if e.HasPrefix = m.has(unix.NFTA_LOG_PREFIX); e.HasPrefix {
		if e.Prefix, err = m.str(unix.NFTA_LOG_PREFIX, "prefix"); err != nil {
			return nil, err
		}
	}
	if e.HasSnaplen = m.has(unix.NFTA_LOG_SNAPLEN); e.HasSnaplen {
		if e.Snaplen, err = m.u32(unix.NFTA_LOG_SNAPLEN, "snaplen"); err != nil {
			return nil, err
		}
	}
	if e.HasQThreshold = m.has(unix.NFTA_LOG_QTHRESHOLD); e.HasQThreshold {
		if e.QThreshold, err = m.u16(unix.NFTA_LOG_QTHRESHOLD, "qthreshold"); err != nil {
			return nil, err
		}
	}
	if e.HasLevel = m.has(unix.NFTA_LOG_LEVEL); e.HasLevel {
		if e.Level, err = m.u32(unix.NFTA_LOG_LEVEL, "level"); err != nil {
			return nil, err
		}
	}
	if e.HasFlags = m.has(unix.NFTA_LOG_FLAGS); e.HasFlags {
		if e.Flags, err = m.u32(unix.NFTA_LOG_FLAGS, "flags"); err != nil {
			return nil, err
		}
	}
	return e, nil
}
