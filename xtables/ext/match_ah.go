package ext

import (
	"fmt"
	"strings"
)

// IPv4 (libipt_ah) and IPv6 (libip6t_ah) ah matches are different
// kernel matches with different structs:
//
// struct ipt_ah (linux/netfilter_ipv4/ipt_ah.h), 9 bytes:
//
//	__u32 spis[2]; __u8 invflags;  // IPT_AH_INV_SPI 0x01
//
// The IPv4 one requires -p ah.
//
// struct ip6t_ah (linux/netfilter_ipv6/ip6t_ah.h), 14 bytes:
//
//	__u32 spis[2]; __u32 hdrlen; __u8 hdrres; __u8 invflags;  // INV_SPI 0x01, INV_LEN 0x02
//
// The IPv6 one finds the AH header among the extension headers itself.
const (
	ah4Size = 9
	ah6Size = 14

	ahInvSpi = 0x01
	ahInvLen = 0x02
)

func init() {
	Register(&Extension{
		Kind: Match, Name: "ah", Revision: 0, Family: IPv4,
		Size: ah4Size, Proto: 51,
		Options: []Option{{Name: "ahspi", Args: 1, Invertible: true}},
		Parse: func(in *ParseInput) ([]byte, error) {
			return parseAH(in, ah4Size, 8)
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			if data[8]&^ahInvSpi != 0 {
				return fmt.Errorf("ah: unknown invflags 0x%02x", data[8])
			}
			saveUint32Range(b, "ahspi", NE.Uint32(data[0:]), NE.Uint32(data[4:]), data[8] != 0)
			return nil
		},
	})
	Register(&Extension{
		Kind: Match, Name: "ah", Revision: 0, Family: IPv6,
		Size: ah6Size,
		Options: []Option{
			{Name: "ahspi", Args: 1, Invertible: true},
			{Name: "ahlen", Args: 1, Invertible: true},
			{Name: "ahres"},
		},
		Parse: func(in *ParseInput) ([]byte, error) {
			return parseAH(in, ah6Size, 13)
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			inv := data[13]
			if inv&^(ahInvSpi|ahInvLen) != 0 {
				return fmt.Errorf("ah: unknown invflags 0x%02x", inv)
			}
			saveUint32Range(b, "ahspi", NE.Uint32(data[0:]), NE.Uint32(data[4:]), inv&ahInvSpi != 0)
			if l := NE.Uint32(data[8:]); l != 0 || inv&ahInvLen != 0 {
				fmt.Fprintf(b, "%s --ahlen %d", Invert(inv&ahInvLen != 0), l)
			}
			if data[12] != 0 {
				b.WriteString(" --ahres")
			}
			return nil
		},
	})
}

// parseAH fills either struct; invOff is where invflags lives.
func parseAH(in *ParseInput, size, invOff int) ([]byte, error) {
	data := make([]byte, Align(size))
	putUint32s(data, 0, 0xffffffff)
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		switch o.Name {
		case "ahspi":
			lo, hi, _, err := parseUintRange(o.Arg(), 0xffffffff)
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			putUint32s(data, uint32(lo), uint32(hi))
			if o.Invert {
				data[invOff] |= ahInvSpi
			}
		case "ahlen":
			v, err := uintOption(in, o, 0, 0xffffffff)
			if err != nil {
				return nil, err
			}
			NE.PutUint32(data[8:], uint32(v))
			if o.Invert {
				data[invOff] |= ahInvLen
			}
		case "ahres":
			data[12] = 1
		}
	}
	return data, nil
}
