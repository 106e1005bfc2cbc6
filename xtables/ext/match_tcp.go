package ext

import (
	"fmt"
	"strings"
)

// struct xt_tcp (linux/netfilter/xt_tcpudp.h), 12 bytes:
//
//	__u16 spts[2]; __u16 dpts[2]; __u8 option; __u8 flg_mask; __u8 flg_cmp; __u8 invflags;
const (
	tcpInvSrcPort = 0x01 // XT_TCP_INV_SRCPT
	tcpInvDstPort = 0x02 // XT_TCP_INV_DSTPT
	tcpInvFlags   = 0x04 // XT_TCP_INV_FLAGS
	tcpInvOption  = 0x08 // XT_TCP_INV_OPTION
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
	data := make([]byte, 16)
	NE.PutUint16(data[2:], 0xffff)
	NE.PutUint16(data[6:], 0xffff)
	var seen uint8
	once := func(o OptionValue, bit uint8, what string) error {
		if seen&bit != 0 {
			return in.Errorf(o, "only one %s allowed", what)
		}
		seen |= bit
		return nil
	}
	for _, o := range in.Options {
		switch o.Name {
		case "source-port", "sport", "destination-port", "dport":
			off, inv, bit := 0, uint8(tcpInvSrcPort), uint8(1)
			if o.Name == "destination-port" || o.Name == "dport" {
				off, inv, bit = 4, tcpInvDstPort, 2
			}
			if err := once(o, bit, "--"+o.Name); err != nil {
				return nil, err
			}
			lo, hi, err := ParsePortRange(in.names(), o.Arg(), "tcp")
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			NE.PutUint16(data[off:], lo)
			NE.PutUint16(data[off+2:], hi)
			if o.Invert {
				data[11] |= inv
			}
		case "syn", "tcp-flags":
			if err := once(o, 4, "of --syn or --tcp-flags"); err != nil {
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
			data[9], data[10] = m, c
			if o.Invert {
				data[11] |= tcpInvFlags
			}
		case "tcp-option":
			if err := once(o, 8, "--tcp-option"); err != nil {
				return nil, err
			}
			v, err := ParseUint(o.Arg(), 1, 255)
			if err != nil {
				return nil, in.Errorf(o, "bad TCP option: %v", err)
			}
			data[8] = uint8(v)
			if o.Invert {
				data[11] |= tcpInvOption
			}
		}
	}
	return data, nil
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
	inv := data[11]
	if (data[9]|data[10])&^0x3f != 0 {
		// iptables has no name for ECE and CWR and would loop past its
		// flag table; no rule iptables writes has them.
		return fmt.Errorf("TCP flags %#x/%#x beyond FIN..URG", data[9], data[10])
	}
	savePorts(b, "sport", NE.Uint16(data[0:]), NE.Uint16(data[2:]), inv&tcpInvSrcPort != 0)
	savePorts(b, "dport", NE.Uint16(data[4:]), NE.Uint16(data[6:]), inv&tcpInvDstPort != 0)
	if data[8] != 0 || inv&tcpInvOption != 0 {
		fmt.Fprintf(b, "%s --tcp-option %d", Invert(inv&tcpInvOption != 0), data[8])
	}
	if data[9] != 0 || inv&tcpInvFlags != 0 {
		fmt.Fprintf(b, "%s --tcp-flags ", Invert(inv&tcpInvFlags != 0))
		formatTCPFlags(b, data[9])
		b.WriteByte(' ')
		formatTCPFlags(b, data[10])
	}
	return nil
}

// savePorts prints a tcp/udp port range option, skipping the full range
// as tcp_save and udp_save do.
func savePorts(b *strings.Builder, name string, lo, hi uint16, inv bool) {
	if lo == 0 && hi == 0xffff {
		return
	}
	if lo == hi {
		fmt.Fprintf(b, "%s --%s %d", Invert(inv), name, lo)
	} else {
		fmt.Fprintf(b, "%s --%s %d:%d", Invert(inv), name, lo, hi)
	}
}
