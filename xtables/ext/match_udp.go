package ext

import "strings"

// struct xt_udp (linux/netfilter/xt_tcpudp.h), 10 bytes:
//
//	__u16 spts[2]; __u16 dpts[2]; __u8 invflags;
const (
	udpInvSrcPort = 0x01 // XT_UDP_INV_SRCPT
	udpInvDstPort = 0x02 // XT_UDP_INV_DSTPT
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
	data := make([]byte, 16)
	// An absent option is the full range, as udp_init sets it.
	NE.PutUint16(data[2:], 0xffff)
	NE.PutUint16(data[6:], 0xffff)
	seen := basicOnce{}
	for _, o := range in.Options {
		off, group, inv := 0, "sport", uint8(udpInvSrcPort)
		if o.Name == "destination-port" || o.Name == "dport" {
			off, group, inv = 4, "dport", udpInvDstPort
		}
		if err := seen.check(in, o, group); err != nil {
			return nil, err
		}
		// udp takes ports as XTTYPE_PORTRC: decimal or service names,
		// and a reversed range is accepted (it simply never matches).
		lo, hi, err := basicPortRC(in.names(), o.Arg())
		if err != nil {
			return nil, in.Errorf(o, "%v", err)
		}
		NE.PutUint16(data[off:], lo)
		NE.PutUint16(data[off+2:], hi)
		if o.Invert {
			data[8] |= inv
		}
	}
	return data, nil
}

// saveUDP prints as udp_save: a full range is left out even when it was
// inverted, like tcp.
func saveUDP(b *strings.Builder, _ RuleInfo, data []byte) error {
	inv := data[8]
	savePorts(b, "sport", NE.Uint16(data[0:]), NE.Uint16(data[2:]), inv&udpInvSrcPort != 0)
	savePorts(b, "dport", NE.Uint16(data[4:]), NE.Uint16(data[6:]), inv&udpInvDstPort != 0)
	return nil
}
