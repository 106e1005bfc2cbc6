package ext

import (
	"fmt"
	"strings"
)

// struct xt_recent_mtinfo (linux/netfilter/xt_recent.h), 212 bytes, and
// struct xt_recent_mtinfo_v1, 228 bytes:
//
//	__u32 seconds; __u32 hit_count; __u8 check_set; __u8 invert;
//	char name[200]; __u8 side;
//	union nf_inet_addr mask;   // v1 only, at offset 212
//
// Revision 0 serves both families; revision 1 adds --mask and is
// registered per family because the mask prints per family.
const (
	recentCheck  = 1 << 0 // XT_RECENT_CHECK
	recentSet    = 1 << 1
	recentUpdate = 1 << 2
	recentRemove = 1 << 3
	recentTTL    = 1 << 4
	recentReap   = 1 << 5

	recentNameLen = 200
	recentSizeV0  = 212
	recentSizeV1  = 228
)

// recentCommands are the four mutually exclusive actions, in save order.
var recentCommands = []struct {
	name string
	bit  uint8
}{
	{"set", recentSet}, {"rcheck", recentCheck}, {"update", recentUpdate}, {"remove", recentRemove},
}

func init() {
	opts := []Option{
		{Name: "set", Invertible: true},
		{Name: "rcheck", Invertible: true},
		{Name: "update", Invertible: true},
		{Name: "remove", Invertible: true},
		{Name: "seconds", Args: 1},
		{Name: "reap"},
		{Name: "hitcount", Args: 1},
		{Name: "rttl"},
		{Name: "name", Args: 1},
		{Name: "rsource"},
		{Name: "rdest"},
	}
	Register(&Extension{
		Kind: Match, Name: "recent", Revision: 0, Family: FamilyAny,
		Size: recentSizeV0, Options: opts,
		Parse: parseRecent, Save: saveRecent,
	})
	for _, fam := range []Family{IPv4, IPv6} {
		Register(&Extension{
			Kind: Match, Name: "recent", Revision: 1, Family: fam,
			Size:    recentSizeV1,
			Options: append(append([]Option(nil), opts...), Option{Name: "mask", Args: 1}),
			Parse:   parseRecent, Save: saveRecent,
		})
	}
}

func parseRecent(in *ParseInput) ([]byte, error) {
	size := recentSizeV0
	if in.Revision == 1 {
		size = recentSizeV1
	}
	data := make([]byte, Align(size))
	copy(data[10:], "DEFAULT")
	if in.Revision == 1 {
		// recent_init: the mask defaults to all ones over the whole union.
		for i := 212; i < 228; i++ {
			data[i] = 0xff
		}
	}
	seen := newOptionSet(in)
	var command string
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		switch o.Name {
		case "set", "rcheck", "update", "remove":
			if command != "" {
				return nil, errTogether(in, o, command)
			}
			command = o.Name
			for _, c := range recentCommands {
				if c.name == o.Name {
					data[8] |= c.bit
				}
			}
			if o.Invert {
				data[9] = 1
			}
		case "seconds", "hitcount":
			min := uint64(0)
			if o.Name == "seconds" {
				min = 1
			}
			v, err := uintOption(in, o, min, 0xffffffff)
			if err != nil {
				return nil, err
			}
			off := 0
			if o.Name == "hitcount" {
				off = 4
			}
			NE.PutUint32(data[off:], uint32(v))
		case "reap":
			data[8] |= recentReap
		case "rttl":
			data[8] |= recentTTL
		case "name":
			// xtopt_parse_string cuts a long name to 199 characters and
			// copies it with its NUL over "DEFAULT" without clearing the
			// rest, so "--name x" leaves "x\0FAULT" in the payload;
			// hostwall writes the same bytes.
			name := o.Arg()
			if len(name) > recentNameLen-1 {
				name = name[:recentNameLen-1]
			}
			if name == "" || strings.IndexByte(name, 0) >= 0 {
				return nil, in.Errorf(o, "the name must be non-empty and without NUL bytes")
			}
			copy(data[10:], name)
			data[10+len(name)] = 0
		case "rsource":
			data[210] = 0
		case "rdest":
			data[210] = 1
		case "mask":
			m, err := parseHostBytes(o.Arg(), in.Family, formOption)
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			copy(data[212:], m[:])
		}
	}
	if command == "" {
		return nil, in.Failf("recent: you must specify one of --set, --rcheck, --update or --remove")
	}
	// The finalize checks of the option table: --rttl excludes --set and
	// --remove, --reap needs --seconds.
	if seen.has("rttl") && (command == "set" || command == "remove") {
		return nil, in.Failf("recent: option \"--rttl\" cannot be used together with \"--%s\"", command)
	}
	if seen.has("reap") && !seen.has("seconds") {
		return nil, in.Failf("recent: option \"--reap\" also requires \"--seconds\"")
	}
	return data, nil
}

// saveRecent is recent_save; revision 0 prints no mask.
func saveRecent(b *strings.Builder, r RuleInfo, data []byte) error {
	checkSet := data[8]
	if checkSet&^0x3f != 0 {
		return fmt.Errorf("recent: unknown flags %#x", checkSet)
	}
	if data[9] != 0 {
		b.WriteString(" !")
	}
	for _, c := range recentCommands {
		if checkSet&c.bit != 0 {
			b.WriteString(" --" + c.name)
		}
	}
	// Both counters print with %d, as signed numbers.
	if s := NE.Uint32(data[0:]); s != 0 {
		fmt.Fprintf(b, " --seconds %d", int32(s))
	}
	if checkSet&recentReap != 0 {
		b.WriteString(" --reap")
	}
	if h := NE.Uint32(data[4:]); h != 0 {
		fmt.Fprintf(b, " --hitcount %d", int32(h))
	}
	if checkSet&recentTTL != 0 {
		b.WriteString(" --rttl")
	}
	// The name is printed raw, unquoted.
	b.WriteString(" --name " + CString(data[10:10+recentNameLen]))
	if len(data) >= recentSizeV1 {
		b.WriteString(" --mask " + formatHost(r.Family, data[212:228]))
	}
	switch data[210] {
	case 0:
		b.WriteString(" --rsource")
	case 1:
		b.WriteString(" --rdest")
	default:
		return fmt.Errorf("recent: unknown side %d", data[210])
	}
	return nil
}
