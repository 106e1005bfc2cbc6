package ext

import (
	"fmt"
	"strings"
)

// struct xt_udp (linux/netfilter/xt_tcpudp.h), 10 bytes:
//
//	__u16 spts[2]; __u16 dpts[2]; __u8 invflags;
//
// UDP is its value.
type UDP struct {
	SrcPorts, DstPorts [2]uint16 // inclusive ranges, 0:65535 when absent
	InvFlags           uint8     // XT_UDP_INV_*
}

// Src and Dst are the source and destination port options.
func (u *UDP) Src() PortRange {
	return PortRange{u.SrcPorts[0], u.SrcPorts[1], u.InvFlags&UDPInvSrcPort != 0}
}
func (u *UDP) Dst() PortRange {
	return PortRange{u.DstPorts[0], u.DstPorts[1], u.InvFlags&UDPInvDstPort != 0}
}

// AllDefault reports the value of an option-less "-m udp" (udp_all_zero).
func (u *UDP) AllDefault() bool {
	return *u == UDP{SrcPorts: [2]uint16{0, 0xffff}, DstPorts: [2]uint16{0, 0xffff}}
}

// Marshal is the payload (XT_ALIGN(10) bytes).
func (u *UDP) Marshal() []byte {
	data := make([]byte, 16)
	NE.PutUint16(data[0:], u.SrcPorts[0])
	NE.PutUint16(data[2:], u.SrcPorts[1])
	NE.PutUint16(data[4:], u.DstPorts[0])
	NE.PutUint16(data[6:], u.DstPorts[1])
	data[8] = u.InvFlags
	return data
}

// UnmarshalUDP reads an xt_udp payload.
func UnmarshalUDP(data []byte) (*UDP, error) {
	if len(data) < 10 {
		return nil, fmt.Errorf("udp: payload of %d bytes, want 10", len(data))
	}
	return &UDP{
		SrcPorts: [2]uint16{NE.Uint16(data[0:]), NE.Uint16(data[2:])},
		DstPorts: [2]uint16{NE.Uint16(data[4:]), NE.Uint16(data[6:])},
		InvFlags: data[8],
	}, nil
}

// xt_udp's inversion bits, exported for the nf_tables encoders.
const (
	UDPInvSrcPort = 0x01 // XT_UDP_INV_SRCPT
	UDPInvDstPort = 0x02 // XT_UDP_INV_DSTPT
	UDPInvMask    = 0x03 // XT_UDP_INV_MASK
)

func init() {
	Register(&Extension{
		Kind: Match, Name: "udp", Revision: 0, Family: FamilyAny,
		Size: 10, Proto: 17,
		Options: []Option{
			{Name: "source-port", Args: 1, Invertible: true},
			{Name: "sport", Args: 1, Invertible: true},
			{Name: "destination-port", Args: 1, Invertible: true},
			{Name: "dport", Args: 1, Invertible: true},
		},
		Parse: parseUDP,
		Save:  saveUDP,
	})
}

func parseUDP(in *ParseInput) ([]byte, error) {
	// An absent option is the full range, as udp_init sets it.
	u := UDP{SrcPorts: [2]uint16{0, 0xffff}, DstPorts: [2]uint16{0, 0xffff}}
	seen := newOptionSet(in)
	for _, o := range in.Options {
		ports, group, inv := &u.SrcPorts, "sport", uint8(UDPInvSrcPort)
		if o.Name == "destination-port" || o.Name == "dport" {
			ports, group, inv = &u.DstPorts, "dport", UDPInvDstPort
		}
		if err := seen.onceAs(o, group); err != nil {
			return nil, err
		}
		// udp takes ports as XTTYPE_PORTRC: decimal or service names,
		// and a reversed range is accepted (it simply never matches).
		lo, hi, err := parsePortRC(in.names(), o.Arg())
		if err != nil {
			return nil, in.Errorf(o, "%v", err)
		}
		*ports = [2]uint16{lo, hi}
		if o.Invert {
			u.InvFlags |= inv
		}
	}
	return u.Marshal(), nil
}

// saveUDP prints as udp_save: a full range is left out even when it was
// inverted, like tcp.
func saveUDP(b *strings.Builder, _ RuleInfo, data []byte) error {
	u, err := UnmarshalUDP(data)
	if err != nil {
		return err
	}
	savePorts(b, "sport", u.Src())
	savePorts(b, "dport", u.Dst())
	return nil
}
