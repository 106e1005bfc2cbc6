package ext

import (
	"fmt"
	"strings"
)

// struct xt_mark_mtinfo1 (linux/netfilter/xt_mark.h), 12 bytes:
//
//	__u32 mark, mask; __u8 invert;
//
// struct xt_connmark_mtinfo1 has the same layout. Revision 0 is the old
// struct xt_mark_info / xt_connmark_info (unsigned long mark, mask; __u8
// invert), 24 bytes on 64-bit kernels; Linux dropped it long ago but
// libxt_mark still carries it, so it is kept for payloads that use it.
//
// MarkInfo is the value of both revisions of mark and connmark: revision
// 0's longs hold 32-bit values (libxt_mark parses and prints them so).
type MarkInfo struct {
	Mark, Mask uint32
	Invert     uint8 // 1 for "! --mark"
}

const (
	markInfo1Size = 12 // xt_mark_mtinfo1
	markInfo0Size = 24 // xt_mark_info, 64-bit
)

// Marshal is the revision 1 payload (XT_ALIGN(12) bytes).
func (m *MarkInfo) Marshal() []byte {
	data := make([]byte, Align(markInfo1Size))
	NE.PutUint32(data[0:], m.Mark)
	NE.PutUint32(data[4:], m.Mask)
	data[8] = m.Invert
	return data
}

// marshalRev0 is the revision 0 payload (24 bytes).
func (m *MarkInfo) marshalRev0() []byte {
	data := make([]byte, Align(markInfo0Size))
	NE.PutUint64(data[0:], uint64(m.Mark))
	NE.PutUint64(data[8:], uint64(m.Mask))
	data[16] = m.Invert
	return data
}

// UnmarshalMarkInfo reads a revision 1 mark or connmark payload.
func UnmarshalMarkInfo(data []byte) (*MarkInfo, error) {
	if len(data) < 9 { // through invert
		return nil, fmt.Errorf("mark: payload of %d bytes, want %d", len(data), markInfo1Size)
	}
	return &MarkInfo{Mark: NE.Uint32(data[0:]), Mask: NE.Uint32(data[4:]), Invert: data[8]}, nil
}

// unmarshalMarkInfoRev0 reads a revision 0 payload; the C code prints
// the longs through unsigned int, so only their low 32 bits count, as
// in iptables-save.
func unmarshalMarkInfoRev0(data []byte) (*MarkInfo, error) {
	if len(data) < 17 { // through invert
		return nil, fmt.Errorf("mark: payload of %d bytes, want %d", len(data), markInfo0Size)
	}
	return &MarkInfo{Mark: uint32(NE.Uint64(data[0:])), Mask: uint32(NE.Uint64(data[8:])), Invert: data[16]}, nil
}

func init() {
	Register(markMatch("mark", 1))
	Register(markMatch("mark", 0))
}

// markMatch builds the mark and connmark matches, which share their
// options and both payload layouts.
func markMatch(name string, rev uint8) *Extension {
	size, marshal, unmarshal := markInfo1Size, (*MarkInfo).Marshal, UnmarshalMarkInfo
	if rev == 0 {
		size, marshal, unmarshal = markInfo0Size, (*MarkInfo).marshalRev0, unmarshalMarkInfoRev0
	}
	return &Extension{
		Kind: Match, Name: name, Revision: rev, Family: FamilyAny,
		Size:    size,
		Options: []Option{{Name: "mark", Args: 1, Invertible: true}},
		Parse: func(in *ParseInput) ([]byte, error) {
			var m MarkInfo
			seen := newOptionSet(in)
			for _, o := range in.Options {
				if err := seen.onceAs(o, "mark"); err != nil {
					return nil, err
				}
				mark, mask, err := markMaskOption(in, o)
				if err != nil {
					return nil, err
				}
				m.Mark, m.Mask = mark, mask
				if o.Invert {
					m.Invert = 1
				}
			}
			if seen.empty() {
				return nil, in.Failf("%s: option \"--mark\" must be specified", name)
			}
			return marshal(&m), nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			m, err := unmarshal(data)
			if err != nil {
				return err
			}
			b.WriteString(Invert(m.Invert != 0))
			b.WriteString(" --mark")
			metaSaveMarkMask(b, m.Mark, m.Mask)
			return nil
		},
	}
}

// markMaskOption reads an XTTYPE_MARKMASK32 option, "value[/mask]", for
// every mark option (mark, connmark, MARK, CONNMARK, TPROXY).
func markMaskOption(in *ParseInput, o OptionValue) (mark, mask uint32, err error) {
	mark, mask, err = ParseMarkMask(o.Arg())
	if err != nil {
		return 0, 0, in.Errorf(o, "bad value/mask %q (want value[/mask], 32 bits each)", o.Arg())
	}
	return mark, mask, nil
}

// metaSaveMarkMask prints a mark as xtables_print_mark_mask does: the mask
// is left out when it is all ones.
func metaSaveMarkMask(b *strings.Builder, mark, mask uint32) {
	if mask == 0xffffffff {
		fmt.Fprintf(b, " 0x%x", mark)
		return
	}
	fmt.Fprintf(b, " 0x%x/0x%x", mark, mask)
}
