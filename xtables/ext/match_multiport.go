package ext

import (
	"errors"
	"fmt"
	"strings"
)

// struct xt_multiport (linux/netfilter/xt_multiport.h), revision 0, 32 bytes:
//
//	__u8 flags; __u8 count; __u16 ports[15];
//
// struct xt_multiport_v1, revision 1, 48 bytes:
//
//	__u8 flags; __u8 count; __u16 ports[15]; __u8 pflags[15]; __u8 invert;
//
// In revision 1 a range "lo:hi" takes two slots of ports, the first with
// pflags set. iptables 1.8.9 picks revision 1; revision 0 is kept so
// rules written by old tools still save.
const (
	multiportSource = 0 // XT_MULTIPORT_SOURCE
	multiportDest   = 1 // XT_MULTIPORT_DESTINATION
	multiportEither = 2 // XT_MULTIPORT_EITHER
	multiportMax    = 15
)

var multiportOptions = []Option{
	{Name: "source-ports", Args: 1, Invertible: true},
	{Name: "sports", Args: 1, Invertible: true},
	{Name: "destination-ports", Args: 1, Invertible: true},
	{Name: "dports", Args: 1, Invertible: true},
	{Name: "ports", Args: 1, Invertible: true},
}

func init() {
	// The C code registers per family only to reach ipt_entry or
	// ip6t_entry for the protocol; the payload is the same, so one
	// registration serves both.
	Register(&Extension{
		Kind: Match, Name: "multiport", Revision: 0, Family: FamilyAny,
		Size: 32, Options: multiportOptions,
		Parse: parseMultiport, Save: saveMultiport,
	})
	Register(&Extension{
		Kind: Match, Name: "multiport", Revision: 1, Family: FamilyAny,
		Size: 48, Options: multiportOptions,
		Parse: parseMultiport, Save: saveMultiport,
	})
}

// multiportProto returns the protocol name ports are resolved for, or the
// error check_proto gives: multiport needs a port-carrying protocol.
func multiportProto(r RuleInfo) (string, error) {
	const only = "multiport only works with TCP, UDP, UDPLITE, SCTP and DCCP"
	if r.ProtoInvert {
		return "", errors.New(only)
	}
	switch r.Proto {
	case 6:
		return "tcp", nil
	case 17:
		return "udp", nil
	case 136:
		return "udplite", nil
	case 132:
		return "sctp", nil
	case 33:
		return "dccp", nil
	case 0:
		return "", errors.New("multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'")
	}
	return "", errors.New(only)
}

func parseMultiport(in *ParseInput) ([]byte, error) {
	v1 := in.Revision == 1
	size := 32
	if v1 {
		size = 48
	}
	data := make([]byte, size)
	if len(in.Options) == 0 {
		return nil, in.Failf("multiport needs one of --sports, --dports or --ports")
	}
	// The three options exclude each other and themselves: one only.
	if len(in.Options) > 1 {
		return nil, in.Errorf(in.Options[1], "only one of --sports, --dports or --ports is allowed")
	}
	o := in.Options[0]
	proto, err := multiportProto(in.RuleInfo)
	if err != nil {
		return nil, in.Errorf(o, "%v", err)
	}
	switch o.Name {
	case "source-ports", "sports":
		data[0] = multiportSource
	case "destination-ports", "dports":
		data[0] = multiportDest
	default:
		data[0] = multiportEither
	}
	if o.Invert && !v1 {
		return nil, in.Errorf(o, "multiport.0 does not support invert")
	}
	n := 0
	for _, item := range strings.Split(o.Arg(), ",") {
		a, b, isRange := strings.Cut(item, ":")
		if isRange && !v1 {
			return nil, in.Errorf(o, "invalid port/service %q: revision 0 has no port ranges", item)
		}
		if n == multiportMax || (isRange && n == multiportMax-1) {
			return nil, in.Errorf(o, "too many ports specified (at most %d, a range counts 2)", multiportMax)
		}
		lo, err := ParsePort(in.names(), a, proto)
		if err != nil {
			return nil, in.Errorf(o, "%v", err)
		}
		NE.PutUint16(data[2+2*n:], lo)
		if isRange {
			hi, err := ParsePort(in.names(), b, proto)
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			if lo >= hi {
				return nil, in.Errorf(o, "invalid portrange %q specified", item)
			}
			data[32+n] = 1
			n++
			NE.PutUint16(data[2+2*n:], hi)
		}
		n++
	}
	data[1] = uint8(n)
	if o.Invert {
		data[47] = 1
	}
	return data, nil
}

func saveMultiport(b *strings.Builder, _ RuleInfo, data []byte) error {
	v1 := len(data) >= 48
	count := int(data[1])
	if count == 0 || count > multiportMax {
		return fmt.Errorf("multiport: %d ports", count)
	}
	if v1 && data[47] != 0 {
		b.WriteString(" !")
	}
	switch data[0] {
	case multiportSource:
		b.WriteString(" --sports ")
	case multiportDest:
		b.WriteString(" --dports ")
	case multiportEither:
		b.WriteString(" --ports ")
	default:
		return fmt.Errorf("multiport: unknown flags %d", data[0])
	}
	for i := 0; i < count; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(b, "%d", NE.Uint16(data[2+2*i:]))
		if v1 && data[32+i] != 0 {
			if i+1 >= count {
				return fmt.Errorf("multiport: range flag on the last port")
			}
			i++
			fmt.Fprintf(b, ":%d", NE.Uint16(data[2+2*i:]))
		}
	}
	return nil
}
