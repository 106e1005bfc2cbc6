package ext

import (
	"fmt"
	"strings"
)

// struct xt_pkttype_info (linux/netfilter/xt_pkttype.h), 8 bytes:
//
//	int pkttype; int invert;
//
// pkttype is a PACKET_* value of linux/if_packet.h.
//
// PktType is its value.
type PktType struct {
	Type   int32
	Invert int32 // non-zero for "! --pkt-type"
}

// Marshal is the payload (8 bytes).
func (p *PktType) Marshal() []byte {
	data := make([]byte, 8)
	NE.PutUint32(data[0:], uint32(p.Type))
	NE.PutUint32(data[4:], uint32(p.Invert))
	return data
}

// UnmarshalPktType reads an xt_pkttype_info payload.
func UnmarshalPktType(data []byte) (*PktType, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("pkttype: payload of %d bytes, want 8", len(data))
	}
	return &PktType{Type: int32(NE.Uint32(data[0:])), Invert: int32(NE.Uint32(data[4:]))}, nil
}

// pkttypeNames is libxt_pkttype.c's supported_types: the first name of a
// value is the one save prints.
var pkttypeNames = []struct {
	name string
	typ  int32
}{
	{"unicast", 0},   // PACKET_HOST
	{"broadcast", 1}, // PACKET_BROADCAST
	{"multicast", 2}, // PACKET_MULTICAST
	{"otherhost", 3}, // PACKET_OTHERHOST
	{"bcast", 1},
	{"mcast", 2},
	{"host", 0},
}

func init() {
	Register(&Extension{
		Kind: Match, Name: "pkttype", Revision: 0, Family: FamilyAny,
		Size:    8,
		Options: []Option{{Name: "pkt-type", Args: 1, Invertible: true}},
		Parse: func(in *ParseInput) ([]byte, error) {
			var p PktType
			if len(in.Options) == 0 {
				return nil, in.Failf("option --pkt-type must be specified")
			}
			if len(in.Options) > 1 {
				return nil, errOnce(in, in.Options[1])
			}
			o := in.Options[0]
			found := false
			for _, t := range pkttypeNames {
				if strings.EqualFold(t.name, o.Arg()) {
					p.Type = t.typ
					found = true
					break
				}
			}
			if !found {
				return nil, in.Errorf(o, "bad packet type %q (unicast, broadcast, multicast or otherhost)", o.Arg())
			}
			if o.Invert {
				p.Invert = 1
			}
			return p.Marshal(), nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			p, err := UnmarshalPktType(data)
			if err != nil {
				return err
			}
			fmt.Fprintf(b, "%s --pkt-type ", Invert(p.Invert != 0))
			for _, t := range pkttypeNames {
				if t.typ == p.Type {
					b.WriteString(t.name)
					return nil
				}
			}
			// A type iptables has no name for (PACKET_OUTGOING, say)
			// is printed as a number, as print_pkttype does.
			fmt.Fprintf(b, "%d", p.Type)
			return nil
		},
	})
}
