package ext

import (
	"fmt"
	"strings"
)

// struct xt_addrtype_info (linux/netfilter/xt_addrtype.h), revision 0
// (IPv4 only), 12 bytes:
//
//	__u16 source; __u16 dest; __u32 invert_source; __u32 invert_dest;
//
// struct xt_addrtype_info_v1, revision 1 (both families), 8 bytes:
//
//	__u16 source; __u16 dest; __u32 flags;
//
// source and dest are masks of 1 << RTN_* route types.
const (
	addrtypeInvSource = 0x1 // XT_ADDRTYPE_INVERT_SOURCE
	addrtypeInvDest   = 0x2 // XT_ADDRTYPE_INVERT_DEST
	addrtypeLimitIn   = 0x4 // XT_ADDRTYPE_LIMIT_IFACE_IN
	addrtypeLimitOut  = 0x8 // XT_ADDRTYPE_LIMIT_IFACE_OUT
)

// addrtypeNames are the RTN_* names in their enum order, so that a name's
// index is its bit.
var addrtypeNames = []string{
	"UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST",
	"BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE",
}

func init() {
	Register(&Extension{
		Kind: Match, Name: "addrtype", Revision: 0, Family: IPv4,
		Size: 12,
		Options: []Option{
			{Name: "src-type", Args: 1, Invertible: true},
			{Name: "dst-type", Args: 1, Invertible: true},
		},
		Parse: parseAddrtype, Save: saveAddrtype,
	})
	Register(&Extension{
		Kind: Match, Name: "addrtype", Revision: 1, Family: FamilyAny,
		Size: 8,
		Options: []Option{
			{Name: "src-type", Args: 1, Invertible: true},
			{Name: "dst-type", Args: 1, Invertible: true},
			{Name: "limit-iface-in"},
			{Name: "limit-iface-out"},
		},
		Parse: parseAddrtype, Save: saveAddrtype,
		Check: checkAddrtype,
	})
}

// parseAddrtypes parses a comma-separated list of route types as
// parse_types does: each item is a case-insensitive prefix, and the first
// name (in enum order) it begins wins, so "U" is UNSPEC.
func parseAddrtypes(s string) (uint16, error) {
	var mask uint16
	for _, item := range strings.Split(s, ",") {
		found := false
		for i, name := range addrtypeNames {
			if isAbbrevFold(item, name) {
				mask |= 1 << i
				found = true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("bad type %q", item)
		}
	}
	return mask, nil
}

func parseAddrtype(in *ParseInput) ([]byte, error) {
	v1 := in.Revision == 1
	data := make([]byte, 16)
	if v1 {
		data = data[:8]
	}
	seen := newOptionSet(in)
	var flags uint32
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		switch o.Name {
		case "src-type", "dst-type":
			mask, err := parseAddrtypes(o.Arg())
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			off, inv := 0, uint32(addrtypeInvSource)
			if o.Name == "dst-type" {
				off, inv = 2, addrtypeInvDest
			}
			NE.PutUint16(data[off:], mask)
			if o.Invert {
				flags |= inv
			}
		case "limit-iface-in":
			if seen.has("limit-iface-out") {
				return nil, in.Errorf(o, "--limit-iface-in cannot be used with --limit-iface-out")
			}
			flags |= addrtypeLimitIn
		case "limit-iface-out":
			if seen.has("limit-iface-in") {
				return nil, in.Errorf(o, "--limit-iface-out cannot be used with --limit-iface-in")
			}
			flags |= addrtypeLimitOut
		}
	}
	if !seen.has("src-type") && !seen.has("dst-type") {
		return nil, in.Failf("addrtype: you must specify --src-type or --dst-type")
	}
	if in.Family == IPv6 {
		// addrtype_mt_checkentry_v1 refuses these for IPv6; say so
		// here rather than let the kernel answer EINVAL.
		all := NE.Uint16(data[0:]) | NE.Uint16(data[2:])
		switch {
		case all&(1<<6) != 0:
			return nil, in.Failf("addrtype: IPv6 has no BLACKHOLE matching")
		case all >= 1<<8:
			return nil, in.Failf("addrtype: IPv6 has no PROHIBIT, THROW, NAT or XRESOLVE matching")
		case all&(1<<3) != 0:
			return nil, in.Failf("addrtype: IPv6 has no BROADCAST matching")
		}
	}
	if v1 {
		NE.PutUint32(data[4:], flags)
	} else {
		if flags&addrtypeInvSource != 0 {
			NE.PutUint32(data[4:], 1)
		}
		if flags&addrtypeInvDest != 0 {
			NE.PutUint32(data[8:], 1)
		}
	}
	return data, nil
}

func saveAddrtype(b *strings.Builder, _ RuleInfo, data []byte) error {
	src, dst := NE.Uint16(data[0:]), NE.Uint16(data[2:])
	var flags uint32
	if len(data) == 8 {
		flags = NE.Uint32(data[4:])
		if flags&^0xf != 0 {
			return fmt.Errorf("addrtype: unknown flags %#x", flags)
		}
	} else {
		if NE.Uint32(data[4:]) != 0 {
			flags |= addrtypeInvSource
		}
		if NE.Uint32(data[8:]) != 0 {
			flags |= addrtypeInvDest
		}
	}
	if (src|dst)>>len(addrtypeNames) != 0 {
		return fmt.Errorf("addrtype: unknown route types in mask %#x", src|dst)
	}
	saveTypes := func(option string, mask uint16, inv bool) {
		if mask == 0 {
			return
		}
		fmt.Fprintf(b, "%s --%s ", Invert(inv), option)
		sep := ""
		for i, name := range addrtypeNames {
			if mask&(1<<i) != 0 {
				b.WriteString(sep + name)
				sep = ","
			}
		}
	}
	saveTypes("src-type", src, flags&addrtypeInvSource != 0)
	saveTypes("dst-type", dst, flags&addrtypeInvDest != 0)
	if flags&addrtypeLimitIn != 0 {
		b.WriteString(" --limit-iface-in")
	}
	if flags&addrtypeLimitOut != 0 {
		b.WriteString(" --limit-iface-out")
	}
	return nil
}

// checkAddrtype is addrtype_mt_checkentry_v1 (xt_addrtype.c): the input
// interface exists only on the way in, the output one only on the way
// out (struct xt_addrtype_info_v1: flags at 4).
func checkAddrtype(p *Placement) error {
	flags := NE.Uint32(p.Data[4:])
	if err := hooksOnly("match addrtype", func([]byte) bool { return flags&addrtypeLimitIn != 0 },
		HookPreRouting|HookInput|HookForward, "--limit-iface-in")(p); err != nil {
		return err
	}
	return hooksOnly("match addrtype", func([]byte) bool { return flags&addrtypeLimitOut != 0 },
		HookForward|HookOutput|HookPostRouting, "--limit-iface-out")(p)
}
