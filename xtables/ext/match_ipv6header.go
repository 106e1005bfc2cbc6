package ext

import (
	"fmt"
	"strings"
)

// struct ip6t_ipv6header_info (linux/netfilter_ipv6/ip6t_ipv6header.h), 3 bytes:
//
//	__u8 matchflags; __u8 invflags; __u8 modeflag;
//
// matchflags has one bit per header (MASK_*); invflags and modeflag are
// 0x00 or 0xff.
const ipv6headerSize = 3

// ipv6headerFlags are libip6t_ipv6header's chain_flags: header protocol
// number and mask bit, in print order.
var ipv6headerFlags = []struct{ proto, flag uint8 }{
	{0, 0x80},   // hop-by-hop options
	{60, 0x40},  // destination options
	{43, 0x20},  // routing
	{44, 0x10},  // fragment
	{51, 0x08},  // ah
	{50, 0x04},  // esp
	{59, 0x02},  // no next header
	{255, 0x01}, // any upper-layer protocol
}

// ipv6headerNames are libip6t_ipv6header's chain_protos, used when
// /etc/protocols does not know a name (and for printing when it does not
// know a number), in its order.
var ipv6headerNames = []struct {
	name  string
	proto uint8
}{
	{"hop-by-hop", 0}, {"protocol", 255}, {"hop", 0}, {"dst", 60},
	{"route", 43}, {"frag", 44}, {"auth", 51}, {"esp", 50},
	{"none", 59}, {"prot", 255}, {"0", 0}, {"60", 60}, {"43", 43},
	{"44", 44}, {"51", 51}, {"50", 50}, {"59", 59}, {"255", 255},
}

func init() {
	Register(&Extension{
		Kind: Match, Name: "ipv6header", Revision: 0, Family: IPv6,
		Size: ipv6headerSize,
		Options: []Option{
			{Name: "header", Args: 1, Invertible: true},
			{Name: "soft"},
		},
		Parse: parseIPv6Header,
		Save:  saveIPv6Header,
	})
}

func parseIPv6Header(in *ParseInput) ([]byte, error) {
	data := make([]byte, Align(ipv6headerSize))
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		if o.Name == "soft" {
			data[2] = 0xff
			continue
		}
		for _, name := range strings.Split(o.Arg(), ",") {
			if name == "" {
				continue // strtok skips empty fields
			}
			flag, err := ipv6headerFlag(name)
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			data[0] |= flag
		}
		if data[0] == 0 {
			return nil, in.Errorf(o, "cannot parse header names %q", o.Arg())
		}
		if o.Invert {
			data[1] = 0xff
		}
	}
	if !seen.has("header") {
		return nil, in.Failf("ipv6header match needs --header")
	}
	return data, nil
}

// ipv6headerFlag is name_to_proto then add_proto_to_mask: an
// /etc/protocols name first, then the built-in names.
func ipv6headerFlag(name string) (uint8, error) {
	p16, ok := ProtocolByName(name)
	ok = ok && p16 <= 255
	proto := uint8(p16)
	if !ok {
		for _, n := range ipv6headerNames {
			if n.name == name {
				proto, ok = n.proto, true
				break
			}
		}
	}
	if !ok {
		return 0, fmt.Errorf("unknown header %q specified", name)
	}
	for _, f := range ipv6headerFlags {
		if f.proto == proto {
			return f.flag, nil
		}
	}
	return 0, fmt.Errorf("header %q (protocol %d) is not an IPv6 extension header", name, proto)
}

func saveIPv6Header(b *strings.Builder, _ RuleInfo, data []byte) error {
	b.WriteString(Invert(data[1] != 0))
	b.WriteString(" --header ")
	if data[0] == 0 {
		b.WriteString("NONE")
	}
	sep := ""
	for _, f := range ipv6headerFlags {
		if data[0]&f.flag == 0 {
			continue
		}
		// proto_to_name: /etc/protocols for non-zero numbers, then the
		// built-in list.
		name, ok := "", false
		if f.proto != 0 {
			name, ok = ProtocolName(uint16(f.proto))
		}
		for _, n := range ipv6headerNames {
			if !ok && n.proto == f.proto {
				name, ok = n.name, true
			}
		}
		b.WriteString(sep + name)
		sep = ","
	}
	if data[2] != 0 {
		b.WriteString(" --soft")
	}
	return nil
}
