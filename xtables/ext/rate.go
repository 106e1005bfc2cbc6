package ext

import (
	"fmt"
	"strings"
)

// Rates of limit and hashlimit: "N/unit" text and its period form.

// cAtoll mimics C's atoll (strtoll base 10): leading white space, an
// optional sign, then digits up to the first non-digit; no digits is 0.
// Overflow saturates as strtoll does.
func cAtoll(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var v uint64
	over := false
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if v > (1<<63-d)/10 {
			over = true
			break
		}
		v = v*10 + d
	}
	switch {
	case over && neg:
		return -1 << 63
	case over:
		return 1<<63 - 1
	case neg:
		return -int64(v)
	}
	return int64(v)
}

// rateUnit reads the "/unit" suffix of a limit or hashlimit rate: any
// prefix of second, minute, hour or day, in seconds. No suffix is
// per second.
func rateUnit(rate string) (mult uint64, ok bool) {
	_, unit, has := strings.Cut(rate, "/")
	if !has {
		return 1, true
	}
	for _, u := range []struct {
		name string
		mult uint64
	}{{"second", 1}, {"minute", 60}, {"hour", 3600}, {"day", 86400}} {
		if isAbbrevFold(unit, u.name) {
			return u.mult, true
		}
	}
	return 0, false
}

// formatRate is print_rate of libxt_limit and libxt_hashlimit: the
// largest unit whose count is exact enough, as " N/unit"; scale is what
// one second is worth.
func formatRate(b *strings.Builder, period, scale uint64) (quantumMs uint64) {
	if period == 0 {
		b.WriteString(" inf")
		return 0
	}
	rates := []struct {
		name string
		mult uint64
	}{{"day", scale * 86400}, {"hour", scale * 3600}, {"min", scale * 60}, {"sec", scale}}
	i := 1
	for ; i < len(rates); i++ {
		if period > rates[i].mult || rates[i].mult/period < rates[i].mult%period {
			break
		}
	}
	fmt.Fprintf(b, " %d/%s", rates[i-1].mult/period, rates[i-1].name)
	return rates[i-1].mult / scale * 1000
}
