package ext

import (
	"fmt"
	"strings"
)

// struct xt_esp (linux/netfilter/xt_esp.h), 9 bytes:
//
//	__u32 spis[2]; __u8 invflags;  // XT_ESP_INV_SPI 0x01
const espSize = 9

func init() {
	Register(&Extension{
		Kind: Match, Name: "esp", Revision: 0, Family: FamilyAny,
		Size: espSize, Proto: 50,
		Options: []Option{{Name: "espspi", Args: 1, Invertible: true}},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, Align(espSize))
			putUint32s(data, 0, 0xffffffff)
			seen := newOptionSet(in)
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				lo, hi, _, err := parseUintRange(o.Arg(), 0xffffffff)
				if err != nil {
					return nil, in.Errorf(o, "%v", err)
				}
				putUint32s(data, uint32(lo), uint32(hi))
				if o.Invert {
					data[8] |= 0x01
				}
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			if data[8]&^0x01 != 0 {
				return fmt.Errorf("esp: unknown invflags 0x%02x", data[8])
			}
			saveUint32Range(b, "espspi", NE.Uint32(data[0:]), NE.Uint32(data[4:]), data[8] != 0)
			return nil
		},
	})
}
