package ext

import (
	"fmt"
	"net/netip"
	"strings"
)

// struct ip6t_srh (linux/netfilter_ipv6/ip6t_srh.h), revision 0, 10 bytes:
//
//	__u8 next_hdr, hdr_len, segs_left, last_entry; __u16 tag;  (0..4)
//	__u16 mt_flags, mt_invflags;                               (6, 8)
//
// struct ip6t_srh1, revision 1, 108 bytes: the same first six bytes,
// then struct in6_addr psid_addr, nsid_addr, lsid_addr, psid_msk,
// nsid_msk, lsid_msk (8, 24, 40, 56, 72, 88), mt_flags, mt_invflags
// (104, 106). Both carry IP6T_SRH_* bits, one per option, in both flag
// words; the eq/gt/lt variants of a field share its byte.
type SRH struct {
	NextHdr, HdrLen, SegsLeft, LastEntry uint8
	Tag                                  uint16
	SID, SIDMask                         [3][16]byte // psid, nsid, lsid (revision 1)
	Flags, InvFlags                      uint16
}

// srhOptions are the options in IP6T_SRH_* bit order.
var srhOptions = []string{
	"srh-next-hdr", "srh-hdr-len-eq", "srh-hdr-len-gt", "srh-hdr-len-lt",
	"srh-segs-left-eq", "srh-segs-left-gt", "srh-segs-left-lt",
	"srh-last-entry-eq", "srh-last-entry-gt", "srh-last-entry-lt",
	"srh-tag", "srh-psid", "srh-nsid", "srh-lsid",
}

func (s *SRH) marshal(rev uint8) []byte {
	size, flags := 16, 6
	if rev == 1 {
		size, flags = 112, 104
	}
	data := make([]byte, size)
	data[0], data[1], data[2], data[3] = s.NextHdr, s.HdrLen, s.SegsLeft, s.LastEntry
	NE.PutUint16(data[4:], s.Tag)
	if rev == 1 {
		for i := 0; i < 3; i++ {
			copy(data[8+16*i:], s.SID[i][:])
			copy(data[56+16*i:], s.SIDMask[i][:])
		}
	}
	NE.PutUint16(data[flags:], s.Flags)
	NE.PutUint16(data[flags+2:], s.InvFlags)
	return data
}

func unmarshalSRH(data []byte, rev uint8) *SRH {
	s := &SRH{NextHdr: data[0], HdrLen: data[1], SegsLeft: data[2], LastEntry: data[3], Tag: NE.Uint16(data[4:])}
	flags := 6
	if rev == 1 {
		flags = 104
		for i := 0; i < 3; i++ {
			copy(s.SID[i][:], data[8+16*i:])
			copy(s.SIDMask[i][:], data[56+16*i:])
		}
	}
	s.Flags, s.InvFlags = NE.Uint16(data[flags:]), NE.Uint16(data[flags+2:])
	return s
}

func parseSRH(in *ParseInput) ([]byte, error) {
	var s SRH
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		bit := 0
		for bit < len(srhOptions) && srhOptions[bit] != o.Name {
			bit++
		}
		s.Flags |= 1 << bit
		if o.Invert {
			s.InvFlags |= 1 << bit
		}
		if bit >= 11 { // psid, nsid, lsid: XTTYPE_HOSTMASK
			addr, mask, err := parseHostMask(o.Arg(), IPv6, refuseNonContiguous)
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			s.SID[bit-11], s.SIDMask[bit-11] = addr, mask
			continue
		}
		max := uint64(255)
		if bit == 10 {
			max = 65535
		}
		v, err := uintOption(in, o, 0, max)
		if err != nil {
			return nil, err
		}
		switch {
		case bit == 0:
			s.NextHdr = uint8(v)
		case bit <= 3:
			s.HdrLen = uint8(v)
		case bit <= 6:
			s.SegsLeft = uint8(v)
		case bit <= 9:
			s.LastEntry = uint8(v)
		default:
			s.Tag = uint16(v)
		}
	}
	return s.marshal(in.Revision), nil
}

func (s *SRH) save(b *strings.Builder) {
	vals := []uint16{uint16(s.NextHdr), uint16(s.HdrLen), uint16(s.HdrLen), uint16(s.HdrLen),
		uint16(s.SegsLeft), uint16(s.SegsLeft), uint16(s.SegsLeft),
		uint16(s.LastEntry), uint16(s.LastEntry), uint16(s.LastEntry), s.Tag}
	for bit, name := range srhOptions {
		if s.Flags&(1<<bit) == 0 {
			continue
		}
		inv := Invert(s.InvFlags&(1<<bit) != 0)
		if bit < len(vals) {
			fmt.Fprintf(b, "%s --%s %d", inv, name, vals[bit])
			continue
		}
		// xtables_ip6mask_to_cidr's -1 for a non-contiguous mask
		// prints as %u.
		n := uint32(int32(MaskBits(netip.AddrFrom16(s.SIDMask[bit-11]))))
		fmt.Fprintf(b, "%s --%s %s/%d", inv, name, FormatAddr(netip.AddrFrom16(s.SID[bit-11])), n)
	}
}

func init() {
	for _, rev := range []uint8{0, 1} {
		rev := rev
		n, size := 11, 10
		if rev == 1 {
			n, size = 14, 108
		}
		var opts []Option
		for _, name := range srhOptions[:n] {
			opts = append(opts, Option{Name: name, Args: 1, Invertible: true})
		}
		Register(&Extension{
			Kind: Match, Name: "srh", Revision: rev, Family: IPv6,
			Size: size, Options: opts,
			Parse: parseSRH,
			Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
				s := unmarshalSRH(data, rev)
				if rev == 0 {
					s.Flags &= 1<<11 - 1
				}
				s.save(b)
				return nil
			},
		})
	}
}
