package ext

import (
	"fmt"
	"strings"
)

// struct xt_conntrack_mtinfo1/2/3 (linux/netfilter/xt_conntrack.h),
// 152/156/164 bytes. The three revisions share their first 150 bytes:
//
//	union nf_inet_addr origsrc_addr, origsrc_mask, origdst_addr, origdst_mask,
//	                   replsrc_addr, replsrc_mask, repldst_addr, repldst_mask; // 0..127
//	__u32 expires_min, expires_max;                                        // 128, 132
//	__u16 l4proto;                                                         // 136
//	__u16 origsrc_port, origdst_port, replsrc_port, repldst_port;          // 138..145
//	__u16 match_flags, invert_flags;                                       // 146, 148
//
// then rev 1 has __u8 state_mask, status_mask (150, 151); rev 2 has __u16
// state_mask, status_mask (150, 152); rev 3 adds __u16 origsrc_port_high,
// origdst_port_high, replsrc_port_high, repldst_port_high (154..161).
// Ports are network order in rev 1 and 2 (single ports only) and host
// order in rev 3 (ranges).
//
// The "state" match of iptables is, since 1.4.x, an alias of conntrack:
// "-m state --state X" builds a conntrack payload with match_flags
// STATE|STATE_ALIAS, and the alias flag makes save print "-m state".
// The match_flags bits (XT_CONNTRACK_*) are exported for the nf_tables
// encoders.
const (
	CTFlagState       = 1 << 0
	CTFlagProto       = 1 << 1
	CTFlagOrigSrc     = 1 << 2
	CTFlagOrigDst     = 1 << 3
	CTFlagReplSrc     = 1 << 4
	CTFlagReplDst     = 1 << 5
	CTFlagStatus      = 1 << 6
	CTFlagExpires     = 1 << 7
	CTFlagOrigSrcPort = 1 << 8
	CTFlagOrigDstPort = 1 << 9
	CTFlagReplSrcPort = 1 << 10
	CTFlagReplDstPort = 1 << 11
	CTFlagDirection   = 1 << 12
	CTFlagStateAlias  = 1 << 13
	ctFlagsKnown      = 1<<14 - 1

	// XT_CONNTRACK_STATE_* bits of state_mask.
	ctStateInvalid     = 1 << 0
	ctStateEstablished = 1 << 1 // XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED)
	ctStateRelated     = 1 << 2
	ctStateNew         = 1 << 3
	ctStateSNAT        = 1 << 6
	ctStateDNAT        = 1 << 7
	ctStateUntracked   = 1 << 8

	// IPS_* bits of status_mask.
	ctStatusExpected  = 1 << 0
	ctStatusSeenReply = 1 << 1
	ctStatusAssured   = 1 << 2
	ctStatusConfirmed = 1 << 3
)

type ctName struct {
	name string
	bit  uint16
}

// ctStateParse is the order libxt_conntrack tries names in; it matters
// because any prefix of a name is accepted ("e" is ESTABLISHED).
var ctStateParse = []ctName{
	{"INVALID", ctStateInvalid}, {"NEW", ctStateNew}, {"ESTABLISHED", ctStateEstablished},
	{"RELATED", ctStateRelated}, {"UNTRACKED", ctStateUntracked},
	{"SNAT", ctStateSNAT}, {"DNAT", ctStateDNAT},
}

// ctStatePrint is the order print_state prints them in.
var ctStatePrint = []ctName{
	{"INVALID", ctStateInvalid}, {"NEW", ctStateNew}, {"RELATED", ctStateRelated},
	{"ESTABLISHED", ctStateEstablished}, {"UNTRACKED", ctStateUntracked},
	{"SNAT", ctStateSNAT}, {"DNAT", ctStateDNAT},
}

var ctStatusNames = []ctName{
	{"NONE", 0}, {"EXPECTED", ctStatusExpected}, {"SEEN_REPLY", ctStatusSeenReply},
	{"ASSURED", ctStatusAssured}, {"CONFIRMED", ctStatusConfirmed},
}

// ctAddrOpts are the address options in payload order: each owns an
// address and a mask, 32 bytes apart.
var ctAddrOpts = []struct {
	name string
	flag uint16
}{
	{"ctorigsrc", CTFlagOrigSrc}, {"ctorigdst", CTFlagOrigDst},
	{"ctreplsrc", CTFlagReplSrc}, {"ctrepldst", CTFlagReplDst},
}

// ctPortOpts are the port options in payload order.
var ctPortOpts = []struct {
	name string
	flag uint16
}{
	{"ctorigsrcport", CTFlagOrigSrcPort}, {"ctorigdstport", CTFlagOrigDstPort},
	{"ctreplsrcport", CTFlagReplSrcPort}, {"ctrepldstport", CTFlagReplDstPort},
}

// Conntrack is the value of all three revisions, as libxt_conntrack
// works on xt_conntrack_mtinfo3 and converts. Ports are host-order
// values; PortHigh is zero in revisions 1 and 2, which hold one port.
type Conntrack struct {
	Addr, Mask             [4][16]byte // origsrc, origdst, replsrc, repldst
	ExpiresMin, ExpiresMax uint32
	L4Proto                uint16
	Port, PortHigh         [4]uint16 // origsrc, origdst, replsrc, repldst
	MatchFlags, InvFlags   uint16    // XT_CONNTRACK_*
	State, Status          uint16    // XT_CONNTRACK_STATE_*, IPS_*
}

var ctSizes = map[uint8]int{1: 152, 2: 156, 3: 164}

func init() {
	opts := []Option{
		{Name: "ctstate", Args: 1, Invertible: true},
		{Name: "ctproto", Args: 1, Invertible: true},
		{Name: "ctorigsrc", Args: 1, Invertible: true},
		{Name: "ctorigdst", Args: 1, Invertible: true},
		{Name: "ctreplsrc", Args: 1, Invertible: true},
		{Name: "ctrepldst", Args: 1, Invertible: true},
		{Name: "ctorigsrcport", Args: 1, Invertible: true},
		{Name: "ctorigdstport", Args: 1, Invertible: true},
		{Name: "ctreplsrcport", Args: 1, Invertible: true},
		{Name: "ctrepldstport", Args: 1, Invertible: true},
		{Name: "ctstatus", Args: 1, Invertible: true},
		{Name: "ctexpire", Args: 1, Invertible: true},
		{Name: "ctdir", Args: 1},
	}
	for rev := uint8(1); rev <= 3; rev++ {
		rev := rev
		// libxt_conntrack registers revisions 1-3 per family: the
		// address options and their printing depend on it.
		for _, fam := range []Family{IPv4, IPv6} {
			Register(&Extension{
				Kind: Match, Name: "conntrack", Revision: rev, Family: fam,
				Size: ctSizes[rev], Options: opts,
				Parse:    parseConntrack,
				Save:     saveConntrack,
				SaveName: conntrackSaveName,
			})
		}
		// "-m state" on a kernel with the conntrack match: the same
		// payload, flagged as an alias, for both families.
		Register(&Extension{
			Kind: Match, Name: "state", RealName: "conntrack", Revision: rev, Family: FamilyAny,
			Size:     ctSizes[rev],
			Options:  []Option{{Name: "state", Args: 1, Invertible: true}},
			Parse:    parseStateAlias,
			Save:     saveConntrack,
			SaveName: conntrackSaveName,
		})
	}
}

// conntrackSaveName is conntrack_print_name_alias: payloads built by
// "-m state" print as such.
func conntrackSaveName(data []byte) string {
	if len(data) >= 148 && NE.Uint16(data[146:])&CTFlagStateAlias != 0 {
		return "state"
	}
	return "conntrack"
}

// parseCtNames ORs the bits of a comma-separated list of names, each of
// which may be abbreviated to any prefix.
func parseCtNames(arg string, names []ctName, what string) (uint16, error) {
	var mask uint16
	for _, item := range strings.Split(arg, ",") {
		found := false
		for _, n := range names {
			if isAbbrevFold(item, n.name) {
				mask |= n.bit
				found = true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("bad %s %q", what, item)
		}
	}
	return mask, nil
}

// parseUint32Range is XTTYPE_UINT32RC: "n", "n:m", "n:", ":m" or ":";
// a missing lower bound is 0, a missing upper one 4294967295. iptables
// does not require n <= m.
func parseUint32Range(s string) (lo, hi uint32, err error) {
	parts := strings.Split(s, ":")
	if len(parts) > 2 {
		return 0, 0, fmt.Errorf("too many components in %q (max: 2)", s)
	}
	vals := []uint64{0, 0xffffffff}
	for i, p := range parts {
		if p == "" {
			continue
		}
		v, err := ParseUint(p, 0, 0xffffffff)
		if err != nil {
			return 0, 0, fmt.Errorf("bad value near %q: %v", p, err)
		}
		vals[i] = v
	}
	if len(parts) == 1 {
		vals[1] = vals[0]
	}
	return uint32(vals[0]), uint32(vals[1]), nil
}

func parseConntrack(in *ParseInput) ([]byte, error) {
	var ct Conntrack
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		var flag uint16
		switch o.Name {
		case "ctstate":
			m, err := parseCtNames(o.Arg(), ctStateParse, "ctstate")
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			ct.State |= m
			flag = CTFlagState
		case "ctproto":
			p, err := ParseProtocol(o.Arg())
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			// libxt_conntrack means to refuse "! --ctproto 0" but tests
			// XT_INV_PROTO (0x40, the ctstatus bit) before recording the
			// inversion; hostwall keeps that behaviour to accept exactly
			// what iptables accepts.
			if p == 0 && ct.InvFlags&0x40 != 0 {
				return nil, in.Errorf(o, "conntrack: rule would never match protocol")
			}
			ct.L4Proto = uint16(p)
			flag = CTFlagProto
		case "ctorigsrc", "ctorigdst", "ctreplsrc", "ctrepldst":
			for i, a := range ctAddrOpts {
				if a.name != o.Name {
					continue
				}
				addr, mask, err := parseHostMask(o.Arg(), in.Family, refuseNonContiguous)
				if err != nil {
					return nil, in.Errorf(o, "%v", err)
				}
				ct.Addr[i], ct.Mask[i] = addr, mask
				flag = a.flag
			}
		case "ctorigsrcport", "ctorigdstport", "ctreplsrcport", "ctrepldstport":
			for i, p := range ctPortOpts {
				if p.name != o.Name {
					continue
				}
				lo, hi, err := parsePortRC(in.names(), o.Arg())
				if err != nil {
					return nil, in.Errorf(o, "%v", err)
				}
				if in.Revision < 3 && lo != hi {
					return nil, in.Errorf(o, "conntrack rev %d does not support port ranges", in.Revision)
				}
				ct.Port[i], ct.PortHigh[i] = lo, hi
				flag = p.flag
			}
		case "ctstatus":
			m, err := parseCtNames(o.Arg(), ctStatusNames, "ctstatus")
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			ct.Status |= m
			flag = CTFlagStatus
		case "ctexpire":
			lo, hi, err := parseUint32Range(o.Arg())
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			ct.ExpiresMin, ct.ExpiresMax = lo, hi
			flag = CTFlagExpires
		case "ctdir":
			ct.MatchFlags |= CTFlagDirection
			switch {
			case strings.EqualFold(o.Arg(), "ORIGINAL"):
				ct.InvFlags &^= CTFlagDirection
			case strings.EqualFold(o.Arg(), "REPLY"):
				ct.InvFlags |= CTFlagDirection
			default:
				return nil, in.Errorf(o, "bad value %q (ORIGINAL or REPLY)", o.Arg())
			}
			continue
		}
		ct.MatchFlags |= flag
		if o.Invert {
			ct.InvFlags |= flag
		}
	}
	if len(in.Options) == 0 {
		return nil, in.Failf("conntrack: at least one option is required")
	}
	return ct.Marshal(in.Revision)
}

func parseStateAlias(in *ParseInput) ([]byte, error) {
	ct := Conntrack{MatchFlags: CTFlagState | CTFlagStateAlias}
	mask, inv, err := parseStateOption(in)
	if err != nil {
		return nil, err
	}
	ct.State = uint16(mask)
	if inv {
		ct.InvFlags |= CTFlagState
	}
	return ct.Marshal(in.Revision)
}

// Marshal lays ct out as revision rev.
func (ct *Conntrack) Marshal(rev uint8) ([]byte, error) {
	size, ok := ctSizes[rev]
	if !ok {
		return nil, fmt.Errorf("conntrack revision %d is not supported", rev)
	}
	data := make([]byte, Align(size))
	for i := 0; i < 4; i++ {
		copy(data[32*i:], ct.Addr[i][:])
		copy(data[32*i+16:], ct.Mask[i][:])
	}
	NE.PutUint32(data[128:], ct.ExpiresMin)
	NE.PutUint32(data[132:], ct.ExpiresMax)
	NE.PutUint16(data[136:], ct.L4Proto)
	for i := 0; i < 4; i++ {
		if rev < 3 {
			// __be16 in revisions 1 and 2.
			data[138+2*i] = byte(ct.Port[i] >> 8)
			data[139+2*i] = byte(ct.Port[i])
		} else {
			NE.PutUint16(data[138+2*i:], ct.Port[i])
			NE.PutUint16(data[154+2*i:], ct.PortHigh[i])
		}
	}
	NE.PutUint16(data[146:], ct.MatchFlags)
	NE.PutUint16(data[148:], ct.InvFlags)
	if rev == 1 {
		// Revision 1 has 8-bit masks: UNTRACKED (0x100) does not fit,
		// and iptables would drop it silently.
		if ct.State > 0xff {
			return nil, fmt.Errorf("conntrack revision 1 cannot match UNTRACKED")
		}
		data[150], data[151] = byte(ct.State), byte(ct.Status)
	} else {
		NE.PutUint16(data[150:], ct.State)
		NE.PutUint16(data[152:], ct.Status)
	}
	return data, nil
}

// UnmarshalConntrack reads a payload of revision rev (1-3).
func UnmarshalConntrack(data []byte, rev uint8) (*Conntrack, error) {
	size, ok := ctSizes[rev]
	if !ok {
		return nil, fmt.Errorf("conntrack revision %d is not supported", rev)
	}
	if len(data) < size {
		return nil, fmt.Errorf("conntrack: payload of %d bytes, want %d for revision %d", len(data), size, rev)
	}
	ct := &Conntrack{}
	for i := 0; i < 4; i++ {
		copy(ct.Addr[i][:], data[32*i:])
		copy(ct.Mask[i][:], data[32*i+16:])
	}
	ct.ExpiresMin = NE.Uint32(data[128:])
	ct.ExpiresMax = NE.Uint32(data[132:])
	ct.L4Proto = NE.Uint16(data[136:])
	for i := 0; i < 4; i++ {
		if rev < 3 {
			ct.Port[i] = uint16(data[138+2*i])<<8 | uint16(data[139+2*i])
		} else {
			ct.Port[i] = NE.Uint16(data[138+2*i:])
			ct.PortHigh[i] = NE.Uint16(data[154+2*i:])
		}
	}
	ct.MatchFlags = NE.Uint16(data[146:])
	ct.InvFlags = NE.Uint16(data[148:])
	if rev == 1 {
		ct.State, ct.Status = uint16(data[150]), uint16(data[151])
	} else {
		ct.State, ct.Status = NE.Uint16(data[150:]), NE.Uint16(data[152:])
	}
	return ct, nil
}

func saveCtNames(b *strings.Builder, mask uint16, names []ctName) {
	sep := " "
	for _, n := range names {
		if mask&n.bit != 0 {
			b.WriteString(sep + n.name)
			sep = ","
		}
	}
}

// saveConntrack is conntrack_dump with the "--" prefix. The revision is
// told apart by the payload size, which the caller guarantees.
func saveConntrack(b *strings.Builder, r RuleInfo, data []byte) error {
	var rev uint8
	switch len(data) {
	case Align(ctSizes[1]):
		rev = 1
	case Align(ctSizes[2]):
		rev = 2
	case Align(ctSizes[3]):
		rev = 3
	default:
		return fmt.Errorf("conntrack: unexpected payload size %d", len(data))
	}
	ct, err := UnmarshalConntrack(data, rev)
	if err != nil {
		return err
	}
	if ct.MatchFlags&^ctFlagsKnown != 0 {
		return fmt.Errorf("conntrack: unknown match flags %#x", ct.MatchFlags)
	}
	const knownStates = ctStateInvalid | ctStateEstablished | ctStateRelated | ctStateNew | ctStateSNAT | ctStateDNAT | ctStateUntracked
	if ct.MatchFlags&CTFlagState != 0 && ct.State&^knownStates != 0 {
		return fmt.Errorf("conntrack: unknown state bits %#x", ct.State)
	}
	if ct.MatchFlags&CTFlagStatus != 0 && ct.Status&^0xf != 0 {
		return fmt.Errorf("conntrack: unknown status bits %#x", ct.Status)
	}
	inv := func(flag uint16) string { return Invert(ct.InvFlags&flag != 0) }
	if ct.MatchFlags&CTFlagState != 0 {
		name := "ctstate"
		if ct.MatchFlags&CTFlagStateAlias != 0 {
			name = "state"
		}
		b.WriteString(inv(CTFlagState) + " --" + name)
		saveCtNames(b, ct.State, ctStatePrint)
	}
	if ct.MatchFlags&CTFlagProto != 0 {
		fmt.Fprintf(b, "%s --ctproto %d", inv(CTFlagProto), ct.L4Proto)
	}
	for i, a := range ctAddrOpts {
		if ct.MatchFlags&a.flag != 0 {
			fmt.Fprintf(b, "%s --%s %s", inv(a.flag), a.name, formatHostMask(r.Family, ct.Addr[i][:], ct.Mask[i][:]))
		}
	}
	for i, p := range ctPortOpts {
		if ct.MatchFlags&p.flag == 0 {
			continue
		}
		// Revisions 1 and 2 hold one port; in rev 3 a zero upper bound
		// prints as a single port too (conntrack_dump_ports).
		lo, hi := ct.Port[i], ct.PortHigh[i]
		if hi == 0 || lo == hi {
			fmt.Fprintf(b, "%s --%s %d", inv(p.flag), p.name, lo)
		} else {
			fmt.Fprintf(b, "%s --%s %d:%d", inv(p.flag), p.name, lo, hi)
		}
	}
	if ct.MatchFlags&CTFlagStatus != 0 {
		b.WriteString(inv(CTFlagStatus) + " --ctstatus")
		if ct.Status == 0 {
			b.WriteString(" NONE")
		} else {
			saveCtNames(b, ct.Status, ctStatusNames[1:])
		}
	}
	if ct.MatchFlags&CTFlagExpires != 0 {
		if ct.ExpiresMin == ct.ExpiresMax {
			fmt.Fprintf(b, "%s --ctexpire %d", inv(CTFlagExpires), ct.ExpiresMin)
		} else {
			fmt.Fprintf(b, "%s --ctexpire %d:%d", inv(CTFlagExpires), ct.ExpiresMin, ct.ExpiresMax)
		}
	}
	if ct.MatchFlags&CTFlagDirection != 0 {
		if ct.InvFlags&CTFlagDirection != 0 {
			b.WriteString(" --ctdir REPLY")
		} else {
			b.WriteString(" --ctdir ORIGINAL")
		}
	}
	return nil
}
