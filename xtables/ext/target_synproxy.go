package ext

import (
	"fmt"
	"strings"
)

// SYNPROXY (libxt_SYNPROXY.c), revision 0, both families.
// struct xt_synproxy_info = nf_synproxy_info (linux/netfilter/nf_synproxy.h), 4 bytes:
//
//	__u8 options; __u8 wscale; __u16 mss;
//
// The kernel wants -p tcp (not inverted) in INPUT or FORWARD.
const (
	synproxyMSS       = 0x01 // XT_SYNPROXY_OPT_MSS
	synproxyWScale    = 0x02 // XT_SYNPROXY_OPT_WSCALE
	synproxySackPerm  = 0x04 // XT_SYNPROXY_OPT_SACK_PERM
	synproxyTimestamp = 0x08 // XT_SYNPROXY_OPT_TIMESTAMP
	synproxyECN       = 0x10 // XT_SYNPROXY_OPT_ECN
	synproxyKnown     = synproxyMSS | synproxyWScale | synproxySackPerm | synproxyTimestamp | synproxyECN
)

func init() {
	Register(&Extension{
		Kind: Target, Name: "SYNPROXY", Revision: 0, Family: FamilyAny,
		Size: 4, Proto: 6,
		// xt_SYNPROXY.c: .hooks, no table.
		Hooks: HookInput | HookForward,
		Options: []Option{
			{Name: "sack-perm"},
			{Name: "timestamp"},
			{Name: "wscale", Args: 1},
			{Name: "mss", Args: 1},
			{Name: "ecn"},
		},
		Parse: parseSYNPROXYTarget,
		Save:  saveSYNPROXYTarget,
	})
}

// parseSYNPROXYTarget takes --wscale and --mss as iptables does (XTTYPE_UINT32),
// but refuses values the u8/u16 fields cannot hold instead of silently
// truncating them (iptables turns --wscale 300 into 44).
func parseSYNPROXYTarget(in *ParseInput) ([]byte, error) {
	data := make([]byte, Align(4))
	opts := newOptionSet(in)
	for _, o := range in.Options {
		if err := opts.once(o); err != nil {
			return nil, err
		}
		switch o.Name {
		case "sack-perm":
			data[0] |= synproxySackPerm
		case "timestamp":
			data[0] |= synproxyTimestamp
		case "ecn":
			data[0] |= synproxyECN
		case "wscale":
			v, err := uintOption(in, o, 0, 255)
			if err != nil {
				return nil, err
			}
			data[0] |= synproxyWScale
			data[1] = uint8(v)
		case "mss":
			v, err := uintOption(in, o, 0, 65535)
			if err != nil {
				return nil, err
			}
			data[0] |= synproxyMSS
			NE.PutUint16(data[2:], uint16(v))
		}
	}
	return data, nil
}

func saveSYNPROXYTarget(b *strings.Builder, _ RuleInfo, data []byte) error {
	opt := data[0]
	if opt&^synproxyKnown != 0 {
		return fmt.Errorf("SYNPROXY options %#x unknown to iptables", opt&^synproxyKnown)
	}
	if opt&synproxySackPerm != 0 {
		b.WriteString(" --sack-perm")
	}
	if opt&synproxyTimestamp != 0 {
		b.WriteString(" --timestamp")
	}
	if opt&synproxyWScale != 0 {
		fmt.Fprintf(b, " --wscale %d", data[1])
	}
	if opt&synproxyMSS != 0 {
		fmt.Fprintf(b, " --mss %d", NE.Uint16(data[2:]))
	}
	if opt&synproxyECN != 0 {
		b.WriteString(" --ecn")
	}
	return nil
}
