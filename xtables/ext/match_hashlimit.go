package ext

import (
	"fmt"
	"strings"
)

// struct xt_hashlimit_mtinfo1/2/3 (linux/netfilter/xt_hashlimit.h),
// 56/304/312 bytes; each ends with the kernel's hinfo pointer, zero on
// read-back.
//
//	rev 1: char name[16];  struct hashlimit_cfg1 at 16:
//	       __u32 mode, avg, burst, size, max, gc_interval, expire; __u8 srcmask, dstmask;
//	rev 2: char name[255]; struct hashlimit_cfg2 at 256:
//	       __u64 avg, burst; __u32 mode, size, max, gc_interval, expire; __u8 srcmask, dstmask;
//	rev 3: as rev 2 with __u32 interval before srcmask.
//
// avg is the time between packets scaled by 10000 per second in rev 1
// and by 1000000 in rev 2 and 3; in byte mode it is a cost per 16 bytes.
// Registered per family: the default masks (and so what save omits) are
// 32 for IPv4 and 128 for IPv6. iptables 1.8.9 picks revision 3.
const (
	hlHashDIP   = 1 << 0 // XT_HASHLIMIT_HASH_DIP
	hlHashDPT   = 1 << 1
	hlHashSIP   = 1 << 2
	hlHashSPT   = 1 << 3
	hlInvert    = 1 << 4
	hlBytes     = 1 << 5
	hlRateMatch = 1 << 6

	hlScaleV1      = 10000
	hlScale        = 1000000
	hlBurstDef     = 5
	hlBurstMaxV1   = 10000
	hlBurstMax     = 1000000
	hlGCDef        = 1000 // ms
	hlByteExpire   = 15   // s
	hlByteExpireBu = 60   // s, with a byte burst
	hlByteShift    = 4
)

// hlCfg is struct hashlimit_cfg3, which libxt_hashlimit converts the
// older revisions to.
type hlCfg struct {
	avg, burst                    uint64
	mode                          uint32
	size, max, gcInterval, expire uint32
	interval                      uint32
	srcmask, dstmask              uint8
}

type hlLayout struct {
	size    int // sizeof the struct
	nameLen int
}

var hlLayouts = map[uint8]hlLayout{1: {56, 16}, 2: {304, 255}, 3: {312, 255}}

var hlModeNames = []struct {
	name string
	bit  uint32
}{
	// print_mode's order.
	{"srcip", hlHashSIP}, {"srcport", hlHashSPT}, {"dstip", hlHashDIP}, {"dstport", hlHashDPT},
}

func init() {
	base := []Option{
		{Name: "hashlimit-upto", Args: 1, Invertible: true},
		{Name: "hashlimit-above", Args: 1, Invertible: true},
		{Name: "hashlimit", Args: 1, Invertible: true}, // old name of --hashlimit-upto
		{Name: "hashlimit-srcmask", Args: 1},
		{Name: "hashlimit-dstmask", Args: 1},
		{Name: "hashlimit-burst", Args: 1},
		{Name: "hashlimit-htable-size", Args: 1},
		{Name: "hashlimit-htable-max", Args: 1},
		{Name: "hashlimit-htable-gcinterval", Args: 1},
		{Name: "hashlimit-htable-expire", Args: 1},
		{Name: "hashlimit-mode", Args: 1},
		{Name: "hashlimit-name", Args: 1},
	}
	for rev := uint8(1); rev <= 3; rev++ {
		rev := rev
		opts := base
		if rev == 3 {
			opts = append(append([]Option(nil), base...),
				Option{Name: "hashlimit-rate-match"}, Option{Name: "hashlimit-rate-interval", Args: 1})
		}
		for _, fam := range []Family{IPv4, IPv6} {
			Register(&Extension{
				Kind: Match, Name: "hashlimit", Revision: rev, Family: fam,
				Size: hlLayouts[rev].size, Options: opts,
				Parse: parseHashlimit,
				Save: func(b *strings.Builder, r RuleInfo, data []byte) error {
					return saveHashlimit(b, r, data, rev)
				},
			})
		}
	}
}

// hlFactor is get_factor: a k or m suffix multiplies by 1024 or 1048576.
func hlFactor(s string) uint64 {
	if s != "" {
		switch s[0] {
		case 'k':
			return 1024
		case 'm':
			return 1024 * 1024
		}
	}
	return 1
}

// hlCostToBytes and hlBytesToCost convert between a byte rate and the
// kernel's cost per 16 bytes (cost_to_bytes and bytes_to_cost).
func hlCostToBytes(cost uint64) uint64 {
	r := uint64(0xffffffff)
	if cost != 0 {
		r = 0xffffffff / cost
	}
	return (r - 1) << hlByteShift
}

func hlBytesToCost(bytes uint64) uint64 {
	r := uint32(bytes >> hlByteShift)
	if r+1 == 0 {
		return 0 // iptables would divide by zero here
	}
	return uint64(0xffffffff / (r + 1))
}

// parseHlBurst is parse_burst: a number with an optional k/m suffix.
func parseHlBurst(s string, rev uint8) (uint64, error) {
	max, burstMax := ^uint64(0), uint64(hlBurstMax)
	if rev == 1 {
		max, burstMax = 0xffffffff, hlBurstMaxV1
	}
	v, rest, ok := Strtoul(s)
	if !ok || v < 1 || v > max || (rest == "" && v > burstMax) {
		return 0, fmt.Errorf("bad value %q, or out of range (1-%d)", s, burstMax)
	}
	f := hlFactor(rest)
	if v > max/f {
		return 0, fmt.Errorf("value %q too large (max %dmb)", s, max/1024/1024)
	}
	return v * f, nil
}

// parseHlRate is parse_bytes, then parse_rate: "N[k|m]b/s" is a byte
// rate, anything else "N[/unit]" packets. It returns the avg and the
// seconds an idle entry lives by default (udata->mult).
func parseHlRate(rate string, rev uint8) (avg uint64, bytes bool, mult uint64, err error) {
	max := ^uint64(0)
	if rev == 1 {
		max = 0xffffffff
	}
	if i := strings.Index(rate, "b/s"); i > 0 {
		if r := uint64(cAtoll(rate)); r != 0 {
			f := hlFactor(rate[i-1:])
			tmp := r * f
			if (f != 0 && tmp/f != r) || tmp > max {
				return 0, false, 0, fmt.Errorf("rate value too large %q (max %d)", rate, max)
			}
			cost := hlBytesToCost(tmp)
			if cost == 0 {
				return 0, false, 0, fmt.Errorf("rate too high %q", rate)
			}
			return cost, true, hlByteExpire, nil
		}
	}
	mult, ok := rateUnit(rate)
	r := uint64(cAtoll(rate))
	if !ok || r == 0 {
		return 0, false, 0, fmt.Errorf("bad value %q", rate)
	}
	scale := uint64(hlScale)
	if rev == 1 {
		scale = hlScaleV1
	}
	avg = scale * mult / r
	if avg == 0 {
		return 0, false, 0, fmt.Errorf("rate too fast %q", rate)
	}
	return avg, false, mult, nil
}

func parseHashlimit(in *ParseInput) ([]byte, error) {
	rev := in.Revision
	layout, ok := hlLayouts[rev]
	if !ok {
		return nil, fmt.Errorf("hashlimit revision %d is not supported", rev)
	}
	bitsMax := uint8(familyBits(in.Family))
	cfg := hlCfg{burst: hlBurstDef, gcInterval: hlGCDef, srcmask: bitsMax, dstmask: bitsMax}
	var name string
	var mult uint64
	seen := newOptionSet(in)
	for _, o := range in.Options {
		id := o.Name
		if id == "hashlimit" {
			id = "hashlimit-upto"
		}
		if err := seen.onceAs(o, id); err != nil {
			return nil, err
		}
		var err error
		switch o.Name {
		case "hashlimit-upto", "hashlimit", "hashlimit-above":
			other := "hashlimit-above"
			if id == other {
				other = "hashlimit-upto"
			}
			if seen.has(other) {
				return nil, errTogether(in, o, other)
			}
			if (id == "hashlimit-above") != o.Invert {
				cfg.mode |= hlInvert
			}
			var bytes bool
			cfg.avg, bytes, mult, err = parseHlRate(o.Arg(), rev)
			if bytes {
				cfg.mode |= hlBytes
			}
		case "hashlimit-burst":
			cfg.burst, err = parseHlBurst(o.Arg(), rev)
		case "hashlimit-htable-size", "hashlimit-htable-max", "hashlimit-htable-gcinterval", "hashlimit-htable-expire":
			var v uint64
			v, err = ParseUint(o.Arg(), 0, 0xffffffff)
			switch o.Name {
			case "hashlimit-htable-size":
				cfg.size = uint32(v)
			case "hashlimit-htable-max":
				cfg.max = uint32(v)
			case "hashlimit-htable-gcinterval":
				cfg.gcInterval = uint32(v)
			default:
				cfg.expire = uint32(v)
			}
		case "hashlimit-mode":
			// strtok on ",|": empty items are skipped; names are exact.
			for _, tok := range strings.FieldsFunc(o.Arg(), func(r rune) bool { return r == ',' || r == '|' }) {
				found := false
				for _, m := range hlModeNames {
					if tok == m.name {
						cfg.mode |= m.bit
						found = true
					}
				}
				if !found {
					err = fmt.Errorf("bad value %q", o.Arg())
				}
			}
		case "hashlimit-srcmask", "hashlimit-dstmask":
			var n int
			n, err = parsePrefixLen(o.Arg(), in.Family)
			if o.Name == "hashlimit-srcmask" {
				cfg.srcmask = uint8(n)
			} else {
				cfg.dstmask = uint8(n)
			}
		case "hashlimit-name":
			name = o.Arg()
			if name == "" || strings.IndexByte(name, 0) >= 0 {
				err = fmt.Errorf("the name must be non-empty and without NUL bytes")
			}
			// xtopt_parse_string cuts the name to fit its field.
			if len(name) > layout.nameLen-1 {
				name = name[:layout.nameLen-1]
			}
		case "hashlimit-rate-match":
			cfg.mode |= hlRateMatch
		case "hashlimit-rate-interval":
			r := cAtoll(o.Arg())
			if r <= 0 || r > 1<<31-1 {
				err = fmt.Errorf("bad value %q", o.Arg())
			}
			cfg.interval = uint32(r)
		}
		if err != nil {
			return nil, in.Errorf(o, "%v", err)
		}
	}
	// hashlimit_mt_check, then the option table's mandatory check.
	if !seen.has("hashlimit-upto") && !seen.has("hashlimit-above") {
		return nil, in.Failf("you have to specify --hashlimit-upto or --hashlimit-above")
	}
	if !seen.has("hashlimit-name") {
		return nil, in.Failf("hashlimit: option \"--hashlimit-name\" must be specified")
	}
	if !seen.has("hashlimit-htable-expire") {
		cfg.expire = uint32(mult * 1000)
	}
	if cfg.mode&hlBytes != 0 {
		var burst uint32
		if seen.has("hashlimit-burst") {
			unit := hlCostToBytes(cfg.avg)
			if cfg.burst < unit {
				return nil, in.Failf("burst cannot be smaller than %db", unit)
			}
			// libxt_hashlimit counts the burst in a 32-bit variable.
			burst = uint32(uint64(uint32(cfg.burst)) / unit)
			if cfg.burst%unit != 0 {
				burst++
			}
			if !seen.has("hashlimit-htable-expire") {
				cfg.expire = hlByteExpireBu * 1000
			}
		}
		cfg.burst = uint64(burst)
	} else if rev == 1 && cfg.burst > hlBurstMaxV1 || cfg.burst > hlBurstMax {
		max := hlBurstMax
		if rev == 1 {
			max = hlBurstMaxV1
		}
		return nil, in.Failf("bad value for option \"--hashlimit-burst\", or out of range (1-%d)", max)
	}
	if seen.has("hashlimit-rate-match") {
		if cfg.mode&hlBytes == 0 {
			cfg.avg /= mult
		}
		if cfg.interval == 0 {
			if cfg.mode&hlBytes != 0 {
				cfg.interval = 1
			} else {
				cfg.interval = uint32(mult)
			}
		}
	}
	return cfg.encode(rev, name), nil
}

func (cfg *hlCfg) encode(rev uint8, name string) []byte {
	l := hlLayouts[rev]
	data := make([]byte, Align(l.size))
	copy(data, name)
	if rev == 1 {
		c := data[16:]
		NE.PutUint32(c[0:], cfg.mode)
		NE.PutUint32(c[4:], uint32(cfg.avg))
		NE.PutUint32(c[8:], uint32(cfg.burst))
		NE.PutUint32(c[12:], cfg.size)
		NE.PutUint32(c[16:], cfg.max)
		NE.PutUint32(c[20:], cfg.gcInterval)
		NE.PutUint32(c[24:], cfg.expire)
		c[28], c[29] = cfg.srcmask, cfg.dstmask
		return data
	}
	c := data[256:]
	NE.PutUint64(c[0:], cfg.avg)
	NE.PutUint64(c[8:], cfg.burst)
	NE.PutUint32(c[16:], cfg.mode)
	NE.PutUint32(c[20:], cfg.size)
	NE.PutUint32(c[24:], cfg.max)
	NE.PutUint32(c[28:], cfg.gcInterval)
	NE.PutUint32(c[32:], cfg.expire)
	m := 36
	if rev == 3 {
		NE.PutUint32(c[36:], cfg.interval)
		m = 40
	}
	c[m], c[m+1] = cfg.srcmask, cfg.dstmask
	return data
}

func decodeHashlimit(data []byte, rev uint8) (cfg hlCfg, name string) {
	if rev == 1 {
		c := data[16:]
		cfg = hlCfg{
			mode: NE.Uint32(c[0:]), avg: uint64(NE.Uint32(c[4:])), burst: uint64(NE.Uint32(c[8:])),
			size: NE.Uint32(c[12:]), max: NE.Uint32(c[16:]), gcInterval: NE.Uint32(c[20:]),
			expire: NE.Uint32(c[24:]), srcmask: c[28], dstmask: c[29],
		}
		return cfg, CString(data[:16])
	}
	c := data[256:]
	cfg = hlCfg{
		avg: NE.Uint64(c[0:]), burst: NE.Uint64(c[8:]), mode: NE.Uint32(c[16:]),
		size: NE.Uint32(c[20:]), max: NE.Uint32(c[24:]), gcInterval: NE.Uint32(c[28:]),
		expire: NE.Uint32(c[32:]),
	}
	m := 36
	if rev == 3 {
		cfg.interval = NE.Uint32(c[36:])
		m = 40
	}
	cfg.srcmask, cfg.dstmask = c[m], c[m+1]
	return cfg, CString(data[:255])
}

// formatHlBytes is print_bytes: the byte rate in the largest unit that
// converts back to the same cost, then the burst in bytes.
func formatHlBytes(b *strings.Builder, avg, burst uint64) (quantumMs uint32) {
	units := []struct {
		name   string
		thresh uint64
	}{{"m", 1024 * 1024}, {"k", 1024}, {"", 1}}
	r := hlCostToBytes(avg)
	i := 0
	for ; i < len(units)-1; i++ {
		if r >= units[i].thresh && hlBytesToCost(r&^(units[i].thresh-1)) == avg {
			break
		}
	}
	fmt.Fprintf(b, " %d%sb/s", r/units[i].thresh, units[i].name)
	if burst == 0 {
		return hlByteExpire * 1000
	}
	r *= burst
	for i = 0; i < len(units)-1; i++ {
		if r >= units[i].thresh {
			break
		}
	}
	fmt.Fprintf(b, " --hashlimit-burst %d%sb", r/units[i].thresh, units[i].name)
	return hlByteExpireBu * 1000
}

// saveHashlimit is hashlimit_mt_save.
func saveHashlimit(b *strings.Builder, r RuleInfo, data []byte, rev uint8) error {
	cfg, name := decodeHashlimit(data, rev)
	known := uint32(hlHashDIP | hlHashDPT | hlHashSIP | hlHashSPT | hlInvert | hlBytes)
	if rev == 3 {
		known |= hlRateMatch
	}
	if cfg.mode&^known != 0 {
		return fmt.Errorf("hashlimit: unknown mode bits %#x", cfg.mode)
	}
	if cfg.mode&hlInvert != 0 {
		b.WriteString(" --hashlimit-above")
	} else {
		b.WriteString(" --hashlimit-upto")
	}
	var quantum uint32
	if cfg.mode&hlBytes != 0 {
		quantum = formatHlBytes(b, cfg.avg, cfg.burst)
	} else {
		scale := uint64(hlScale)
		if rev == 1 {
			scale = hlScaleV1
		}
		quantum = uint32(formatRate(b, cfg.avg, scale))
		fmt.Fprintf(b, " --hashlimit-burst %d", cfg.burst)
	}
	if cfg.mode&(hlHashSIP|hlHashSPT|hlHashDIP|hlHashDPT) != 0 {
		b.WriteString(" --hashlimit-mode ")
		sep := ""
		for _, m := range hlModeNames {
			if cfg.mode&m.bit != 0 {
				b.WriteString(sep + m.name)
				sep = ","
			}
		}
	}
	// The name is printed raw, unquoted.
	b.WriteString(" --hashlimit-name " + name)
	if cfg.size != 0 {
		fmt.Fprintf(b, " --hashlimit-htable-size %d", cfg.size)
	}
	if cfg.max != 0 {
		fmt.Fprintf(b, " --hashlimit-htable-max %d", cfg.max)
	}
	if cfg.gcInterval != hlGCDef {
		fmt.Fprintf(b, " --hashlimit-htable-gcinterval %d", cfg.gcInterval)
	}
	if cfg.expire != quantum {
		fmt.Fprintf(b, " --hashlimit-htable-expire %d", cfg.expire)
	}
	dmask := uint8(familyBits(r.Family))
	if cfg.srcmask != dmask {
		fmt.Fprintf(b, " --hashlimit-srcmask %d", cfg.srcmask)
	}
	if cfg.dstmask != dmask {
		fmt.Fprintf(b, " --hashlimit-dstmask %d", cfg.dstmask)
	}
	if rev == 3 && cfg.mode&hlRateMatch != 0 {
		b.WriteString(" --hashlimit-rate-match")
		if cfg.interval != 1 {
			fmt.Fprintf(b, " --hashlimit-rate-interval %d", cfg.interval)
		}
	}
	return nil
}
