package ext

import (
	"fmt"
	"strings"
)

// struct xt_dccp_info (linux/netfilter/xt_dccp.h), 16 bytes:
//
//	__u16 dpts[2]; __u16 spts[2];         (offsets 0, 4: min, max)
//	__u16 flags; __u16 invflags;          (8, 10: XT_DCCP_*)
//	__u16 typemask; __u8 option;          (12, 14)
//
// Note dpts comes before spts, as in xt_sctp_info.
type DCCP struct {
	Dpts, Spts      [2]uint16
	Flags, InvFlags uint16
	TypeMask        uint16
	Option          uint8
}

const (
	dccpSrcPorts = 0x01 // XT_DCCP_SRC_PORTS
	dccpDstPorts = 0x02 // XT_DCCP_DEST_PORTS
	dccpType     = 0x04 // XT_DCCP_TYPE
	dccpOption   = 0x08 // XT_DCCP_OPTION

	dccpInvalid      = 10     // DCCP_PKT_INVALID
	dccpInvalidOther = 0xf800 // types 11-15, set along with INVALID
)

// dccpTypes is libxt_dccp.c's dccp_pkt_types, indexed by type.
var dccpTypes = []string{"REQUEST", "RESPONSE", "DATA", "ACK", "DATAACK", "CLOSEREQ", "CLOSE", "RESET", "SYNC", "SYNCACK", "INVALID"}

func (d *DCCP) marshal() []byte {
	data := make([]byte, 16)
	NE.PutUint16(data[0:], d.Dpts[0])
	NE.PutUint16(data[2:], d.Dpts[1])
	NE.PutUint16(data[4:], d.Spts[0])
	NE.PutUint16(data[6:], d.Spts[1])
	NE.PutUint16(data[8:], d.Flags)
	NE.PutUint16(data[10:], d.InvFlags)
	NE.PutUint16(data[12:], d.TypeMask)
	data[14] = d.Option
	return data
}

func unmarshalDCCP(data []byte) *DCCP {
	return &DCCP{
		Dpts:  [2]uint16{NE.Uint16(data[0:]), NE.Uint16(data[2:])},
		Spts:  [2]uint16{NE.Uint16(data[4:]), NE.Uint16(data[6:])},
		Flags: NE.Uint16(data[8:]), InvFlags: NE.Uint16(data[10:]),
		TypeMask: NE.Uint16(data[12:]), Option: data[14],
	}
}

func parseDCCP(in *ParseInput) ([]byte, error) {
	var d DCCP
	seen := newOptionSet(in)
	for _, o := range in.Options {
		var bit uint16
		switch o.Name {
		case "source-port", "sport":
			bit = dccpSrcPorts
			o.Name = "source-port"
		case "destination-port", "dport":
			bit = dccpDstPorts
			o.Name = "destination-port"
		case "dccp-types":
			bit = dccpType
		case "dccp-option":
			bit = dccpOption
		}
		if err := seen.once(o); err != nil {
			return nil, err
		}
		d.Flags |= bit
		if o.Invert {
			d.InvFlags |= bit
		}
		switch bit {
		case dccpSrcPorts, dccpDstPorts:
			lo, hi, err := parsePortRC(in.names(), o.Arg())
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			if bit == dccpSrcPorts {
				d.Spts = [2]uint16{lo, hi}
			} else {
				d.Dpts = [2]uint16{lo, hi}
			}
		case dccpType:
			d.TypeMask = 0
			for _, t := range strings.Split(o.Arg(), ",") {
				if t == "" { // strtok skips empty fields
					continue
				}
				i := 0
				for ; i < len(dccpTypes); i++ {
					if strings.EqualFold(dccpTypes[i], t) {
						d.TypeMask |= 1 << i
						break
					}
				}
				if i == len(dccpTypes) {
					return nil, in.Errorf(o, "unknown DCCP type `%s'", t)
				}
			}
			if d.TypeMask&(1<<dccpInvalid) != 0 {
				d.TypeMask |= dccpInvalidOther
			}
		case dccpOption:
			v, err := ParseUint(o.Arg(), 0, 255)
			if err != nil || v < 1 {
				return nil, in.Errorf(o, "bad value %q, or out of range (1-255)", o.Arg())
			}
			d.Option = uint8(v)
		}
	}
	return d.marshal(), nil
}

func (d *DCCP) save(b *strings.Builder) {
	ports := func(name string, bit uint16, p [2]uint16) {
		if d.Flags&bit == 0 {
			return
		}
		b.WriteString(Invert(d.InvFlags&bit != 0))
		if p[0] != p[1] {
			fmt.Fprintf(b, " --%s %d:%d", name, p[0], p[1])
		} else {
			fmt.Fprintf(b, " --%s %d", name, p[0])
		}
	}
	ports("sport", dccpSrcPorts, d.Spts)
	ports("dport", dccpDstPorts, d.Dpts)
	if d.Flags&dccpType != 0 {
		fmt.Fprintf(b, "%s --dccp-types ", Invert(d.InvFlags&dccpType != 0))
		types, first := d.TypeMask, true
		for types != 0 {
			i := 0
			for types&(1<<i) == 0 {
				i++
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			if i < len(dccpTypes) {
				b.WriteString(dccpTypes[i])
			} else {
				fmt.Fprintf(b, "%d", i)
			}
			if i == dccpInvalid {
				break
			}
			types &^= 1 << i
		}
	}
	if d.Flags&dccpOption != 0 {
		fmt.Fprintf(b, "%s --dccp-option %d", Invert(d.InvFlags&dccpOption != 0), d.Option)
	}
}

func init() {
	Register(&Extension{
		Kind: Match, Name: "dccp", Revision: 0, Family: FamilyAny,
		Size: 16, Proto: 33,
		Options: []Option{
			{Name: "source-port", Args: 1, Invertible: true},
			{Name: "sport", Args: 1, Invertible: true},
			{Name: "destination-port", Args: 1, Invertible: true},
			{Name: "dport", Args: 1, Invertible: true},
			{Name: "dccp-types", Args: 1, Invertible: true},
			{Name: "dccp-option", Args: 1, Invertible: true},
		},
		Parse: parseDCCP,
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			unmarshalDCCP(data).save(b)
			return nil
		},
	})
}
