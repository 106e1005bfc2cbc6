package ext

import (
	"fmt"
	"strings"
)

// struct xt_ct_target_info (rev 0, 40 bytes) and struct
// xt_ct_target_info_v1 (revs 1 and 2, 72 bytes), linux/netfilter/xt_CT.h:
//
//	__u16 flags; __u16 zone; __u32 ct_events; __u32 exp_events;
//	char helper[16];
//	char timeout[32];                          (v1 only)
//	struct nf_conn *ct __aligned(8);           (kernel-owned)
//
// The trailing ct pointer belongs to the kernel: hostwall writes zeros and
// never reads it (the kernel hands it back zeroed, as its usersize stops
// before it). Revisions 0 and 1 refuse every flag but XT_CT_NOTRACK;
// revision 2, which iptables 1.8.9 picks, adds the zone directions, the
// mark zone and the NOTRACK alias.
//
// -j NOTRACK is, since the NOTRACK target left the kernel, CT revision 2
// with XT_CT_NOTRACK|XT_CT_NOTRACK_ALIAS and no options; save prints such a
// rule back as "-j NOTRACK" with nothing after it.
const (
	ctNotrack      = 1 << 0 // XT_CT_NOTRACK
	ctNotrackAlias = 1 << 1 // XT_CT_NOTRACK_ALIAS: written as -j NOTRACK
	ctZoneDirOrig  = 1 << 2 // XT_CT_ZONE_DIR_ORIG
	ctZoneDirRepl  = 1 << 3 // XT_CT_ZONE_DIR_REPL
	ctZoneMark     = 1 << 4 // XT_CT_ZONE_MARK: zone taken from the nfmark
	ctFlagMask     = 0x1f   // XT_CT_MASK

	ctHelperOff   = 12
	ctHelperSize  = 16
	ctTimeoutOff  = 28
	ctTimeoutSize = 32
)

// ctEvents and ctExpEvents name the event bits (1 << IPCT_*, 1 <<
// IPEXP_*) in the order save prints them.
var (
	ctEvents = []string{
		"new", "related", "destroy", "reply", "assured",
		"protoinfo", "helper", "mark", "natseqinfo", "secmark",
	}
	ctExpEvents = []string{"new"}
)

func init() {
	for rev := uint8(0); rev <= 2; rev++ {
		rev := rev
		opts := []Option{{Name: "notrack"}, {Name: "helper", Args: 1}}
		size := 40
		if rev > 0 {
			opts = append(opts, Option{Name: "timeout", Args: 1})
			size = 72
		}
		opts = append(opts,
			Option{Name: "ctevents", Args: 1}, Option{Name: "expevents", Args: 1},
			Option{Name: "zone-orig", Args: 1}, Option{Name: "zone-reply", Args: 1},
			Option{Name: "zone", Args: 1})
		fams := []Family{FamilyAny}
		if rev == 2 {
			// See the NOTRACK alias below.
			fams = []Family{IPv4, IPv6}
		}
		for _, fam := range fams {
			e := &Extension{
				Kind: Target, Name: "CT", Revision: rev, Family: fam,
				Size:    size,
				Tables:  []string{"raw"}, // xt_CT.c: .table
				Options: opts,
				Parse:   func(in *ParseInput) ([]byte, error) { return parseCT(in, rev) },
				Save:    func(b *strings.Builder, _ RuleInfo, data []byte) error { return saveCT(b, data, rev) },
			}
			if rev == 2 {
				e.SaveName = ctSaveName
			}
			Register(e)
		}
	}
	// -j NOTRACK is CT revision 2 under another user name. Register keys
	// extensions by kernel name, revision and family, so CT revision 2
	// takes the IPv4 and IPv6 slots (what Lookup finds when decoding) and
	// the alias the FamilyAny one, which only Candidates("NOTRACK") reaches.
	// Both print a payload the same way.
	Register(&Extension{
		Kind: Target, Name: "NOTRACK", RealName: "CT", Revision: 2, Family: FamilyAny,
		Size:   72,
		Tables: []string{"raw"},
		Parse: func(in *ParseInput) ([]byte, error) {
			if len(in.Options) > 0 {
				return nil, in.Failf("NOTRACK takes no options")
			}
			data := make([]byte, 72)
			NE.PutUint16(data, ctNotrack|ctNotrackAlias)
			return data, nil
		},
		Save:     func(b *strings.Builder, _ RuleInfo, data []byte) error { return saveCT(b, data, 2) },
		SaveName: ctSaveName,
	})
	// The kernel still has a NOTRACK target of its own (no payload), which
	// iptables only falls back to without CT; registered to read it.
	Register(&Extension{
		Kind: Target, Name: "NOTRACK", Revision: 0, Family: FamilyAny,
		Tables: []string{"raw"}, // xt_CT.c: notrack_tg_reg.table
		Parse: func(in *ParseInput) ([]byte, error) {
			if len(in.Options) > 0 {
				return nil, in.Failf("NOTRACK takes no options")
			}
			return []byte{}, nil
		},
		Save: func(*strings.Builder, RuleInfo, []byte) error { return nil },
	})
}

func ctSaveName(data []byte) string {
	if NE.Uint16(data)&ctNotrackAlias != 0 {
		return "NOTRACK"
	}
	return "CT"
}

func parseCT(in *ParseInput, rev uint8) ([]byte, error) {
	data := make([]byte, 72)
	if rev == 0 {
		data = data[:40]
	}
	opts := newOptionSet(in)
	var flags, zone uint16
	for _, o := range in.Options {
		if err := opts.once(o); err != nil {
			return nil, err
		}
		switch o.Name {
		case "notrack":
			flags |= ctNotrack
		case "helper":
			if err := putTruncString(data[ctHelperOff:ctHelperOff+ctHelperSize], o.Arg()); err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
		case "timeout":
			if err := putTruncString(data[ctTimeoutOff:ctTimeoutOff+ctTimeoutSize], o.Arg()); err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
		case "ctevents", "expevents":
			names, off := ctEvents, 4
			if o.Name == "expevents" {
				names, off = ctExpEvents, 8
			}
			mask, err := parseCTEvents(names, o.Arg())
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			NE.PutUint32(data[off:], mask)
		case "zone", "zone-orig", "zone-reply":
			// As ct_parse_zone_id: the direction flags accumulate, the
			// last zone given wins.
			switch o.Name {
			case "zone-orig":
				flags |= ctZoneDirOrig
			case "zone-reply":
				flags |= ctZoneDirRepl
			}
			zone = 0
			if strings.EqualFold(o.Arg(), "mark") {
				flags |= ctZoneMark
			} else {
				v, err := ParseUint(o.Arg(), 0, 0xffff)
				if err != nil {
					return nil, in.Errorf(o, "cannot parse %q as a zone ID", o.Arg())
				}
				zone = uint16(v)
			}
			if rev < 2 && flags&^ctNotrack != 0 {
				return nil, in.Errorf(o, "CT revision %d supports only a numeric --zone", rev)
			}
		}
	}
	// The kernel looks a helper up by the rule's layer 4 protocol (unless
	// the rule does not track at all).
	if data[ctHelperOff] != 0 && flags&ctNotrack == 0 && (in.Proto == 0 || in.ProtoInvert) {
		return nil, in.Errorf(opts.seen["helper"], "a conntrack helper needs a -p protocol, not inverted")
	}
	NE.PutUint16(data[0:], flags)
	NE.PutUint16(data[2:], zone)
	return data, nil
}

func parseCTEvents(names []string, s string) (uint32, error) {
	var mask uint32
	for _, ev := range strings.Split(s, ",") {
		found := false
		for i, n := range names {
			if n == ev {
				mask |= 1 << i
				found = true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown event type %q", ev)
		}
	}
	return mask, nil
}

func saveCTEvents(b *strings.Builder, opt string, names []string, mask uint32) error {
	if mask>>len(names) != 0 {
		return fmt.Errorf("CT: unknown %s bits %#x", opt, mask)
	}
	b.WriteString(" --" + opt + " ")
	sep := ""
	for i, n := range names {
		if mask&(1<<i) != 0 {
			b.WriteString(sep + n)
			sep = ","
		}
	}
	return nil
}

func saveCT(b *strings.Builder, data []byte, rev uint8) error {
	flags, zone := NE.Uint16(data[0:]), NE.Uint16(data[2:])
	allowed := uint16(ctFlagMask)
	if rev < 2 {
		allowed = ctNotrack
	}
	if flags&^allowed != 0 {
		return fmt.Errorf("CT revision %d: unknown flags %#x", rev, flags&^allowed)
	}
	if flags&ctNotrackAlias != 0 {
		return nil // printed as a bare -j NOTRACK
	}
	helper, err := cStringField(data[ctHelperOff:ctHelperOff+ctHelperSize], "CT helper")
	if err != nil {
		return err
	}
	timeout := ""
	if rev > 0 {
		if timeout, err = cStringField(data[ctTimeoutOff:ctTimeoutOff+ctTimeoutSize], "CT timeout"); err != nil {
			return err
		}
	}
	if flags&ctNotrack != 0 {
		b.WriteString(" --notrack")
	}
	if helper != "" {
		b.WriteString(" --helper " + helper)
	}
	if timeout != "" {
		b.WriteString(" --timeout " + timeout)
	}
	if ev := NE.Uint32(data[4:]); ev != 0 {
		if err := saveCTEvents(b, "ctevents", ctEvents, ev); err != nil {
			return err
		}
	}
	if ev := NE.Uint32(data[8:]); ev != 0 {
		if err := saveCTEvents(b, "expevents", ctExpEvents, ev); err != nil {
			return err
		}
	}
	if flags&ctZoneMark != 0 || zone != 0 {
		b.WriteString(" --zone")
		switch flags & (ctZoneDirOrig | ctZoneDirRepl) {
		case ctZoneDirOrig:
			b.WriteString("-orig")
		case ctZoneDirRepl:
			b.WriteString("-reply")
		}
		if flags&ctZoneMark != 0 {
			b.WriteString(" mark")
		} else {
			fmt.Fprintf(b, " %d", zone)
		}
	}
	return nil
}
