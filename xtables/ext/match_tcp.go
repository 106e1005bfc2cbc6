package ext

import (
	"fmt"
	"strings"
)

// struct xt_tcp (linux/netfilter/xt_tcpudp.h), 12 bytes:
//
//	__u16 spts[2]; __u16 dpts[2]; __u8 option; __u8 flg_mask; __u8 flg_cmp; __u8 invflags;
//
// TCP is its value; the nf_tables codec and the published-port warning
// read it instead of the payload's offsets.
type TCP struct {
	SrcPorts, DstPorts [2]uint16 // inclusive ranges, 0:65535 when absent
	Option             uint8     // --tcp-option, 0 when absent
	FlagMask, FlagCmp  uint8     // --tcp-flags mask comp
	InvFlags           uint8     // XT_TCP_INV_*
}

// PortRange is an inclusive port range as a tcp, udp or dccp match
// holds it, and whether the option was inverted.
type PortRange struct {
	Lo, Hi uint16
	Invert bool
}

// Any reports the full range, what an absent port option means.
func (p PortRange) Any() bool { return p.Lo == 0 && p.Hi == 0xffff }

// Src and Dst are the source and destination port options.
func (t *TCP) Src() PortRange {
	return PortRange{t.SrcPorts[0], t.SrcPorts[1], t.InvFlags&TCPInvSrcPort != 0}
}
func (t *TCP) Dst() PortRange {
	return PortRange{t.DstPorts[0], t.DstPorts[1], t.InvFlags&TCPInvDstPort != 0}
}

// AllDefault reports the value of an option-less "-m tcp": every port,
// nothing else (libxt_tcp's tcp_all_zero, which iptables-nft keeps as
// nft_compat because it has no native expression).
func (t *TCP) AllDefault() bool {
	return *t == TCP{SrcPorts: [2]uint16{0, 0xffff}, DstPorts: [2]uint16{0, 0xffff}}
}

// Marshal is the payload (XT_ALIGN(12) bytes).
func (t *TCP) Marshal() []byte {
	data := make([]byte, 16)
	NE.PutUint16(data[0:], t.SrcPorts[0])
	NE.PutUint16(data[2:], t.SrcPorts[1])
	NE.PutUint16(data[4:], t.DstPorts[0])
	NE.PutUint16(data[6:], t.DstPorts[1])
	data[8], data[9], data[10], data[11] = t.Option, t.FlagMask, t.FlagCmp, t.InvFlags
	return data
}

// UnmarshalTCP reads an xt_tcp payload.
func UnmarshalTCP(data []byte) (*TCP, error) {
	if len(data) < 12 {
		return nil, fmt.Errorf("tcp: payload of %d bytes, want 12", len(data))
	}
	return &TCP{
		SrcPorts: [2]uint16{NE.Uint16(data[0:]), NE.Uint16(data[2:])},
		DstPorts: [2]uint16{NE.Uint16(data[4:]), NE.Uint16(data[6:])},
		Option:   data[8], FlagMask: data[9], FlagCmp: data[10], InvFlags: data[11],
	}, nil
}

// xt_tcp's inversion bits, exported for the nf_tables encoders.
const (
	TCPInvSrcPort = 0x01 // XT_TCP_INV_SRCPT
	TCPInvDstPort = 0x02 // XT_TCP_INV_DSTPT
	TCPInvFlags   = 0x04 // XT_TCP_INV_FLAGS
	TCPInvOption  = 0x08 // XT_TCP_INV_OPTION
)

var tcpFlagNames = []struct {
	name string
	flag uint8
}{
	{"FIN", 0x01}, {"SYN", 0x02}, {"RST", 0x04}, {"PSH", 0x08},
	{"ACK", 0x10}, {"URG", 0x20}, {"ALL", 0x3f}, {"NONE", 0},
}

func init() {
	Register(&Extension{
		Kind: Match, Name: "tcp", Revision: 0, Family: FamilyAny,
		Size: 12, Proto: 6,
		Options: []Option{
			{Name: "source-port", Args: 1, Invertible: true},
			{Name: "sport", Args: 1, Invertible: true},
			{Name: "destination-port", Args: 1, Invertible: true},
			{Name: "dport", Args: 1, Invertible: true},
			{Name: "syn", Args: 0, Invertible: true},
			{Name: "tcp-flags", Args: 2, Invertible: true},
			{Name: "tcp-option", Args: 1, Invertible: true},
		},
		Parse: parseTCP,
		Save:  saveTCP,
	})
}

func parseTCP(in *ParseInput) ([]byte, error) {
	t := TCP{SrcPorts: [2]uint16{0, 0xffff}, DstPorts: [2]uint16{0, 0xffff}}
	seen := newOptionSet(in)
	for _, o := range in.Options {
		switch o.Name {
		case "source-port", "sport", "destination-port", "dport":
			ports, inv, key := &t.SrcPorts, uint8(TCPInvSrcPort), "sport"
			if o.Name == "destination-port" || o.Name == "dport" {
				ports, inv, key = &t.DstPorts, TCPInvDstPort, "dport"
			}
			if err := seen.onceAs(o, key); err != nil {
				return nil, err
			}
			lo, hi, err := ParsePortRange(in.names(), o.Arg(), "tcp")
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			*ports = [2]uint16{lo, hi}
			if o.Invert {
				t.InvFlags |= inv
			}
		case "syn", "tcp-flags":
			if err := seen.onceExcluding(o, "syn", "tcp-flags"); err != nil {
				return nil, err
			}
			mask, cmp := "SYN,RST,ACK,FIN", "SYN"
			if o.Name == "tcp-flags" {
				mask, cmp = o.Args[0], o.Args[1]
			}
			m, err := parseTCPFlags(mask)
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			c, err := parseTCPFlags(cmp)
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			t.FlagMask, t.FlagCmp = m, c
			if o.Invert {
				t.InvFlags |= TCPInvFlags
			}
		case "tcp-option":
			if err := seen.once(o); err != nil {
				return nil, err
			}
			v, err := ParseUint(o.Arg(), 1, 255)
			if err != nil {
				return nil, in.Errorf(o, "bad TCP option: %v", err)
			}
			t.Option = uint8(v)
			if o.Invert {
				t.InvFlags |= TCPInvOption
			}
		}
	}
	return t.Marshal(), nil
}

func parseTCPFlags(s string) (uint8, error) {
	var flags uint8
	for _, name := range strings.Split(s, ",") {
		found := false
		for _, f := range tcpFlagNames {
			if strings.EqualFold(f.name, name) {
				flags |= f.flag
				found = true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown TCP flag %q", name)
		}
	}
	return flags, nil
}

func formatTCPFlags(b *strings.Builder, flags uint8) {
	if flags == 0 {
		b.WriteString("NONE")
		return
	}
	first := true
	for flags != 0 {
		for _, f := range tcpFlagNames {
			if flags&f.flag != 0 {
				if !first {
					b.WriteByte(',')
				}
				b.WriteString(f.name)
				first = false
				flags &^= f.flag
				break
			}
		}
	}
}

func saveTCP(b *strings.Builder, _ RuleInfo, data []byte) error {
	t, err := UnmarshalTCP(data)
	if err != nil {
		return err
	}
	inv := t.InvFlags
	if (t.FlagMask|t.FlagCmp)&^0x3f != 0 {
		// iptables has no name for ECE and CWR and would loop past its
		// flag table; no rule iptables writes has them.
		return fmt.Errorf("TCP flags %#x/%#x beyond FIN..URG", t.FlagMask, t.FlagCmp)
	}
	savePorts(b, "sport", t.Src())
	savePorts(b, "dport", t.Dst())
	if t.Option != 0 || inv&TCPInvOption != 0 {
		fmt.Fprintf(b, "%s --tcp-option %d", Invert(inv&TCPInvOption != 0), t.Option)
	}
	if t.FlagMask != 0 || inv&TCPInvFlags != 0 {
		fmt.Fprintf(b, "%s --tcp-flags ", Invert(inv&TCPInvFlags != 0))
		formatTCPFlags(b, t.FlagMask)
		b.WriteByte(' ')
		formatTCPFlags(b, t.FlagCmp)
	}
	return nil
}

// savePorts prints a tcp/udp port range option, skipping the full range
// as tcp_save and udp_save do.
func savePorts(b *strings.Builder, name string, p PortRange) {
	lo, hi, inv := p.Lo, p.Hi, p.Invert
	if p.Any() {
		return
	}
	if lo == hi {
		fmt.Fprintf(b, "%s --%s %d", Invert(inv), name, lo)
	} else {
		fmt.Fprintf(b, "%s --%s %d:%d", Invert(inv), name, lo, hi)
	}
}
