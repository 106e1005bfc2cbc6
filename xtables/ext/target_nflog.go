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
const (
	nflogSize       = 76
	nflogPrefixOff  = 12
	nflogPrefixSize = 64
	nflogCopyLen    = 0x1 // XT_NFLOG_F_COPY_LEN: len is a snap length
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
	data := make([]byte, Align(nflogSize))
	opts := newT1Opts(in)
	for _, o := range in.Options {
		if err := opts.once(o); err != nil {
			return nil, err
		}
		switch o.Name {
		case "nflog-group", "nflog-threshold":
			v, err := opts.uintArg(o, 0, 0xffff)
			if err != nil {
				return nil, err
			}
			off := 4
			if o.Name == "nflog-threshold" {
				off = 6
			}
			NE.PutUint16(data[off:], uint16(v))
		case "nflog-range", "nflog-size":
			// --nflog-range never did anything in the kernel; iptables
			// still stores it (and warns), so hostwall keeps it too.
			v, err := opts.uintArg(o, 0, 0xffffffff)
			if err != nil {
				return nil, err
			}
			NE.PutUint32(data[0:], uint32(v))
			if o.Name == "nflog-size" {
				NE.PutUint16(data[8:], nflogCopyLen)
			}
		case "nflog-prefix":
			p := o.Arg()
			if p == "" {
				return nil, in.Errorf(o, "argument must have a minimum length of 1 character")
			}
			if strings.ContainsRune(p, '\n') {
				return nil, in.Errorf(o, "newlines not allowed in --nflog-prefix")
			}
			// Longer prefixes are cut to 63 characters, as iptables does.
			if err := t1PutString(data[nflogPrefixOff:nflogPrefixOff+nflogPrefixSize], p); err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
		}
	}
	if err := opts.exclusive("nflog-range", "nflog-size"); err != nil {
		return nil, err
	}
	return data, nil
}

func saveNFLog(b *strings.Builder, _ RuleInfo, data []byte) error {
	length := NE.Uint32(data[0:])
	group, threshold, flags := NE.Uint16(data[4:]), NE.Uint16(data[6:]), NE.Uint16(data[8:])
	if flags&^nflogCopyLen != 0 {
		return fmt.Errorf("NFLOG: unknown flags %#x", flags)
	}
	prefix, err := t1CString(data[nflogPrefixOff:nflogPrefixOff+nflogPrefixSize], "NFLOG prefix")
	if err != nil {
		return err
	}
	if prefix != "" {
		b.WriteString(" --nflog-prefix")
		SaveString(b, prefix)
	}
	if group != 0 {
		fmt.Fprintf(b, " --nflog-group %d", group)
	}
	if flags&nflogCopyLen != 0 {
		fmt.Fprintf(b, " --nflog-size %d", length)
	} else if length != 0 {
		fmt.Fprintf(b, " --nflog-range %d", length)
	}
	if threshold != 0 {
		fmt.Fprintf(b, " --nflog-threshold %d", threshold)
	}
	return nil
}
