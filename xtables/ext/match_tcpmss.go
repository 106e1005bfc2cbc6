package ext

import (
	"fmt"
	"strings"
)

// struct xt_tcpmss_match_info (linux/netfilter/xt_tcpmss.h), 5 bytes:
//
//	__u16 mss_min, mss_max; __u8 invert;
const tcpmssSize = 5

func init() {
	Register(&Extension{
		Kind: Match, Name: "tcpmss", Revision: 0, Family: FamilyAny,
		Size: tcpmssSize, Proto: 6,
		Options: []Option{{Name: "mss", Args: 1, Invertible: true}},
		Parse:   parseTCPMSS,
		Save:    saveTCPMSS,
	})
}

func parseTCPMSS(in *ParseInput) ([]byte, error) {
	data := make([]byte, Align(tcpmssSize))
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		lo, hi, _, err := parseUintRange(o.Arg(), 0xffff)
		if err != nil {
			return nil, in.Errorf(o, "%v", err)
		}
		if hi < lo {
			return nil, in.Errorf(o, "invalid range given")
		}
		NE.PutUint16(data[0:], uint16(lo))
		NE.PutUint16(data[2:], uint16(hi))
		if o.Invert {
			data[4] = 1
		}
	}
	if !seen.has("mss") {
		return nil, in.Failf("tcpmss match needs --mss")
	}
	return data, nil
}

func saveTCPMSS(b *strings.Builder, _ RuleInfo, data []byte) error {
	lo, hi := NE.Uint16(data[0:]), NE.Uint16(data[2:])
	fmt.Fprintf(b, "%s --mss %d", Invert(data[4] != 0), lo)
	if lo != hi {
		fmt.Fprintf(b, ":%d", hi)
	}
	return nil
}
