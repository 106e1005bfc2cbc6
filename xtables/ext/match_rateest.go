package ext

import (
	"fmt"
	"strconv"
	"strings"
)

// struct xt_rateest_match_info (linux/netfilter/xt_rateest.h), 72 bytes:
//
//	char name1[IFNAMSIZ]; char name2[IFNAMSIZ];   (offsets 0, 16)
//	__u16 flags; __u16 mode;                      (32, 34)
//	__u32 bps1, pps1, bps2, pps2;                 (36, 40, 44, 48)
//	struct xt_rateest *est1, *est2;               (56, 64: the kernel's)
//
// The estimators it names must exist: a RATEEST target of that name has
// to be checked by the kernel first (earlier in the same table, say).
type RateEstMatch struct {
	Name1, Name2           string
	Flags, Mode            uint16
	BPS1, PPS1, BPS2, PPS2 uint32
}

const (
	rateestInvert = 0x01 // XT_RATEEST_MATCH_INVERT
	rateestAbs    = 0x02 // XT_RATEEST_MATCH_ABS
	rateestRel    = 0x04 // XT_RATEEST_MATCH_REL
	rateestDelta  = 0x08 // XT_RATEEST_MATCH_DELTA
	rateestBPS    = 0x10 // XT_RATEEST_MATCH_BPS
	rateestPPS    = 0x20 // XT_RATEEST_MATCH_PPS

	rateestEq = 1 // XT_RATEEST_MATCH_EQ
	rateestLt = 2 // XT_RATEEST_MATCH_LT
	rateestGt = 3 // XT_RATEEST_MATCH_GT
)

func (r *RateEstMatch) marshal() []byte {
	data := make([]byte, 72)
	// libxt_rateest copies at most IFNAMSIZ-1 bytes (strncpy).
	copy(data[0:15], r.Name1)
	copy(data[16:31], r.Name2)
	NE.PutUint16(data[32:], r.Flags)
	NE.PutUint16(data[34:], r.Mode)
	for i, v := range []uint32{r.BPS1, r.PPS1, r.BPS2, r.PPS2} {
		NE.PutUint32(data[36+4*i:], v)
	}
	return data
}

func unmarshalRateEstMatch(data []byte) *RateEstMatch {
	return &RateEstMatch{
		Name1: CString(data[0:16]), Name2: CString(data[16:32]),
		Flags: NE.Uint16(data[32:]), Mode: NE.Uint16(data[34:]),
		BPS1: NE.Uint32(data[36:]), PPS1: NE.Uint32(data[40:]),
		BPS2: NE.Uint32(data[44:]), PPS2: NE.Uint32(data[48:]),
	}
}

// rateSuffixes is libxt_rateest.c's suffixes table (bits per second).
var rateSuffixes = []struct {
	name  string
	scale float64
}{
	{"bit", 1}, {"Kibit", 1024}, {"kbit", 1000}, {"Mibit", 1024 * 1024}, {"mbit", 1000000},
	{"Gibit", 1024 * 1024 * 1024}, {"gbit", 1000000000}, {"Tibit", 1024 * 1024 * 1024 * 1024},
	{"tbit", 1000000000000}, {"Bps", 8}, {"KiBps", 8 * 1024}, {"KBps", 8000},
	{"MiBps", 8 * 1024 * 1024}, {"MBps", 8000000}, {"GiBps", 8 * 1024 * 1024 * 1024},
	{"GBps", 8000000000}, {"TiBps", 8 * 1024 * 1024 * 1024 * 1024}, {"TBps", 8000000000000},
}

// rateestRate is rateest_get_rate: a rate in bytes per second.
func rateestRate(s string) (uint32, bool) {
	bps, rest, ok := cStrtod(s)
	if !ok {
		return 0, false
	}
	if rest == "" {
		return cDoubleToUint32(bps / 8), true
	}
	for _, u := range rateSuffixes {
		if strings.EqualFold(u.name, rest) {
			return cDoubleToUint32(bps * u.scale / 8), true
		}
	}
	return 0, false
}

// rateestSaveRate is rateest_print_rate.
func rateestSaveRate(b *strings.Builder, rate uint32, numeric bool) {
	t := float64(rate) * 8
	switch {
	case numeric:
		fmt.Fprintf(b, " %d", rate)
	case t >= 1000.0*1000000.0:
		fmt.Fprintf(b, " %sMbit", strconv.FormatFloat(t/1000000, 'f', 0, 64))
	case t >= 1000.0*1000.0:
		fmt.Fprintf(b, " %sKbit", strconv.FormatFloat(t/1000, 'f', 0, 64))
	default:
		fmt.Fprintf(b, " %sbit", strconv.FormatFloat(t, 'f', 0, 64))
	}
}

func (r *RateEstMatch) saveMode(b *strings.Builder) error {
	if r.Flags&rateestInvert != 0 {
		b.WriteString(" !")
	}
	switch r.Mode {
	case rateestEq:
		b.WriteString(" --rateest-eq")
	case rateestLt:
		b.WriteString(" --rateest-lt")
	case rateestGt:
		b.WriteString(" --rateest-gt")
	default:
		return fmt.Errorf("rateest: mode %d is none of lt, gt, eq", r.Mode)
	}
	return nil
}

func (r *RateEstMatch) saveRate(b *strings.Builder, name string, r1, r2 uint32, numeric bool) error {
	if r.Flags&rateestDelta != 0 {
		fmt.Fprintf(b, " --rateest-%s1", name)
		rateestSaveRate(b, r1, numeric)
		if err := r.saveMode(b); err != nil {
			return err
		}
		fmt.Fprintf(b, " --rateest-%s2", name)
	} else {
		if err := r.saveMode(b); err != nil {
			return err
		}
		fmt.Fprintf(b, " --rateest-%s", name)
	}
	if r.Flags&(rateestAbs|rateestDelta) != 0 {
		rateestSaveRate(b, r2, numeric)
	}
	return nil
}

func (r *RateEstMatch) save(b *strings.Builder) error {
	if r.Flags&rateestDelta != 0 {
		b.WriteString(" --rateest-delta")
	}
	if r.Flags&rateestRel != 0 {
		b.WriteString(" --rateest1 " + r.Name1)
	} else {
		b.WriteString(" --rateest " + r.Name1)
	}
	if r.Flags&rateestBPS != 0 {
		if err := r.saveRate(b, "bps", r.BPS1, r.BPS2, false); err != nil {
			return err
		}
	}
	if r.Flags&rateestPPS != 0 {
		if err := r.saveRate(b, "pps", r.PPS1, r.PPS2, true); err != nil {
			return err
		}
	}
	if r.Flags&rateestRel != 0 {
		b.WriteString(" --rateest2 " + r.Name2)
	}
	return nil
}

func parseRateEst(in *ParseInput) ([]byte, error) {
	var r RateEstMatch
	seen := newOptionSet(in)
	for _, o := range in.Options {
		// libxt_rateest is an old-style extension with its own wording;
		// the aliases --rateest, --rateest-bps and --rateest-pps share
		// the flag of --rateest1, --rateest-bps2 and --rateest-pps2.
		key := o.Name
		switch o.Name {
		case "rateest":
			key = "rateest1"
		case "rateest-bps", "rateest-pps":
			key = o.Name + "2"
		}
		if err := seen.onceAs(o, key); err != nil {
			return nil, err
		}
		switch key {
		case "rateest1":
			r.Name1 = o.Arg()
		case "rateest2":
			r.Name2 = o.Arg()
			r.Flags |= rateestRel
		case "rateest-bps1", "rateest-bps2":
			r.Flags |= rateestBPS
			if len(o.Args) == 0 {
				break
			}
			v, ok := rateestRate(o.Arg())
			if !ok {
				return nil, in.Errorf(o, "rateest: could not parse rate `%s'", o.Arg())
			}
			if key == "rateest-bps1" {
				r.BPS1 = v
			} else {
				r.BPS2 = v
			}
		case "rateest-pps1", "rateest-pps2":
			r.Flags |= rateestPPS
			if len(o.Args) == 0 {
				break
			}
			v, err := ParseUint(o.Arg(), 0, 0xffffffff)
			if err != nil {
				return nil, in.Errorf(o, "rateest: could not parse pps `%s'", o.Arg())
			}
			if key == "rateest-pps1" {
				r.PPS1 = uint32(v)
			} else {
				r.PPS2 = uint32(v)
			}
		case "rateest-delta":
			r.Flags |= rateestDelta
		case "rateest-eq", "rateest-lt", "rateest-gt":
			r.Mode = map[string]uint16{"rateest-eq": rateestEq, "rateest-lt": rateestLt, "rateest-gt": rateestGt}[key]
			if o.Invert {
				r.Flags |= rateestInvert
			}
		}
	}
	if r.Flags&rateestRel == 0 {
		r.Flags |= rateestAbs
	}
	return r.marshal(), nil
}

func init() {
	Register(&Extension{
		Kind: Match, Name: "rateest", Revision: 0, Family: FamilyAny,
		Size: 72,
		Options: []Option{
			{Name: "rateest1", Args: 1},
			{Name: "rateest", Args: 1},
			{Name: "rateest2", Args: 1},
			{Name: "rateest-bps1", OptionalArg: true},
			{Name: "rateest-pps1", OptionalArg: true},
			{Name: "rateest-bps2", OptionalArg: true},
			{Name: "rateest-pps2", OptionalArg: true},
			{Name: "rateest-bps", OptionalArg: true},
			{Name: "rateest-pps", OptionalArg: true},
			{Name: "rateest-delta"},
			{Name: "rateest-lt", Invertible: true},
			{Name: "rateest-gt", Invertible: true},
			{Name: "rateest-eq", Invertible: true},
		},
		Parse: parseRateEst,
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			return unmarshalRateEstMatch(data).save(b)
		},
	})
}
