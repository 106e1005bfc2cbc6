package ext

import "fmt"

// protocols is Debian netbase's /etc/protocols (IANA protocol numbers),
// built in so that a static hostwall prints and parses protocol names as
// iptables does through getprotobynumber/getprotobyname on Debian, even in
// an image with no /etc at all. Order matters: the first entry for a
// number is the name printed.
var protocols = []struct {
	name    string
	num     uint16
	aliases []string
}{
	{"ip", 0, []string{"IP"}},
	{"hopopt", 0, []string{"HOPOPT"}},
	{"icmp", 1, []string{"ICMP"}},
	{"igmp", 2, []string{"IGMP"}},
	{"ggp", 3, []string{"GGP"}},
	{"ipencap", 4, []string{"IP-ENCAP"}},
	{"st", 5, []string{"ST"}},
	{"tcp", 6, []string{"TCP"}},
	{"egp", 8, []string{"EGP"}},
	{"igp", 9, []string{"IGP"}},
	{"pup", 12, []string{"PUP"}},
	{"udp", 17, []string{"UDP"}},
	{"hmp", 20, []string{"HMP"}},
	{"xns-idp", 22, []string{"XNS-IDP"}},
	{"rdp", 27, []string{"RDP"}},
	{"iso-tp4", 29, []string{"ISO-TP4"}},
	{"dccp", 33, []string{"DCCP"}},
	{"xtp", 36, []string{"XTP"}},
	{"ddp", 37, []string{"DDP"}},
	{"idpr-cmtp", 38, []string{"IDPR-CMTP"}},
	{"ipv6", 41, []string{"IPv6"}},
	{"ipv6-route", 43, []string{"IPv6-Route"}},
	{"ipv6-frag", 44, []string{"IPv6-Frag"}},
	{"idrp", 45, []string{"IDRP"}},
	{"rsvp", 46, []string{"RSVP"}},
	{"gre", 47, []string{"GRE"}},
	{"esp", 50, []string{"IPSEC-ESP"}},
	{"ah", 51, []string{"IPSEC-AH"}},
	{"skip", 57, []string{"SKIP"}},
	{"ipv6-icmp", 58, []string{"IPv6-ICMP"}},
	{"ipv6-nonxt", 59, []string{"IPv6-NoNxt"}},
	{"ipv6-opts", 60, []string{"IPv6-Opts"}},
	{"rspf", 73, []string{"RSPF", "CPHB"}},
	{"vmtp", 81, []string{"VMTP"}},
	{"eigrp", 88, []string{"EIGRP"}},
	{"ospf", 89, []string{"OSPFIGP"}},
	{"ax.25", 93, []string{"AX.25"}},
	{"ipip", 94, []string{"IPIP"}},
	{"etherip", 97, []string{"ETHERIP"}},
	{"encap", 98, []string{"ENCAP"}},
	{"pim", 103, []string{"PIM"}},
	{"ipcomp", 108, []string{"IPCOMP"}},
	{"vrrp", 112, []string{"VRRP"}},
	{"l2tp", 115, []string{"L2TP"}},
	{"isis", 124, []string{"ISIS"}},
	{"sctp", 132, []string{"SCTP"}},
	{"fc", 133, []string{"FC"}},
	{"mobility-header", 135, []string{"Mobility-Header"}},
	{"udplite", 136, []string{"UDPLite"}},
	{"mpls-in-ip", 137, []string{"MPLS-in-IP"}},
	{"manet", 138, []string{}},
	{"hip", 139, []string{"HIP"}},
	{"shim6", 140, []string{"Shim6"}},
	{"wesp", 141, []string{"WESP"}},
	{"rohc", 142, []string{"ROHC"}},
	{"ethernet", 143, []string{"Ethernet"}},
	{"mptcp", 262, []string{"MPTCP"}},
}

// chainProtos are the protocol names libxtables knows before
// /etc/protocols (xtables_chain_protos), in its order.
var chainProtos = []struct {
	name string
	num  uint16
}{
	{"tcp", 6}, {"sctp", 132}, {"udp", 17}, {"udplite", 136}, {"icmp", 1},
	{"ipv6-icmp", 58}, {"icmpv6", 58}, {"esp", 50}, {"ah", 51},
	{"mobility-header", 135}, {"ipv6-mh", 135}, {"mh", 135}, {"all", 0},
}

// ProtocolByName is getprotobyname on the built-in table: official names
// and aliases, case sensitive.
func ProtocolByName(name string) (uint16, bool) {
	for _, e := range protocols {
		if e.name == name {
			return e.num, true
		}
		for _, a := range e.aliases {
			if a == name {
				return e.num, true
			}
		}
	}
	return 0, false
}

// ProtocolName is getprotobynumber on the built-in table: the official
// name of the first entry with that number.
func ProtocolName(num uint16) (string, bool) {
	for _, e := range protocols {
		if e.num == num {
			return e.name, true
		}
	}
	return "", false
}

// ProtoName is the name iptables-save prints for a protocol number
// (proto_to_name: libxtables' names first, then /etc/protocols), or "".
func ProtoName(p uint16) string {
	for _, c := range chainProtos {
		if c.num == p {
			return c.name
		}
	}
	if p != 0 {
		if name, ok := ProtocolName(p); ok {
			return name
		}
	}
	return ""
}

// ParseProtocol is xtables_parse_protocol: a number 0-255, one of
// libxtables' names, or a protocol name or alias.
func ParseProtocol(s string) (uint16, error) {
	if v, rest, ok := StrtoulRange(s, 0, 255); ok && rest == "" {
		return uint16(v), nil
	}
	for _, c := range chainProtos {
		if c.name == s {
			return c.num, nil
		}
	}
	if p, ok := ProtocolByName(s); ok {
		return p, nil
	}
	return 0, fmt.Errorf("unknown protocol %q specified", s)
}

// parseProtocol8 is ParseProtocol for a one-byte protocol field.
func parseProtocol8(s string) (uint8, error) {
	p, err := ParseProtocol(s)
	if err == nil && p > 255 {
		err = fmt.Errorf("protocol %q (%d) does not fit the rule's one-byte field", s, p)
	}
	return uint8(p), err
}
