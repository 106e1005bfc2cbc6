package ext

import (
	"fmt"
	"net/netip"
	"strings"
)

// struct ip6t_rt (linux/netfilter_ipv6/ip6t_rt.h), 280 bytes:
//
//	__u32 rt_type; __u32 segsleft[2]; __u32 hdrlen; __u8 flags; __u8 invflags;
//	struct in6_addr addrs[16];  // at 20
//	__u8 addrnr;                // at 276, + 3 padding
const (
	rtSize     = 280
	rtOffAddrs = 20
	rtOffNr    = 276
	rtHops     = 16

	rtTyp     = 0x01 // IP6T_RT_TYP
	rtSgs     = 0x02 // IP6T_RT_SGS
	rtLen     = 0x04 // IP6T_RT_LEN
	rtRes     = 0x08 // IP6T_RT_RES
	rtFst     = 0x10 // IP6T_RT_FST
	rtNStrict = 0x20 // IP6T_RT_FST_NSTRICT

	rtInvTyp = 0x01
	rtInvSgs = 0x02
	rtInvLen = 0x04
)

func init() {
	Register(&Extension{
		Kind: Match, Name: "rt", Revision: 0, Family: IPv6,
		Size: rtSize,
		Options: []Option{
			{Name: "rt-type", Args: 1, Invertible: true},
			{Name: "rt-segsleft", Args: 1, Invertible: true},
			{Name: "rt-len", Args: 1, Invertible: true},
			{Name: "rt-0-res"},
			{Name: "rt-0-addrs", Args: 1},
			{Name: "rt-0-not-strict"},
		},
		Parse: parseRT,
		Save:  saveRT,
	})
}

func parseRT(in *ParseInput) ([]byte, error) {
	data := make([]byte, Align(rtSize))
	NE.PutUint32(data[8:], 0xffffffff)
	seen := newOptionSet(in)
	// --rt-0-* options need a preceding, non-inverted --rt-type 0.
	type0 := func() bool {
		return seen.has("rt-type") && NE.Uint32(data[0:]) == 0 && data[17]&rtInvTyp == 0
	}
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		switch o.Name {
		case "rt-type", "rt-len":
			v, err := uintOption(in, o, 0, 0xffffffff)
			if err != nil {
				return nil, err
			}
			off, flag, inv := 0, uint8(rtTyp), uint8(rtInvTyp)
			if o.Name == "rt-len" {
				off, flag, inv = 12, rtLen, rtInvLen
			}
			NE.PutUint32(data[off:], uint32(v))
			data[16] |= flag
			if o.Invert {
				data[17] |= inv
			}
		case "rt-segsleft":
			lo, hi, _, err := parseUintRange(o.Arg(), 0xffffffff)
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			putUint32s(data[4:], uint32(lo), uint32(hi))
			data[16] |= rtSgs
			if o.Invert {
				data[17] |= rtInvSgs
			}
		case "rt-0-res":
			if !type0() {
				return nil, in.Errorf(o, "`--rt-type 0' required before `--rt-0-res'")
			}
			data[16] |= rtRes
		case "rt-0-addrs":
			if !type0() {
				return nil, in.Errorf(o, "`--rt-type 0' required before `--rt-0-addrs'")
			}
			addrs := strings.Split(o.Arg(), ",")
			if len(addrs) > rtHops {
				return nil, in.Errorf(o, "too many addresses specified (at most %d)", rtHops)
			}
			for i, s := range addrs {
				a, err := parseHostBytes(s, IPv6, formPton)
				if err != nil {
					return nil, in.Errorf(o, "%v", err)
				}
				copy(data[rtOffAddrs+16*i:], a[:])
			}
			data[rtOffNr] = uint8(len(addrs))
			data[16] |= rtFst
		case "rt-0-not-strict":
			if !seen.has("rt-0-addrs") {
				return nil, in.Errorf(o, "`--rt-0-addrs ...' required before `--rt-0-not-strict'")
			}
			data[16] |= rtNStrict
		}
	}
	return data, nil
}

func saveRT(b *strings.Builder, _ RuleInfo, data []byte) error {
	flags, inv := data[16], data[17]
	if inv&^(rtInvTyp|rtInvSgs|rtInvLen) != 0 {
		return fmt.Errorf("rt: unknown invflags 0x%02x", inv)
	}
	n := int(data[rtOffNr])
	if n > rtHops {
		return fmt.Errorf("rt: %d addresses", n)
	}
	if flags&rtTyp != 0 {
		fmt.Fprintf(b, "%s --rt-type %d", Invert(inv&rtInvTyp != 0), NE.Uint32(data[0:]))
	}
	saveUint32Range(b, "rt-segsleft", NE.Uint32(data[4:]), NE.Uint32(data[8:]), inv&rtInvSgs != 0)
	if flags&rtLen != 0 {
		fmt.Fprintf(b, "%s --rt-len %d", Invert(inv&rtInvLen != 0), NE.Uint32(data[12:]))
	}
	if flags&rtRes != 0 {
		b.WriteString(" --rt-0-res")
	}
	if flags&rtFst != 0 {
		b.WriteString(" --rt-0-addrs")
	}
	// The addresses follow whether or not the flag is set, as in rt_save.
	for i := 0; i < n; i++ {
		sep := ","
		if i == 0 {
			sep = " "
		}
		b.WriteString(sep + FormatAddr(netip.AddrFrom16([16]byte(data[rtOffAddrs+16*i:rtOffAddrs+16*i+16]))))
	}
	if flags&rtNStrict != 0 {
		b.WriteString(" --rt-0-not-strict")
	}
	return nil
}
