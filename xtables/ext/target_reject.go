package ext

import (
	"fmt"
	"strings"
)

// struct ipt_reject_info (linux/netfilter_ipv4/ipt_REJECT.h) and struct
// ip6t_reject_info (linux/netfilter_ipv6/ip6t_REJECT.h), 4 bytes each:
//
//	enum/__u32 with;
//
// The two families number their reply types differently, so REJECT is
// registered once per family (libipt_REJECT and libip6t_REJECT).
//
// Reject is its value.
type Reject struct {
	With uint32 // IPT_* or IP6T_* reply type, numbered per family
}

// Marshal is the payload (XT_ALIGN(4) bytes).
func (r *Reject) Marshal() []byte {
	data := make([]byte, Align(4))
	NE.PutUint32(data, r.With)
	return data
}

// UnmarshalReject reads an ipt_reject_info or ip6t_reject_info payload.
func UnmarshalReject(data []byte) (*Reject, error) {
	if len(data) < 4 {
		return nil, fmt.Errorf("REJECT: payload of %d bytes, want 4", len(data))
	}
	return &Reject{With: NE.Uint32(data)}, nil
}

// TCPReset reports the tcp-reset reply, whose number depends on the
// family.
func (r *Reject) TCPReset(fam Family) bool {
	if fam == IPv6 {
		return r.With == rejectTCPRst6
	}
	return r.With == rejectTCPRst4
}

// rejectType is one reply a REJECT rule can send: the name save prints and
// the alias iptables also accepts. The table index is the kernel's value;
// holes (echo-reply, dropped long ago, and IPv6 not-neighbour, which
// ip6tables never offered) have no name.
type rejectType struct{ name, alias string }

var rejectTypes4 = []rejectType{
	0: {"icmp-net-unreachable", "net-unreach"},
	1: {"icmp-host-unreachable", "host-unreach"},
	2: {"icmp-proto-unreachable", "proto-unreach"},
	3: {"icmp-port-unreachable", "port-unreach"},
	4: {}, // IPT_ICMP_ECHOREPLY, refused by the kernel
	5: {"icmp-net-prohibited", "net-prohib"},
	6: {"icmp-host-prohibited", "host-prohib"},
	7: {"tcp-reset", "tcp-rst"},
	8: {"icmp-admin-prohibited", "admin-prohib"},
}

var rejectTypes6 = []rejectType{
	0: {"icmp6-no-route", "no-route"},
	1: {"icmp6-adm-prohibited", "adm-prohibited"},
	2: {}, // IP6T_ICMP6_NOT_NEIGHBOUR, never offered by ip6tables
	3: {"icmp6-addr-unreachable", "addr-unreach"},
	4: {"icmp6-port-unreachable", "port-unreach"},
	5: {}, // IP6T_ICMP6_ECHOREPLY, refused by the kernel
	6: {"tcp-reset", "tcp-reset"},
	7: {"icmp6-policy-fail", "policy-fail"},
	8: {"icmp6-reject-route", "reject-route"},
}

const (
	rejectDefault4 = 3 // IPT_ICMP_PORT_UNREACHABLE
	rejectDefault6 = 4 // IP6T_ICMP6_PORT_UNREACH
	rejectTCPRst4  = 7 // IPT_TCP_RESET
	rejectTCPRst6  = 6 // IP6T_TCP_RESET
)

func init() {
	for _, fam := range []Family{IPv4, IPv6} {
		types, def, rst := rejectTypes4, uint32(rejectDefault4), uint32(rejectTCPRst4)
		if fam == IPv6 {
			types, def, rst = rejectTypes6, rejectDefault6, rejectTCPRst6
		}
		Register(&Extension{
			Kind: Target, Name: "REJECT", Revision: 0, Family: fam,
			Size:    4,
			Options: []Option{{Name: "reject-with", Args: 1}},
			// ipt_REJECT.c, ip6t_REJECT.c.
			Tables: []string{"filter"},
			Hooks:  HookInput | HookForward | HookOutput,
			Parse: func(in *ParseInput) ([]byte, error) {
				return parseReject(in, types, def, rst)
			},
			Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
				r, err := UnmarshalReject(data)
				if err != nil {
					return err
				}
				with := r.With
				if with >= uint32(len(types)) || types[with].name == "" {
					return fmt.Errorf("REJECT: unknown reject type %d", with)
				}
				b.WriteString(" --reject-with " + types[with].name)
				return nil
			},
		})
	}
}

func parseReject(in *ParseInput, types []rejectType, with, rst uint32) ([]byte, error) {
	opts := newOptionSet(in)
	for _, o := range in.Options {
		if err := opts.once(o); err != nil {
			return nil, err
		}
		// iptables takes the first type whose name or alias starts with
		// the argument, ignoring case, so "tcp" means tcp-reset.
		arg, found := o.Arg(), false
		for i, t := range types {
			if t.name == "" || arg == "" {
				continue
			}
			if isAbbrevFold(arg, t.name) || isAbbrevFold(arg, t.alias) {
				with, found = uint32(i), true
				break
			}
		}
		if !found {
			return nil, in.Errorf(o, "unknown reject type %q", arg)
		}
		// The kernel refuses a TCP reset for anything but -p tcp.
		if with == rst && (in.Proto != 6 || in.ProtoInvert) {
			return nil, in.Errorf(o, "tcp-reset requires -p tcp")
		}
	}
	r := Reject{With: with}
	return r.Marshal(), nil
}
