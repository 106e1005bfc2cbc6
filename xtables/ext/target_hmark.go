package ext

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// struct xt_hmark_info (linux/netfilter/xt_HMARK.h), 60 bytes:
//
//	union nf_inet_addr src_mask, dst_mask;       (offsets 0, 16)
//	union hmark_ports port_mask, port_set;       (32, 36: network order)
//	__u32 flags; __u16 proto_mask;               (40, 44)
//	__u32 hashrnd, hmodulus, hoffset;            (48, 52, 56)
//
// flags has bit 1<<XT_HMARK_* per field given. The ports are kept as
// the kernel compares them, in network order; src and dst 16-bit halves
// of port_mask/port_set share the 32-bit SPI value's bytes.
type HMark struct {
	SrcMask, DstMask     [16]byte
	PortMask, PortSet    [4]byte
	Flags                uint32
	ProtoMask            uint16
	Rnd, Modulus, Offset uint32
}

const (
	hmarkSaddrMask = 1 << iota // XT_HMARK_SADDR_MASK
	hmarkDaddrMask
	hmarkSPI
	hmarkSPIMask
	hmarkSport
	hmarkDport
	hmarkSportMask
	hmarkDportMask
	hmarkProtoMask
	hmarkRnd
	hmarkModulus
	hmarkOffset
	hmarkCT
)

func (h *HMark) marshal() []byte {
	data := make([]byte, 64)
	copy(data[0:], h.SrcMask[:])
	copy(data[16:], h.DstMask[:])
	copy(data[32:], h.PortMask[:])
	copy(data[36:], h.PortSet[:])
	NE.PutUint32(data[40:], h.Flags)
	NE.PutUint16(data[44:], h.ProtoMask)
	NE.PutUint32(data[48:], h.Rnd)
	NE.PutUint32(data[52:], h.Modulus)
	NE.PutUint32(data[56:], h.Offset)
	return data
}

func unmarshalHMark(data []byte) *HMark {
	h := &HMark{
		Flags: NE.Uint32(data[40:]), ProtoMask: NE.Uint16(data[44:]),
		Rnd: NE.Uint32(data[48:]), Modulus: NE.Uint32(data[52:]), Offset: NE.Uint32(data[56:]),
	}
	copy(h.SrcMask[:], data[0:16])
	copy(h.DstMask[:], data[16:32])
	copy(h.PortMask[:], data[32:36])
	copy(h.PortSet[:], data[36:40])
	return h
}

// hmarkTuple is hmark_parse's list, in its order: each name, the option
// whose "once" flag it sets, the flag, and what it fills with ones.
var hmarkTuple = []struct {
	name, option string
	flag         uint32
}{
	{"ct", "", hmarkCT},
	{"src", "hmark-src-prefix", hmarkSaddrMask},
	{"dst", "hmark-dst-prefix", hmarkDaddrMask},
	{"sport", "hmark-sport-mask", hmarkSportMask},
	{"dport", "hmark-dport-mask", hmarkDportMask},
	{"proto", "hmark-proto-mask", hmarkProtoMask},
	{"spi", "hmark-spi-mask", hmarkSPIMask},
}

// hmarkTupleItem applies one --hmark-tuple word: a case-insensitive
// prefix of a name (strncasecmp over the word's length), first match wins.
func (h *HMark) tupleItem(word string, seen *optionSet) bool {
	for _, t := range hmarkTuple {
		if len(word) > len(t.name) || !strings.EqualFold(word, t.name[:len(word)]) {
			continue
		}
		h.Flags |= t.flag
		switch t.flag {
		case hmarkSaddrMask:
			h.SrcMask = [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		case hmarkDaddrMask:
			h.DstMask = [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		case hmarkSportMask:
			h.PortMask[0], h.PortMask[1] = 0xff, 0xff
		case hmarkDportMask:
			h.PortMask[2], h.PortMask[3] = 0xff, 0xff
		case hmarkProtoMask:
			h.ProtoMask = 0xffff
		case hmarkSPIMask:
			h.PortMask = [4]byte{0xff, 0xff, 0xff, 0xff}
		}
		// libxt_HMARK marks the option as given, so a later
		// --hmark-src-prefix (say) is "used twice".
		key := t.option
		if key == "" {
			key = "hmark-tuple ct"
		}
		if !seen.has(key) {
			seen.seen[key] = OptionValue{Name: key}
		}
		return true
	}
	return false
}

func parseHMark(in *ParseInput) ([]byte, error) {
	var h HMark
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		uintOpt := func(max uint64) (uint64, error) {
			v, err := uintOption(in, o, 0, max)
			if err != nil {
				return 0, err
			}
			return v, nil
		}
		switch o.Name {
		case "hmark-tuple":
			arg := o.Arg()
			for {
				word, rest, more := strings.Cut(arg, ",")
				if !more {
					break
				}
				if word == "" || !h.tupleItem(word, seen) {
					return nil, in.Errorf(o, "bad type %q", arg)
				}
				arg = rest
			}
			if arg == "" {
				return nil, in.Errorf(o, "\"--hmark-tuple\" requires a list of types with no spaces, e.g. src,dst,sport,dport,proto")
			}
			if !h.tupleItem(arg, seen) {
				return nil, in.Errorf(o, "bad type %q", arg)
			}
		case "hmark-src-prefix", "hmark-dst-prefix":
			n, err := parsePrefixLen(o.Arg(), in.Family)
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			if o.Name == "hmark-src-prefix" {
				h.SrcMask, h.Flags = prefixMask16(n), h.Flags|hmarkSaddrMask
			} else {
				h.DstMask, h.Flags = prefixMask16(n), h.Flags|hmarkDaddrMask
			}
		case "hmark-sport-mask", "hmark-dport-mask", "hmark-sport", "hmark-dport":
			v, err := uintOpt(0xffff)
			if err != nil {
				return nil, err
			}
			dst, flag := h.PortMask[0:2], uint32(hmarkSportMask)
			switch o.Name {
			case "hmark-dport-mask":
				dst, flag = h.PortMask[2:4], hmarkDportMask
			case "hmark-sport":
				dst, flag = h.PortSet[0:2], hmarkSport
			case "hmark-dport":
				dst, flag = h.PortSet[2:4], hmarkDport
			}
			binary.BigEndian.PutUint16(dst, uint16(v))
			h.Flags |= flag
		case "hmark-spi-mask", "hmark-spi":
			v, err := uintOpt(0xffffffff)
			if err != nil {
				return nil, err
			}
			if o.Name == "hmark-spi" {
				binary.BigEndian.PutUint32(h.PortSet[:], uint32(v))
				h.Flags |= hmarkSPI
			} else {
				binary.BigEndian.PutUint32(h.PortMask[:], uint32(v))
				h.Flags |= hmarkSPIMask
			}
		case "hmark-proto-mask":
			v, err := uintOpt(0xffff)
			if err != nil {
				return nil, err
			}
			h.ProtoMask, h.Flags = uint16(v), h.Flags|hmarkProtoMask
		case "hmark-rnd":
			v, err := uintOpt(0xffffffff)
			if err != nil {
				return nil, err
			}
			h.Rnd, h.Flags = uint32(v), h.Flags|hmarkRnd
		case "hmark-mod":
			v, err := uintOpt(0xffffffff)
			if err != nil || v < 1 {
				return nil, in.Errorf(o, "bad value %q, or out of range (1-4294967295)", o.Arg())
			}
			h.Modulus, h.Flags = uint32(v), h.Flags|hmarkModulus
		case "hmark-offset":
			v, err := uintOpt(0xffffffff)
			if err != nil {
				return nil, err
			}
			h.Offset, h.Flags = uint32(v), h.Flags|hmarkOffset
		}
	}
	// HMARK_check.
	switch {
	case !seen.has("hmark-mod"):
		return nil, in.Failf("--hmark-mod is mandatory")
	case !seen.has("hmark-rnd"):
		return nil, in.Failf("--hmark-rnd is mandatory")
	case seen.has("hmark-spi-mask") && (seen.has("hmark-sport-mask") || seen.has("hmark-dport-mask")):
		return nil, in.Failf("you cannot use --hmark-spi-mask and --hmark-?port-mask at the same time")
	}
	pkt := seen.has("hmark-tuple ct")
	for _, n := range []string{"hmark-src-prefix", "hmark-dst-prefix", "hmark-spi-mask", "hmark-sport-mask", "hmark-dport-mask", "hmark-proto-mask", "hmark-sport", "hmark-dport", "hmark-spi"} {
		pkt = pkt || seen.has(n)
	}
	if !pkt {
		return nil, in.Failf("you have to specify --hmark-tuple at least")
	}
	return h.marshal(), nil
}

// maskCIDR is xtables_ip[6]mask_to_cidr: the prefix length of a
// contiguous mask, -1 otherwise.
func maskCIDR(fam Family, mask [16]byte) int {
	if fam == IPv6 {
		return MaskBits(netip.AddrFrom16(mask))
	}
	return MaskBits(Addr4(mask[:4]))
}

func (h *HMark) save(b *strings.Builder, fam Family) {
	if h.Flags&hmarkSaddrMask != 0 {
		fmt.Fprintf(b, " --hmark-src-prefix %d", maskCIDR(fam, h.SrcMask))
	}
	if h.Flags&hmarkDaddrMask != 0 {
		fmt.Fprintf(b, " --hmark-dst-prefix %d", maskCIDR(fam, h.DstMask))
	}
	be16, be32 := binary.BigEndian.Uint16, binary.BigEndian.Uint32
	if h.Flags&hmarkSportMask != 0 {
		fmt.Fprintf(b, " --hmark-sport-mask 0x%04x", be16(h.PortMask[0:]))
	}
	if h.Flags&hmarkDportMask != 0 {
		fmt.Fprintf(b, " --hmark-dport-mask 0x%04x", be16(h.PortMask[2:]))
	}
	if h.Flags&hmarkSPIMask != 0 {
		fmt.Fprintf(b, " --hmark-spi-mask 0x%08x", be32(h.PortMask[:]))
	}
	if h.Flags&hmarkSport != 0 {
		fmt.Fprintf(b, " --hmark-sport 0x%04x", be16(h.PortSet[0:]))
	}
	if h.Flags&hmarkDport != 0 {
		fmt.Fprintf(b, " --hmark-dport 0x%04x", be16(h.PortSet[2:]))
	}
	if h.Flags&hmarkSPI != 0 {
		fmt.Fprintf(b, " --hmark-spi 0x%08x", be32(h.PortSet[:]))
	}
	if h.Flags&hmarkProtoMask != 0 {
		fmt.Fprintf(b, " --hmark-proto-mask 0x%02x", h.ProtoMask)
	}
	if h.Flags&hmarkRnd != 0 {
		fmt.Fprintf(b, " --hmark-rnd 0x%08x", h.Rnd)
	}
	if h.Flags&hmarkModulus != 0 {
		fmt.Fprintf(b, " --hmark-mod %d", h.Modulus)
	}
	if h.Flags&hmarkOffset != 0 {
		fmt.Fprintf(b, " --hmark-offset %d", h.Offset)
	}
	if h.Flags&hmarkCT != 0 {
		b.WriteString(" --hmark-tuple ct")
	}
}

func init() {
	for _, fam := range []Family{IPv4, IPv6} {
		Register(&Extension{
			Kind: Target, Name: "HMARK", Revision: 0, Family: fam,
			Size: 60,
			Options: []Option{
				{Name: "hmark-tuple", Args: 1},
				{Name: "hmark-src-prefix", Args: 1},
				{Name: "hmark-dst-prefix", Args: 1},
				{Name: "hmark-sport-mask", Args: 1},
				{Name: "hmark-dport-mask", Args: 1},
				{Name: "hmark-spi-mask", Args: 1},
				{Name: "hmark-sport", Args: 1},
				{Name: "hmark-dport", Args: 1},
				{Name: "hmark-spi", Args: 1},
				{Name: "hmark-proto-mask", Args: 1},
				{Name: "hmark-rnd", Args: 1},
				{Name: "hmark-mod", Args: 1},
				{Name: "hmark-offset", Args: 1},
			},
			Parse: parseHMark,
			Save: func(b *strings.Builder, r RuleInfo, data []byte) error {
				unmarshalHMark(data).save(b, r.Family)
				return nil
			},
		})
	}
}
