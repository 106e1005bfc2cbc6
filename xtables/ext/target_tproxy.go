package ext

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// TPROXY (libxt_TPROXY.c). IPv4 revision 0 carries struct
// xt_tproxy_target_info (linux/netfilter/xt_TPROXY.h), 16 bytes:
//
//	__u32 mark_mask; __u32 mark_value; __be32 laddr; __be16 lport; (2 bytes padding)
//
// revision 1 (IPv4 and IPv6; 1.8.9 uses it on both) carries struct
// xt_tproxy_target_info_v1, 28 bytes:
//
//	__u32 mark_mask; __u32 mark_value; union nf_inet_addr laddr; __be16 lport; (2 bytes padding)
//
// The kernel only takes it in mangle PREROUTING for -p tcp or -p udp.
var tproxyOptions = []Option{
	{Name: "on-port", Args: 1},
	{Name: "on-ip", Args: 1},
	{Name: "tproxy-mark", Args: 1},
}

func init() {
	for _, v := range []struct {
		rev  uint8
		fam  Family
		size int
	}{{0, IPv4, 16}, {1, IPv4, 28}, {1, IPv6, 28}} {
		addrLen, portOff := 4, 8+4
		if v.rev == 1 {
			addrLen, portOff = 16, 8+16
			if v.fam == IPv4 {
				addrLen = 4 // laddr.in, the first bytes of the union
			}
		}
		Register(&Extension{
			Kind: Target, Name: "TPROXY", Revision: v.rev, Family: v.fam,
			Size:    v.size,
			Options: tproxyOptions,
			// xt_TPROXY.c.
			Tables: []string{"mangle"},
			Hooks:  HookPreRouting,
			Parse: func(in *ParseInput) ([]byte, error) {
				return parseTPROXYTarget(in, v.size, addrLen, portOff, v.fam)
			},
			Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
				addr, _ := netip.AddrFromSlice(data[8 : 8+addrLen])
				fmt.Fprintf(b, " --on-port %d --on-ip %s --tproxy-mark %#x/%#x",
					binary.BigEndian.Uint16(data[portOff:]), FormatAddr(addr),
					NE.Uint32(data[4:]), NE.Uint32(data[0:]))
				return nil
			},
		})
	}
}

func parseTPROXYTarget(in *ParseInput, size, addrLen, portOff int, fam Family) ([]byte, error) {
	if (in.Proto != 6 && in.Proto != 17) || in.ProtoInvert {
		return nil, in.Failf("TPROXY needs -p tcp or -p udp (not inverted)")
	}
	data := make([]byte, Align(size))
	opts := newOptionSet(in)
	for _, o := range in.Options {
		if err := opts.once(o); err != nil {
			return nil, err
		}
		switch o.Name {
		case "on-port":
			p, err := tproxyPort(in.names(), o.Arg())
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			binary.BigEndian.PutUint16(data[portOff:], p)
		case "on-ip":
			a, err := parseHost(o.Arg(), fam, formOption)
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			copy(data[8:8+addrLen], a.AsSlice())
		case "tproxy-mark":
			v, m, err := markMaskOption(in, o)
			if err != nil {
				return nil, err
			}
			NE.PutUint32(data[0:], m)
			NE.PutUint32(data[4:], v)
		}
	}
	if !opts.has("on-port") {
		return nil, in.Failf("option \"--on-port\" must be specified")
	}
	return data, nil
}

// tproxyPort resolves XTTYPE_PORT as getaddrinfo(NULL, s) does: a decimal
// number or a service name. glibc silently truncates numbers above 65535
// (70000 becomes 4464); hostwall refuses them instead.
func tproxyPort(n Names, s string) (uint16, error) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	t = strings.TrimPrefix(t, "+")
	if t != "" && strings.Trim(t, "0123456789") == "" {
		v, err := strconv.ParseUint(t, 10, 64)
		if err != nil || v > 65535 {
			return 0, fmt.Errorf("port %q out of range (0-65535)", s)
		}
		return uint16(v), nil
	}
	if p, ok := n.Service(s, ""); ok {
		return p, nil
	}
	return 0, fmt.Errorf("port %q does not resolve to anything", s)
}
