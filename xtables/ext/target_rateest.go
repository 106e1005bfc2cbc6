package ext

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// struct xt_rateest_target_info (linux/netfilter/xt_RATEEST.h), 32 bytes:
//
//	char name[IFNAMSIZ]; __s8 interval; __u8 ewma_log;  (offsets 0, 16, 17)
//	struct xt_rateest *est (aligned 8, the kernel's; reads back as zero)
//
// interval is log2(seconds / 4) (-2 = 250ms … 3 = 8s) and ewma_log the
// averaging time constant as a power of two of the interval.
type RateEst struct {
	Name     string
	Interval int8
	EwmaLog  uint8
}

func (r *RateEst) marshal() ([]byte, error) {
	data := make([]byte, 32)
	if err := putTruncString(data[:IfNameSize], r.Name); err != nil {
		return nil, err
	}
	data[16], data[17] = byte(r.Interval), r.EwmaLog
	return data, nil
}

func unmarshalRateEst(data []byte) *RateEst {
	return &RateEst{Name: CString(data[:IfNameSize]), Interval: int8(data[16]), EwmaLog: data[17]}
}

// rateestUnitsPerSec is libxt_RATEEST.c's TIME_UNITS_PER_SEC.
const rateestUnitsPerSec = 1000000

// cStrtod reads the longest prefix of s that C's strtod reads as a
// decimal number (white space, sign, digits, a point, an exponent), and
// returns the rest; ok is false when there is none.
func cStrtod(s string) (v float64, rest string, ok bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i, digits = i+1, digits+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return 0, s, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			i = j
		}
	}
	v, err := strconv.ParseFloat(s[start:i], 64)
	if err != nil && !math.IsInf(v, 0) {
		return 0, s, false
	}
	return v, s[i:], true
}

// cDoubleToUint32 converts as x86-64 code compiled from C's implicit
// double → unsigned int conversion does (cvttsd2si into a 64-bit
// register, low half kept): values out of int64's range give 0.
func cDoubleToUint32(f float64) uint32 {
	if math.IsNaN(f) || f >= 1<<63 || f < -(1<<63) {
		return 0
	}
	return uint32(int64(f))
}

// rateestTime is RATEEST_get_time: a number of seconds, or of ms/us with
// their suffix, in microseconds.
func rateestTime(s string) (uint32, bool) {
	t, rest, ok := cStrtod(s)
	if !ok {
		return 0, false
	}
	switch strings.ToLower(rest) {
	case "":
	case "s", "sec", "secs":
		t *= rateestUnitsPerSec
	case "ms", "msec", "msecs":
		t *= rateestUnitsPerSec / 1000
	case "us", "usec", "usecs":
	default:
		return 0, false
	}
	return cDoubleToUint32(t), true
}

// rateestSaveTime is RATEEST_print_time.
func rateestSaveTime(b *strings.Builder, t uint32) {
	f := float64(t)
	switch {
	case f >= rateestUnitsPerSec:
		fmt.Fprintf(b, " %ss", strconv.FormatFloat(f/rateestUnitsPerSec, 'f', 1, 64))
	case f >= rateestUnitsPerSec/1000:
		fmt.Fprintf(b, " %sms", strconv.FormatFloat(f/(rateestUnitsPerSec/1000), 'f', 1, 64))
	default:
		fmt.Fprintf(b, " %dus", t)
	}
}

func init() {
	Register(&Extension{
		Kind: Target, Name: "RATEEST", Revision: 0, Family: FamilyAny,
		Size: 32,
		Options: []Option{
			{Name: "rateest-name", Args: 1},
			{Name: "rateest-interval", Args: 1},
			{Name: "rateest-ewmalog", Args: 1},
		},
		Parse: func(in *ParseInput) ([]byte, error) {
			var r RateEst
			var interval, ewma uint32
			seen := newOptionSet(in)
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				var ok bool
				switch o.Name {
				case "rateest-name":
					r.Name, ok = o.Arg(), true
				case "rateest-interval":
					interval, ok = rateestTime(o.Arg())
				case "rateest-ewmalog":
					ewma, ok = rateestTime(o.Arg())
				}
				if !ok {
					return nil, in.Errorf(o, "RATEEST: bad %s value %q", strings.TrimPrefix(o.Name, "rateest-"), o.Arg())
				}
			}
			for _, n := range []string{"rateest-name", "rateest-interval", "rateest-ewmalog"} {
				if !seen.has(n) {
					return nil, in.Failf("RATEEST: option \"--%s\" must be specified", n)
				}
			}
			// RATEEST_final_check.
			iv := 0
			for ; iv <= 5; iv++ {
				if uint64(interval) <= uint64(1<<iv)*(rateestUnitsPerSec/4) {
					break
				}
			}
			if iv > 5 {
				return nil, in.Failf("RATEEST: interval value is too large")
			}
			r.Interval = int8(iv - 2)
			e := 1
			for ; e < 32; e++ {
				w := 1.0 - 1.0/float64(uint64(1)<<e)
				if float64(interval)/(-math.Log(w)) > float64(ewma) {
					break
				}
			}
			e--
			if e == 0 || e >= 31 {
				return nil, in.Failf("RATEEST: ewmalog value is out of range")
			}
			r.EwmaLog = uint8(e)
			data, err := r.marshal()
			if err != nil {
				return nil, in.Failf("RATEEST: %v", err)
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			r := unmarshalRateEst(data)
			if r.Interval < -2 || r.Interval > 3 || r.EwmaLog > 31 {
				return fmt.Errorf("RATEEST: interval %d or ewma_log %d out of range", r.Interval, r.EwmaLog)
			}
			interval := uint32(rateestUnitsPerSec<<(r.Interval+2)) / 4
			ewma := interval * (1 << r.EwmaLog)
			b.WriteString(" --rateest-name " + r.Name + " --rateest-interval")
			rateestSaveTime(b, interval)
			b.WriteString(" --rateest-ewmalog")
			rateestSaveTime(b, ewma)
			return nil
		},
	})
}
