package ext

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// struct xt_time_info (linux/netfilter/xt_time.h), 22 bytes, all host order:
//
//	__u32 date_start; __u32 date_stop; __u32 daytime_start; __u32 daytime_stop;
//	__u32 monthdays_match; __u8 weekdays_match; __u8 flags;
//
// Dates are seconds since the epoch (UTC), daytimes seconds since
// midnight; monthdays use bits 1-31 and weekdays bits 1 (Mon) to 7 (Sun).
const (
	timeSize = 22

	timeFlagLocalTZ    = 0x01 // XT_TIME_LOCAL_TZ
	timeFlagContiguous = 0x02 // XT_TIME_CONTIGUOUS

	timeAllMonthdays = 0xfffffffe
	timeAllWeekdays  = 0xfe
	timeMaxDaytime   = 24*60*60 - 1
	timeDefaultStop  = math.MaxInt32 // libxt_time's "no end date"
)

var timeWeekdays = []string{"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

func init() {
	Register(&Extension{
		Kind: Match, Name: "time", Revision: 0, Family: FamilyAny,
		Size: timeSize,
		Options: []Option{
			{Name: "datestart", Args: 1},
			{Name: "datestop", Args: 1},
			{Name: "timestart", Args: 1},
			{Name: "timestop", Args: 1},
			{Name: "contiguous"},
			{Name: "weekdays", Args: 1, Invertible: true},
			{Name: "monthdays", Args: 1, Invertible: true},
			{Name: "localtz"},
			{Name: "utc"},
			{Name: "kerneltz"},
		},
		Parse: parseTime,
		Save:  saveTime,
	})
}

func parseTime(in *ParseInput) ([]byte, error) {
	data := make([]byte, Align(timeSize))
	NE.PutUint32(data[4:], timeDefaultStop)
	NE.PutUint32(data[12:], timeMaxDaytime)
	NE.PutUint32(data[16:], timeAllMonthdays)
	data[20] = timeAllWeekdays
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		if seen.has("utc") && (seen.has("localtz") || seen.has("kerneltz")) {
			return nil, in.Errorf(o, "--utc cannot be used with --kerneltz or --localtz")
		}
		switch o.Name {
		case "datestart", "datestop":
			v, err := timeParseDate(o.Arg())
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			off := 0
			if o.Name == "datestop" {
				off = 4
			}
			NE.PutUint32(data[off:], v)
		case "timestart", "timestop":
			v, err := timeParseDaytime(o.Arg())
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			off := 8
			if o.Name == "timestop" {
				off = 12
			}
			NE.PutUint32(data[off:], v)
		case "contiguous":
			data[21] |= timeFlagContiguous
		case "localtz", "kerneltz":
			data[21] |= timeFlagLocalTZ
		case "monthdays":
			v, err := timeParseMonthdays(o.Arg())
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			if o.Invert {
				v ^= timeAllMonthdays
			}
			NE.PutUint32(data[16:], v)
		case "weekdays":
			v, err := timeParseWeekdays(o.Arg())
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			if o.Invert {
				v ^= timeAllWeekdays
			}
			data[20] = uint8(v)
		}
	}
	if seen.has("contiguous") && NE.Uint32(data[8:]) < NE.Uint32(data[12:]) {
		return nil, in.Failf("--contiguous only makes sense when --timestop is before --timestart")
	}
	return data, nil
}

// timeNumber reads one date or time component as strtoul(s, &e, 10)
// into an unsigned int: no digits reads as 0.
func timeNumber(s string) (uint32, string) {
	v, rest, _, overflow := CStrtoul(s, 10)
	if overflow {
		v = math.MaxUint64
	}
	return uint32(v), rest
}

// timeParseDate is time_parse_date: YYYY[-MM[-DD[Thh[:mm[:ss]]]]] in UTC,
// normalized as mktime does (month 0 is December of the year before).
func timeParseDate(arg string) (uint32, error) {
	bad := fmt.Errorf("invalid date %q, should be YYYY[-MM[-DD[Thh[:mm[:ss]]]]]", arg)
	// Each component: its separator to the next one, and its maximum.
	parts := []struct {
		sep byte
		max uint32
	}{{'-', 2038}, {'-', 12}, {'T', 31}, {':', 23}, {':', 59}, {0, 59}}
	vals := []uint32{0, 1, 1, 0, 0, 0}
	s := arg
	for i, p := range parts {
		v, rest := timeNumber(s)
		if (rest != "" && (p.sep == 0 || rest[0] != p.sep)) || v > p.max || (i == 0 && v < 1970) {
			return 0, bad
		}
		vals[i] = v
		if rest == "" {
			break
		}
		s = rest[1:]
	}
	t := time.Date(int(vals[0]), time.Month(vals[1]), int(vals[2]), int(vals[3]), int(vals[4]), int(vals[5]), 0, time.UTC)
	if t.Unix() < 0 {
		return 0, fmt.Errorf("date %q is before 1970", arg)
	}
	return uint32(t.Unix()), nil
}

// timeParseDaytime is time_parse_minutes: hh:mm[:ss].
func timeParseDaytime(arg string) (uint32, error) {
	bad := fmt.Errorf("invalid time %q, should be hh:mm[:ss] within 00:00:00 and 23:59:59", arg)
	h, rest := timeNumber(arg)
	if rest == "" || rest[0] != ':' || h > 23 {
		return 0, bad
	}
	m, rest := timeNumber(rest[1:])
	if (rest != "" && rest[0] != ':') || m > 59 {
		return 0, bad
	}
	var sec uint32
	if rest != "" {
		sec, rest = timeNumber(rest[1:])
		if rest != "" || sec > 59 {
			return 0, bad
		}
	}
	return 3600*h + 60*m + sec, nil
}

// timeSegments splits a day list as my_strseg does: at commas, stopping
// at an empty rest, each segment cut to width characters.
func timeSegments(arg string, width int) []string {
	var out []string
	for arg != "" {
		seg, rest, more := strings.Cut(arg, ",")
		if len(seg) > width {
			seg = seg[:width]
		}
		out = append(out, seg)
		if !more {
			break
		}
		arg = rest
	}
	return out
}

// timeParseMonthdays is time_parse_monthdays: numbers 0-31 (bit 0 is
// accepted and never matches), each read from its first two characters.
func timeParseMonthdays(arg string) (uint32, error) {
	var mask uint32
	for _, day := range timeSegments(arg, 2) {
		v, rest, _, _ := CStrtoul(day, 0)
		if rest != "" || uint32(v) > 31 {
			return 0, fmt.Errorf("%s is not a valid day for --monthdays", day)
		}
		mask |= 1 << uint32(v)
	}
	return mask, nil
}

// timeParseWeekdays is time_parse_weekdays: numbers 1-7 or names, of
// which only the first two letters count (case sensitive, "Mo", "Tu"...).
func timeParseWeekdays(arg string) (uint32, error) {
	var mask uint32
	for _, day := range timeSegments(arg, 3) {
		if v, rest, _, _ := CStrtoul(day, 0); rest == "" {
			if uint32(v) == 0 {
				return 0, fmt.Errorf("no, the week does NOT begin with Sunday (use 1-7 or Mon-Sun)")
			}
			if uint32(v) > 7 {
				// iptables shifts such numbers out of the 8-bit mask (or
				// wraps them on x86); neither is a day.
				return 0, fmt.Errorf("%s is not a valid day specifier", day)
			}
			mask |= 1 << uint32(v)
			continue
		}
		valid := false
		for i := 1; i < len(timeWeekdays); i++ {
			if len(day) >= 2 && day[:2] == timeWeekdays[i][:2] {
				mask |= 1 << i
				valid = true
			}
		}
		if !valid {
			return 0, fmt.Errorf("%s is not a valid day specifier", day)
		}
	}
	return mask, nil
}

func saveTime(b *strings.Builder, _ RuleInfo, data []byte) error {
	dateStart, dateStop := NE.Uint32(data[0:]), NE.Uint32(data[4:])
	start, stop := NE.Uint32(data[8:]), NE.Uint32(data[12:])
	monthdays, weekdays, flags := NE.Uint32(data[16:]), data[20], data[21]
	if start != 0 || stop != timeMaxDaytime {
		fmt.Fprintf(b, " --timestart %02d:%02d:%02d", start/3600, start/60%60, start%60)
		fmt.Fprintf(b, " --timestop %02d:%02d:%02d", stop/3600, stop/60%60, stop%60)
	}
	if monthdays != timeAllMonthdays {
		b.WriteString(" --monthdays ")
		sep := ""
		for i := 1; i <= 31; i++ {
			if monthdays&(1<<i) != 0 {
				fmt.Fprintf(b, "%s%d", sep, i)
				sep = ","
			}
		}
	}
	if weekdays != timeAllWeekdays {
		b.WriteString(" --weekdays ")
		sep := ""
		for i := 1; i <= 7; i++ {
			if weekdays&(1<<i) != 0 {
				b.WriteString(sep + timeWeekdays[i])
				sep = ","
			}
		}
	}
	// libxt_time skips only 0 and LONG_MAX, so the default end date
	// (INT_MAX) is printed.
	for _, d := range []struct {
		name string
		v    uint32
	}{{"datestart", dateStart}, {"datestop", dateStop}} {
		if d.v != 0 {
			t := time.Unix(int64(d.v), 0).UTC()
			fmt.Fprintf(b, " --%s %04d-%02d-%02dT%02d:%02d:%02d", d.name,
				t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second())
		}
	}
	if flags&timeFlagLocalTZ != 0 {
		b.WriteString(" --kerneltz")
	}
	if flags&timeFlagContiguous != 0 {
		b.WriteString(" --contiguous")
	}
	return nil
}
