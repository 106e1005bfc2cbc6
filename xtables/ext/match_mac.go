package ext

import (
	"fmt"
	"strings"
)

// struct xt_mac_info (linux/netfilter/xt_mac.h), 12 bytes:
//
//	unsigned char srcaddr[6]; (2 bytes padding) int invert;
func init() {
	Register(&Extension{
		Kind: Match, Name: "mac", Revision: 0, Family: FamilyAny,
		Size:    12,
		Options: []Option{{Name: "mac-source", Args: 1, Invertible: true}},
		// xt_mac.c: a source MAC exists only on the way in.
		Hooks: HookPreRouting | HookInput | HookForward,
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 16)
			if len(in.Options) == 0 {
				return nil, in.Failf("option --mac-source must be specified")
			}
			if len(in.Options) > 1 {
				return nil, errOnce(in, in.Options[1])
			}
			o := in.Options[0]
			if err := parseMAC(data[:6], o.Arg()); err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			if o.Invert {
				NE.PutUint32(data[8:], 1)
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			fmt.Fprintf(b, "%s --mac-source %02x:%02x:%02x:%02x:%02x:%02x", Invert(NE.Uint32(data[8:]) != 0),
				data[0], data[1], data[2], data[3], data[4], data[5])
			return nil
		},
	})
}

// parseMAC reads "XX:XX:XX:XX:XX:XX" as xtopt_parse_ethermac does: six
// colon-separated groups of at most two hex digits each (so "0:1a:2:3:4:5"
// is fine, and an empty group is 0).
func parseMAC(dst []byte, s string) error {
	groups := strings.Split(s, ":")
	if len(groups) != 6 {
		return fmt.Errorf("invalid MAC address %q", s)
	}
	for i, g := range groups {
		if len(g) > 2 {
			return fmt.Errorf("invalid MAC address %q", s)
		}
		var v byte
		for j := 0; j < len(g); j++ {
			d := HexDigit(g[j])
			if d < 0 {
				return fmt.Errorf("invalid MAC address %q", s)
			}
			v = v<<4 | byte(d)
		}
		dst[i] = v
	}
	return nil
}
