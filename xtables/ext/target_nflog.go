package ext

import (
	"fmt"
	"strings"
)

// struct xt_nflog_info (linux/netfilter/xt_NFLOG.h), 76 bytes:
//
//	__u32 len; __u16 group; __u16 threshold; __u16 flags; __u16 pad;
//	char prefix[64];
//
// iptables 1.8.9 has only revision 0, for both families.
//
// NFLog is its value.
type NFLog struct {
	Len       uint32 // snap length with NFLogCopyLen, else --nflog-range
	Group     uint16
	Threshold uint16
	Flags     uint16 // XT_NFLOG_F_*
	Prefix    string // at most 63 bytes; Marshal cuts a longer one, as iptables does
}

// NFLogCopyLen is XT_NFLOG_F_COPY_LEN: NFLog.Len is a snap length.
const NFLogCopyLen = 0x1

// Marshal is the payload (XT_ALIGN(76) bytes); it fails on a NUL in Prefix.
func (n *NFLog) Marshal() ([]byte, error) {
	data := make([]byte, Align(nflogSize))
	NE.PutUint32(data[0:], n.Len)
	NE.PutUint16(data[4:], n.Group)
	NE.PutUint16(data[6:], n.Threshold)
	NE.PutUint16(data[8:], n.Flags)
	if err := putTruncString(data[nflogPrefixOff:nflogPrefixOff+nflogPrefixSize], n.Prefix); err != nil {
		return nil, err
	}
	return data, nil
}

// UnmarshalNFLog reads an xt_nflog_info payload; a prefix without its
// NUL is an error.
func UnmarshalNFLog(data []byte) (*NFLog, error) {
	if len(data) < nflogSize {
		return nil, fmt.Errorf("NFLOG: payload of %d bytes, want %d", len(data), nflogSize)
	}
	prefix, err := cStringField(data[nflogPrefixOff:nflogPrefixOff+nflogPrefixSize], "NFLOG prefix")
	if err != nil {
		return nil, err
	}
	return &NFLog{
		Len: NE.Uint32(data[0:]), Group: NE.Uint16(data[4:]), Threshold: NE.Uint16(data[6:]),
		Flags: NE.Uint16(data[8:]), Prefix: prefix,
	}, nil
}

const (
	nflogSize       = 76
	nflogPrefixOff  = 12
	nflogPrefixSize = 64
)

func init() {
	Register(&Extension{
		Kind: Target, Name: "NFLOG", Revision: 0, Family: FamilyAny,
		Size: nflogSize,
		Options: []Option{
			{Name: "nflog-group", Args: 1},
			{Name: "nflog-prefix", Args: 1},
			{Name: "nflog-range", Args: 1},
			{Name: "nflog-size", Args: 1},
			{Name: "nflog-threshold", Args: 1},
		},
		Parse: parseNFLog,
		Save:  saveNFLog,
	})
}

func parseNFLog(in *ParseInput) ([]byte, error) {
	var n NFLog
	opts := newOptionSet(in)
	for _, o := range in.Options {
		if err := opts.once(o); err != nil {
			return nil, err
		}
		switch o.Name {
		case "nflog-group", "nflog-threshold":
			v, err := uintOption(in, o, 0, 0xffff)
			if err != nil {
				return nil, err
			}
			if o.Name == "nflog-threshold" {
				n.Threshold = uint16(v)
			} else {
				n.Group = uint16(v)
			}
		case "nflog-range", "nflog-size":
			// --nflog-range never did anything in the kernel; iptables
			// still stores it (and warns), so hostwall keeps it too.
			v, err := uintOption(in, o, 0, 0xffffffff)
			if err != nil {
				return nil, err
			}
			n.Len = uint32(v)
			if o.Name == "nflog-size" {
				n.Flags |= NFLogCopyLen
			}
		case "nflog-prefix":
			p := o.Arg()
			if p == "" {
				return nil, in.Errorf(o, "argument must have a minimum length of 1 character")
			}
			if strings.ContainsRune(p, '\n') {
				return nil, in.Errorf(o, "newlines not allowed in --nflog-prefix")
			}
			if strings.IndexByte(p, 0) >= 0 {
				return nil, in.Errorf(o, "contains a NUL byte")
			}
			n.Prefix = p
		}
	}
	if err := opts.exclusive("nflog-range", "nflog-size"); err != nil {
		return nil, err
	}
	return n.Marshal()
}

func saveNFLog(b *strings.Builder, _ RuleInfo, data []byte) error {
	n, err := UnmarshalNFLog(data)
	if err != nil {
		return err
	}
	length, group, threshold, flags, prefix := n.Len, n.Group, n.Threshold, n.Flags, n.Prefix
	if flags&^NFLogCopyLen != 0 {
		return fmt.Errorf("NFLOG: unknown flags %#x", flags)
	}
	if prefix != "" {
		b.WriteString(" --nflog-prefix")
		SaveString(b, prefix)
	}
	if group != 0 {
		fmt.Fprintf(b, " --nflog-group %d", group)
	}
	if flags&NFLogCopyLen != 0 {
		fmt.Fprintf(b, " --nflog-size %d", length)
	} else if length != 0 {
		fmt.Fprintf(b, " --nflog-range %d", length)
	}
	if threshold != 0 {
		fmt.Fprintf(b, " --nflog-threshold %d", threshold)
	}
	return nil
}
