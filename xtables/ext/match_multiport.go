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

// Multiport is the value of both revisions; revision 0 has no PFlags and
// no Invert.
type Multiport struct {
	Flags  uint8 // XT_MULTIPORT_SOURCE, _DESTINATION or _EITHER
	Count  uint8 // slots of Ports in use
	Ports  [multiportMax]uint16
	PFlags [multiportMax]uint8 // 1: Ports[i]:Ports[i+1] is a range
	Invert uint8
}

var multiportSizes = map[uint8]int{0: 32, 1: 48}

// Marshal lays m out as revision rev (0 or 1).
func (m *Multiport) Marshal(rev uint8) ([]byte, error) {
	size, ok := multiportSizes[rev]
	if !ok {
		return nil, fmt.Errorf("multiport revision %d is not supported", rev)
	}
	data := make([]byte, size)
	data[0], data[1] = m.Flags, m.Count
	for i, p := range m.Ports {
		NE.PutUint16(data[2+2*i:], p)
	}
	if rev == 1 {
		copy(data[32:47], m.PFlags[:])
		data[47] = m.Invert
	}
	return data, nil
}

// UnmarshalMultiport reads a payload of revision rev (0 or 1).
func UnmarshalMultiport(data []byte, rev uint8) (*Multiport, error) {
	size, ok := multiportSizes[rev]
	if !ok {
		return nil, fmt.Errorf("multiport revision %d is not supported", rev)
	}
	if len(data) < size {
		return nil, fmt.Errorf("multiport: payload of %d bytes, want %d for revision %d", len(data), size, rev)
	}
	m := &Multiport{Flags: data[0], Count: data[1]}
	for i := range m.Ports {
		m.Ports[i] = NE.Uint16(data[2+2*i:])
	}
	if rev == 1 {
		copy(m.PFlags[:], data[32:47])
		m.Invert = data[47]
	}
	return m, nil
}

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
		Size: multiportSizes[0], Options: multiportOptions,
		Parse: parseMultiport, Save: saveMultiport,
	})
	Register(&Extension{
		Kind: Match, Name: "multiport", Revision: 1, Family: FamilyAny,
		Size: multiportSizes[1], Options: multiportOptions,
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
	var m Multiport
	if len(in.Options) == 0 {
		return nil, in.Failf("multiport needs one of --sports, --dports or --ports")
	}
	// The three options exclude each other and themselves: one only.
	seen := newOptionSet(in)
	for _, o := range in.Options {
		key := map[string]string{"source-ports": "sports", "destination-ports": "dports"}[o.Name]
		if key == "" {
			key = o.Name
		}
		if err := seen.onceAs(o, key); err != nil {
			return nil, err
		}
		if err := seen.exclusive("sports", "dports", "ports"); err != nil {
			return nil, err
		}
	}
	o := in.Options[0]
	proto, err := multiportProto(in.RuleInfo)
	if err != nil {
		return nil, in.Errorf(o, "%v", err)
	}
	switch o.Name {
	case "source-ports", "sports":
		m.Flags = multiportSource
	case "destination-ports", "dports":
		m.Flags = multiportDest
	default:
		m.Flags = multiportEither
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
		m.Ports[n] = lo
		if isRange {
			hi, err := ParsePort(in.names(), b, proto)
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			if lo >= hi {
				return nil, in.Errorf(o, "invalid portrange %q specified", item)
			}
			m.PFlags[n] = 1
			n++
			m.Ports[n] = hi
		}
		n++
	}
	m.Count = uint8(n)
	if o.Invert {
		m.Invert = 1
	}
	return m.Marshal(in.Revision)
}

func saveMultiport(b *strings.Builder, _ RuleInfo, data []byte) error {
	rev := uint8(0)
	if len(data) >= multiportSizes[1] {
		rev = 1
	}
	m, err := UnmarshalMultiport(data, rev)
	if err != nil {
		return err
	}
	count := int(m.Count)
	if count == 0 || count > multiportMax {
		return fmt.Errorf("multiport: %d ports", count)
	}
	if m.Invert != 0 {
		b.WriteString(" !")
	}
	switch m.Flags {
	case multiportSource:
		b.WriteString(" --sports ")
	case multiportDest:
		b.WriteString(" --dports ")
	case multiportEither:
		b.WriteString(" --ports ")
	default:
		return fmt.Errorf("multiport: unknown flags %d", m.Flags)
	}
	for i := 0; i < count; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(b, "%d", m.Ports[i])
		if m.PFlags[i] != 0 {
			if i+1 >= count {
				return fmt.Errorf("multiport: range flag on the last port")
			}
			i++
			fmt.Fprintf(b, ":%d", m.Ports[i])
		}
	}
	return nil
}
