package ext

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// The NAT range of DNAT, SNAT, MASQUERADE, REDIRECT and NETMAP: one value
// (NATRange) laid out as whichever struct the revision carries.

// nfInetAddr returns the address in a 16-byte union nf_inet_addr field
// for the family (IPv4 uses its first four bytes).
func nfInetAddr(b []byte, fam Family) netip.Addr {
	if fam == IPv6 {
		return Addr16(b)
	}
	return Addr4(b)
}

// NAT range flags (linux/netfilter/nf_nat.h).
const (
	natMapIPs         = 1 << 0 // NF_NAT_RANGE_MAP_IPS
	natProtoSpecified = 1 << 1 // NF_NAT_RANGE_PROTO_SPECIFIED
	natProtoRandom    = 1 << 2 // NF_NAT_RANGE_PROTO_RANDOM
	natPersistent     = 1 << 3 // NF_NAT_RANGE_PERSISTENT
	natRandomFully    = 1 << 4 // NF_NAT_RANGE_PROTO_RANDOM_FULLY
	natProtoOffset    = 1 << 5 // NF_NAT_RANGE_PROTO_OFFSET
	// natKnownFlags are the flags libxt_NAT.c prints; a payload with any
	// other flag cannot be saved faithfully.
	natKnownFlags = natMapIPs | natProtoSpecified | natProtoRandom | natPersistent | natRandomFully | natProtoOffset
)

// NATRange is struct nf_nat_range2, the common form libxt_NAT.c parses
// into and prints from whatever the revision's payload is: the value of
// DNAT, SNAT, MASQUERADE and REDIRECT. Addresses are the 16-byte union
// nf_inet_addr; ports are host-order values (the payload keeps them
// big-endian).
type NATRange struct {
	Flags            uint32 // NF_NAT_RANGE_*
	MinAddr, MaxAddr [16]byte
	MinPort, MaxPort uint16
	BasePort         uint16 // with NF_NAT_RANGE_PROTO_OFFSET: "lo-hi/base"
}

// Ports returns the port range the target maps to, false when it keeps
// the packet's port.
func (r *NATRange) Ports() (lo, hi uint16, ok bool) {
	if r.Flags&natProtoSpecified == 0 {
		return 0, 0, false
	}
	return r.MinPort, r.MaxPort, true
}

// natPortOK is __NAT_parse's test of the rule's protocol: ports can only
// be mapped for these (ICMP's id counts as a port).
func natPortOK(proto uint16) bool {
	switch proto {
	case 6, 17, 132, 33, 1: // tcp, udp, sctp, dccp, icmp
		return true
	}
	return false
}

// natPort reads a port number or, when no number starts s, a service
// name from /etc/services (any protocol, as getservbyname(name, NULL)).
// It returns the port and the unread rest; a service name eats all of s.
func natPort(n Names, s string, min uint64) (uint16, string, bool) {
	if v, rest, ok := Strtoul(s); ok && v >= min && v <= 65535 {
		return uint16(v), rest, true
	}
	if p, ok := n.Service(s, ""); ok {
		return p, "", true
	}
	return 0, s, false
}

// parsePorts is libxt_NAT.c's parse_ports: "port", "lo-hi" or
// "lo-hi/base" (base makes it a shifted port map).
func (r *NATRange) parsePorts(n Names, s string, portOK bool) error {
	if !portOK {
		return fmt.Errorf("need TCP, UDP, SCTP or DCCP with port specification")
	}
	r.Flags |= natProtoSpecified
	lo, rest, ok := natPort(n, s, 0)
	if !ok {
		return fmt.Errorf("port %q not valid", s)
	}
	switch {
	case rest == "":
		r.MinPort, r.MaxPort = lo, lo
		return nil
	case rest[0] == ':':
		return fmt.Errorf("invalid port:port syntax %q - use dash", s)
	case rest[0] != '-':
		return fmt.Errorf("garbage after port value: %q", rest)
	}
	// A range: no service names for its upper end.
	hiText := rest[1:]
	hi64, rest, ok := Strtoul(hiText)
	if !ok || hi64 > 65535 {
		return fmt.Errorf("port %q not valid", hiText)
	}
	hi := uint16(hi64)
	if hi < lo {
		return fmt.Errorf("port range %q funky: %d is below %d", s, hi, lo)
	}
	r.MinPort, r.MaxPort = lo, hi
	switch {
	case rest == "":
		return nil
	case rest[0] != '/':
		return fmt.Errorf("garbage after port range: %q", rest)
	}
	// parse_ports does not look past the base port's digits.
	base, _, ok := natPort(n, rest[1:], 1)
	if !ok {
		return fmt.Errorf("port %q not valid", rest[1:])
	}
	r.Flags |= natProtoOffset
	r.BasePort = base
	return nil
}

// parseTo is libxt_NAT.c's parse_to for --to-source/--to-destination:
// [addr[-addr]][:port[-port[/port]]], IPv6 addresses in brackets when a
// port follows.
func (r *NATRange) parseTo(n Names, arg string, portOK bool, fam Family) error {
	var start, portPart string
	hasColon := false
	if open := strings.IndexByte(arg, '['); open < 0 {
		// One colon is a port; more make an IPv6 address without one.
		start = arg
		if i := strings.IndexByte(arg, ':'); i >= 0 && !strings.Contains(arg[i+1:], ":") {
			start, portPart, hasColon = arg[:i], arg[i+1:], true
		}
	} else {
		inner := arg[open+1:]
		end := strings.IndexByte(inner, ']')
		if end < 0 || fam != IPv6 {
			return fmt.Errorf("invalid address format %q", arg)
		}
		start = inner[:end]
		if i := strings.IndexByte(inner[end+1:], ':'); i >= 0 {
			portPart, hasColon = inner[end+1+i+1:], true
		}
	}
	if hasColon {
		if err := r.parsePorts(n, portPart, portOK); err != nil {
			return err
		}
		// parse_to takes a colon at offset 0 ("[:port") or 2 ("[]:port",
		// but also "ab:port") to mean that no address was given.
		if c := len(arg) - len(portPart) - 1; c == 0 || c == 2 {
			return nil
		}
	}
	r.Flags |= natMapIPs
	minText, maxText, isRange := strings.Cut(start, "-")
	lo, err := parseHostBytes(minText, fam, formPton)
	if err != nil {
		return err
	}
	hi := lo
	if isRange {
		if hi, err = parseHostBytes(maxText, fam, formPton); err != nil {
			return err
		}
	}
	r.MinAddr, r.MaxAddr = lo, hi
	return nil
}

// natParseOpts builds the range from the options every NAT target
// shares; rangeOpt is the option carrying the address/port range
// ("to-source", "to-destination" or "to-ports"), mandatory unless
// rangeOpt is "to-ports".
func natParseOpts(in *ParseInput, rangeOpt string) (*NATRange, error) {
	r := &NATRange{}
	opts := newOptionSet(in)
	portOK := natPortOK(in.Proto)
	for _, o := range in.Options {
		if err := opts.once(o); err != nil {
			return nil, err
		}
		var err error
		switch o.Name {
		case "to-source", "to-destination":
			err = r.parseTo(in.names(), o.Arg(), portOK, in.Family)
		case "to-ports":
			err = r.parsePorts(in.names(), o.Arg(), portOK)
		case "random":
			r.Flags |= natProtoRandom
		case "random-fully":
			r.Flags |= natRandomFully
		case "persistent":
			r.Flags |= natPersistent
		}
		if err != nil {
			return nil, in.Errorf(o, "%v", err)
		}
	}
	if rangeOpt != "to-ports" && !opts.has(rangeOpt) {
		return nil, in.Failf("option \"--%s\" must be specified", rangeOpt)
	}
	return r, nil
}

// natRejectOffset is DNAT_fcheck's refusal of shifted port maps for the
// payloads that have no room for the base port.
func natRejectOffset(in *ParseInput, r *NATRange) error {
	if r.Flags&natProtoOffset != 0 {
		return in.Failf("shifted portmap ranges not supported with this revision")
	}
	return nil
}

// Payload layouts.
const (
	// struct nf_nat_ipv4_multi_range_compat: __u32 rangesize; struct
	// nf_nat_ipv4_range { __u32 flags; __be32 min_ip, max_ip; __be16 min,
	// max; } range[1];
	natMRCSize = 20
	// struct nf_nat_range: __u32 flags; union nf_inet_addr min_addr,
	// max_addr; __be16 min_proto, max_proto;
	natRange1Size = 40
	// struct nf_nat_range2: nf_nat_range plus __be16 base_proto, padded.
	natRange2Size = 44
)

// encodeMRC fills struct nf_nat_ipv4_multi_range_compat with rangesize 1
// (the kernel only takes one range). The base port has no place there.
func (r *NATRange) encodeMRC() []byte {
	data := make([]byte, Align(natMRCSize))
	NE.PutUint32(data[0:], 1)
	NE.PutUint32(data[4:], r.Flags)
	copy(data[8:12], r.MinAddr[:4])
	copy(data[12:16], r.MaxAddr[:4])
	binary.BigEndian.PutUint16(data[16:], r.MinPort)
	binary.BigEndian.PutUint16(data[18:], r.MaxPort)
	return data
}

// decodeMRC is RANGE2_INIT_FROM_IPV4_MRC: only range[0] exists for
// iptables, so any other rangesize cannot be printed faithfully.
func decodeMRC(data []byte) (*NATRange, error) {
	if n := NE.Uint32(data[0:]); n != 1 {
		return nil, fmt.Errorf("rangesize %d, iptables prints only rangesize 1", n)
	}
	r := &NATRange{Flags: NE.Uint32(data[4:])}
	copy(r.MinAddr[:4], data[8:12])
	copy(r.MaxAddr[:4], data[12:16])
	r.MinPort, r.MaxPort = binary.BigEndian.Uint16(data[16:]), binary.BigEndian.Uint16(data[18:])
	return r, nil
}

// encodeRange fills struct nf_nat_range (withBase=false) or
// nf_nat_range2 (withBase=true).
func (r *NATRange) encodeRange(withBase bool) []byte {
	size := natRange1Size
	if withBase {
		size = natRange2Size
	}
	data := make([]byte, Align(size))
	NE.PutUint32(data[0:], r.Flags)
	copy(data[4:20], r.MinAddr[:])
	copy(data[20:36], r.MaxAddr[:])
	binary.BigEndian.PutUint16(data[36:], r.MinPort)
	binary.BigEndian.PutUint16(data[38:], r.MaxPort)
	if withBase {
		binary.BigEndian.PutUint16(data[40:], r.BasePort)
	}
	return data
}

func decodeRange(data []byte, withBase bool) *NATRange {
	r := &NATRange{Flags: NE.Uint32(data[0:])}
	copy(r.MinAddr[:], data[4:20])
	copy(r.MaxAddr[:], data[20:36])
	r.MinPort, r.MaxPort = binary.BigEndian.Uint16(data[36:]), binary.BigEndian.Uint16(data[38:])
	if withBase {
		r.BasePort = binary.BigEndian.Uint16(data[40:])
	}
	return r
}

// Text is the range as --to-source, --to-destination or --to-ports print
// it (__NAT_print): "addr[-addr]", ":port[-port[/base]]", or both, IPv6
// addresses in brackets when a port follows; "" for neither.
func (r *NATRange) Text(fam Family) string {
	var s strings.Builder
	brackets := fam == IPv6 && r.Flags&natProtoSpecified != 0
	if r.Flags&natMapIPs != 0 {
		if brackets {
			s.WriteByte('[')
		}
		s.WriteString(FormatAddr(nfInetAddr(r.MinAddr[:], fam)))
		if r.MinAddr != r.MaxAddr {
			s.WriteByte('-')
			s.WriteString(FormatAddr(nfInetAddr(r.MaxAddr[:], fam)))
		}
		if brackets {
			s.WriteByte(']')
		}
	}
	if r.Flags&natProtoSpecified != 0 {
		s.WriteString(":" + strconv.Itoa(int(r.MinPort)))
		if r.MaxPort != r.MinPort {
			s.WriteString("-" + strconv.Itoa(int(r.MaxPort)))
		}
		if r.Flags&natProtoOffset != 0 {
			s.WriteString("/" + strconv.Itoa(int(r.BasePort)))
		}
	}
	return s.String()
}

// save is __NAT_print for iptables-save: " --<opt> <range>" when there is
// a range, then the flag options. skipColon drops the leading ':' of a
// ports-only range (MASQUERADE and REDIRECT print bare ports).
func (r *NATRange) save(b *strings.Builder, fam Family, opt string, skipColon bool) error {
	if extra := r.Flags &^ natKnownFlags; extra != 0 {
		return fmt.Errorf("NAT range flags %#x unknown to iptables", extra)
	}
	if r.Flags&natProtoOffset == 0 && r.BasePort != 0 {
		return fmt.Errorf("base port %d without the shifted-portmap flag", r.BasePort)
	}
	if text := r.Text(fam); text != "" {
		if skipColon {
			text = strings.TrimPrefix(text, ":")
		}
		b.WriteString(" --" + opt + " " + text)
	}
	if r.Flags&natProtoRandom != 0 {
		b.WriteString(" --random")
	}
	if r.Flags&natRandomFully != 0 {
		b.WriteString(" --random-fully")
	}
	if r.Flags&natPersistent != 0 {
		b.WriteString(" --persistent")
	}
	return nil
}

// natLayout tells which struct a NAT target revision carries.
type natLayout uint8

const (
	natLayoutMRC    natLayout = iota // nf_nat_ipv4_multi_range_compat
	natLayoutRange1                  // nf_nat_range
	natLayoutRange2                  // nf_nat_range2
)

// natTarget describes one registration of a libxt_NAT.c target.
type natTarget struct {
	name     string
	rev      uint8
	fam      Family
	layout   natLayout
	options  []Option
	rangeOpt string // option holding the range: to-source, to-destination, to-ports
	// skipColon prints a ports-only range without its ':' (MASQUERADE,
	// REDIRECT).
	skipColon bool
	// noOffset refuses a shifted port map (DNAT_fcheck, DNAT_fcheck6),
	// where the payload has no base port.
	noOffset bool
}

// natHooks are the hooks of each NAT target (xt_nat.c, xt_MASQUERADE.c,
// xt_REDIRECT.c): destination NAT before routing or on locally sent
// packets, source NAT after routing or on locally received ones.
var natHooks = map[string]Hooks{
	"DNAT":       HookPreRouting | HookOutput,
	"REDIRECT":   HookPreRouting | HookOutput,
	"SNAT":       HookPostRouting | HookInput,
	"MASQUERADE": HookPostRouting,
}

// natLayouts records each registration's layout, for UnmarshalNAT.
var natLayouts = map[natKey]natLayout{}

type natKey struct {
	name string
	rev  uint8
	fam  Family
}

// marshal lays r out as the layout's struct.
func (r *NATRange) marshal(l natLayout) []byte {
	switch l {
	case natLayoutMRC:
		return r.encodeMRC()
	case natLayoutRange1:
		return r.encodeRange(false)
	}
	return r.encodeRange(true)
}

func unmarshalNATRange(l natLayout, data []byte) (*NATRange, error) {
	size := natSizes[l]
	if len(data) < size {
		return nil, fmt.Errorf("NAT range: payload of %d bytes, want %d", len(data), size)
	}
	switch l {
	case natLayoutMRC:
		return decodeMRC(data)
	case natLayoutRange1:
		return decodeRange(data, false), nil
	}
	return decodeRange(data, true), nil
}

var natSizes = map[natLayout]int{natLayoutMRC: natMRCSize, natLayoutRange1: natRange1Size, natLayoutRange2: natRange2Size}

// UnmarshalNAT reads the payload of a NAT target (DNAT, SNAT, MASQUERADE,
// REDIRECT) of the revision and family, whichever struct it carries.
func UnmarshalNAT(name string, rev uint8, fam Family, data []byte) (*NATRange, error) {
	l, ok := natLayouts[natKey{name, rev, fam}]
	if !ok {
		return nil, fmt.Errorf("%s revision %d is not a NAT target of family %v", name, rev, fam)
	}
	return unmarshalNATRange(l, data)
}

func registerNAT(t natTarget) {
	natLayouts[natKey{t.name, t.rev, t.fam}] = t.layout
	size := natSizes[t.layout]
	Register(&Extension{
		Kind: Target, Name: t.name, Revision: t.rev, Family: t.fam,
		Size:    size,
		Options: t.options,
		Tables:  []string{"nat"},
		Hooks:   natHooks[t.name],
		Parse: func(in *ParseInput) ([]byte, error) {
			r, err := natParseOpts(in, t.rangeOpt)
			if err != nil {
				return nil, err
			}
			if t.noOffset {
				if err := natRejectOffset(in, r); err != nil {
					return nil, err
				}
			}
			return r.marshal(t.layout), nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			r, err := unmarshalNATRange(t.layout, data)
			if err != nil {
				return err
			}
			return r.save(b, t.fam, t.rangeOpt, t.skipColon)
		},
	})
}
