package ext

import (
	"fmt"
	"strings"
)

// struct ip6t_frag (linux/netfilter_ipv6/ip6t_frag.h), 14 bytes:
//
//	__u32 ids[2]; __u32 hdrlen; __u8 flags; __u8 invflags;
const (
	fragSize = 14

	fragIDs   = 0x01 // IP6T_FRAG_IDS
	fragLen   = 0x02 // IP6T_FRAG_LEN
	fragRes   = 0x04 // IP6T_FRAG_RES
	fragFirst = 0x08 // IP6T_FRAG_FST
	fragMore  = 0x10 // IP6T_FRAG_MF
	fragLast  = 0x20 // IP6T_FRAG_NMF

	fragInvIDs = 0x01
	fragInvLen = 0x02
)

// fragFlagOptions are the option-less flags in save order.
var fragFlagOptions = []struct {
	name string
	flag uint8
}{{"fragres", fragRes}, {"fragfirst", fragFirst}, {"fragmore", fragMore}, {"fraglast", fragLast}}

func init() {
	Register(&Extension{
		Kind: Match, Name: "frag", Revision: 0, Family: IPv6,
		Size: fragSize,
		Options: []Option{
			{Name: "fragid", Args: 1, Invertible: true},
			{Name: "fraglen", Args: 1, Invertible: true},
			{Name: "fragres"},
			{Name: "fragfirst"},
			{Name: "fragmore"},
			{Name: "fraglast"},
		},
		Parse: parseFrag,
		Save:  saveFrag,
	})
}

func parseFrag(in *ParseInput) ([]byte, error) {
	data := make([]byte, Align(fragSize))
	putUint32s(data, 0, 0xffffffff)
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		switch o.Name {
		case "fragid":
			lo, hi, _, err := parseUintRange(o.Arg(), 0xffffffff)
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			putUint32s(data, uint32(lo), uint32(hi))
			data[12] |= fragIDs
			if o.Invert {
				data[13] |= fragInvIDs
			}
		case "fraglen":
			v, err := uintOption(in, o, 0, 0xffffffff)
			if err != nil {
				return nil, err
			}
			NE.PutUint32(data[8:], uint32(v))
			data[12] |= fragLen
			if o.Invert {
				data[13] |= fragInvLen
			}
		default:
			for _, f := range fragFlagOptions {
				if f.name == o.Name {
					data[12] |= f.flag
				}
			}
		}
	}
	if seen.has("fragmore") && seen.has("fraglast") {
		return nil, in.Failf("--fragmore and --fraglast cannot be used together")
	}
	return data, nil
}

func saveFrag(b *strings.Builder, _ RuleInfo, data []byte) error {
	flags, inv := data[12], data[13]
	if inv&^(fragInvIDs|fragInvLen) != 0 {
		return fmt.Errorf("frag: unknown invflags 0x%02x", inv)
	}
	saveUint32Range(b, "fragid", NE.Uint32(data[0:]), NE.Uint32(data[4:]), inv&fragInvIDs != 0)
	if flags&fragLen != 0 {
		fmt.Fprintf(b, "%s --fraglen %d", Invert(inv&fragInvLen != 0), NE.Uint32(data[8:]))
	}
	for _, f := range fragFlagOptions {
		if flags&f.flag != 0 {
			b.WriteString(" --" + f.name)
		}
	}
	return nil
}
