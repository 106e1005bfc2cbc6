package ext

import (
	"fmt"
	"strings"
)

// struct ip6t_mh (linux/netfilter_ipv6/ip6t_mh.h), 3 bytes:
//
//	__u8 types[2]; __u8 invflags;  // IP6T_MH_INV_TYPE 0x01
//
// The kernel requires -p mobility-header (135).
const mhSize = 3

// mhNames are libip6t_mh's mh_names, in its order (names and aliases).
var mhNames = []struct {
	name string
	typ  uint8
}{
	{"binding-refresh-request", 0}, {"brr", 0},
	{"home-test-init", 1}, {"hoti", 1},
	{"careof-test-init", 2}, {"coti", 2},
	{"home-test", 3}, {"hot", 3},
	{"careof-test", 4}, {"cot", 4},
	{"binding-update", 5}, {"bu", 5},
	{"binding-acknowledgement", 6}, {"ba", 6},
	{"binding-error", 7}, {"be", 7},
}

func init() {
	Register(&Extension{
		Kind: Match, Name: "mh", Revision: 0, Family: IPv6,
		Size: mhSize, Proto: 135,
		Options: []Option{{Name: "mh-type", Args: 1, Invertible: true}},
		Parse:   parseMH,
		Save:    saveMH,
	})
}

func parseMH(in *ParseInput) ([]byte, error) {
	data := make([]byte, Align(mhSize))
	data[1] = 0xff
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		lo, hi, isRange := strings.Cut(o.Arg(), ":")
		var err error
		if !isRange {
			if data[0], err = mhType(lo); err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			data[1] = data[0]
		} else {
			data[0], data[1] = 0, 0xff
			if lo != "" {
				if data[0], err = mhType(lo); err != nil {
					return nil, in.Errorf(o, "%v", err)
				}
			}
			if hi != "" {
				if data[1], err = mhType(hi); err != nil {
					return nil, in.Errorf(o, "%v", err)
				}
			}
			if data[0] > data[1] {
				return nil, in.Errorf(o, "invalid MH type range (min > max)")
			}
		}
		if o.Invert {
			data[2] |= 0x01
		}
	}
	return data, nil
}

// mhType is name_to_type: an unambiguous case-insensitive prefix of a
// type name (the first one listed wins, an exact match beats it) or a
// number 0-255.
func mhType(s string) (uint8, error) {
	match := -1
	for i, n := range mhNames {
		if len(s) <= len(n.name) && strings.EqualFold(n.name[:len(s)], s) {
			if match < 0 || len(n.name) == len(s) {
				match = i
			}
		}
	}
	if match >= 0 {
		return mhNames[match].typ, nil
	}
	v, err := ParseUint(s, 0, 255)
	if err != nil {
		return 0, fmt.Errorf("invalid MH type %q", s)
	}
	return uint8(v), nil
}

func saveMH(b *strings.Builder, _ RuleInfo, data []byte) error {
	if data[2]&^0x01 != 0 {
		return fmt.Errorf("mh: unknown invflags 0x%02x", data[2])
	}
	lo, hi := data[0], data[1]
	if lo == 0 && hi == 0xff {
		return nil
	}
	b.WriteString(Invert(data[2] != 0))
	if lo == hi {
		fmt.Fprintf(b, " --mh-type %d", lo)
	} else {
		fmt.Fprintf(b, " --mh-type %d:%d", lo, hi)
	}
	return nil
}
