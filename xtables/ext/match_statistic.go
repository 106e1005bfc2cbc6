package ext

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// struct xt_statistic_info (linux/netfilter/xt_statistic.h), 24 bytes:
//
//	__u16 mode; __u16 flags;
//	union { struct { __u32 probability; } random;
//	        struct { __u32 every; __u32 packet; __u32 count; } nth; } u;
//	struct xt_statistic_priv *master __attribute__((aligned(8)));
//
// master (offset 16) is the kernel's own pointer: userspace writes zero
// and the kernel hides it again when it returns the rules. nth.count is
// unused since Linux keeps the counter in master, but iptables still
// fills it with every-packet (after --every was lowered by one), and as
// the union overlays probability on every, a random-mode rule gets its
// probability copied into count too.
const (
	statisticRandom = 0 // XT_STATISTIC_MODE_RANDOM
	statisticNth    = 1 // XT_STATISTIC_MODE_NTH
	statisticInvert = 1 // XT_STATISTIC_INVERT
)

func init() {
	Register(&Extension{
		Kind: Match, Name: "statistic", Revision: 0, Family: FamilyAny,
		Size: 24,
		Options: []Option{
			{Name: "mode", Args: 1},
			{Name: "probability", Args: 1, Invertible: true},
			{Name: "every", Args: 1, Invertible: true},
			{Name: "packet", Args: 1},
		},
		Parse: parseStatistic,
		Save:  saveStatistic,
	})
}

func parseStatistic(in *ParseInput) ([]byte, error) {
	data := make([]byte, 24)
	seen := newOptionSet(in)
	var mode uint16
	var every, packet uint32
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		if o.Invert {
			NE.PutUint16(data[2:], statisticInvert)
		}
		switch o.Name {
		case "mode":
			switch o.Arg() {
			case "random":
				mode = statisticRandom
			case "nth":
				mode = statisticNth
			default:
				return nil, in.Errorf(o, "bad mode %q (random or nth)", o.Arg())
			}
		case "probability":
			p, err := strconv.ParseFloat(o.Arg(), 64)
			if err != nil || math.IsNaN(p) || p < 0 || p > 1 {
				return nil, in.Errorf(o, "bad value %q, or out of range (0-1)", o.Arg())
			}
			// lround: halves away from zero, as math.Round.
			every = uint32(math.Round(0x80000000 * p))
		case "every":
			v, err := uintOption(in, o, 1, math.MaxUint32)
			if err != nil {
				return nil, err
			}
			every = uint32(v) - 1
		case "packet":
			v, err := uintOption(in, o, 0, math.MaxUint32)
			if err != nil {
				return nil, err
			}
			packet = uint32(v)
		}
	}
	if ok := seen.has("mode"); !ok {
		return nil, in.Failf("statistic: option \"--mode\" must be specified")
	}
	if err := seen.exclusive("probability", "every"); err != nil {
		return nil, err
	}
	if err := seen.exclusive("probability", "packet"); err != nil {
		return nil, err
	}
	hasProb := seen.has("probability")
	hasEvery := seen.has("every")
	hasPacket := seen.has("packet")
	switch {
	case mode == statisticRandom && !hasProb:
		return nil, in.Failf("--probability must be specified when using random mode")
	case mode == statisticNth && !hasEvery && !hasPacket:
		return nil, in.Failf("--every and --packet must be specified when using nth mode")
	case packet > every:
		return nil, in.Errorf(seen.given("packet"), "the --packet p must be 0 <= p <= n-1")
	case hasEvery != hasPacket:
		o, other := seen.given("every"), "packet"
		if hasPacket {
			o, other = seen.given("packet"), "every"
		}
		return nil, errRequires(in, o, other)
	}
	NE.PutUint16(data[0:], mode)
	NE.PutUint32(data[4:], every)
	NE.PutUint32(data[8:], packet)
	NE.PutUint32(data[12:], every-packet)
	return data, nil
}

func saveStatistic(b *strings.Builder, _ RuleInfo, data []byte) error {
	mode, inv := NE.Uint16(data[0:]), NE.Uint16(data[2:])&statisticInvert != 0
	switch mode {
	case statisticRandom:
		p := float64(NE.Uint32(data[4:])) / 0x80000000
		fmt.Fprintf(b, " --mode random%s --probability %s", Invert(inv), strconv.FormatFloat(p, 'f', 11, 64))
	case statisticNth:
		// every+1 wraps like the C unsigned sum for every = 2^32-1.
		fmt.Fprintf(b, " --mode nth%s --every %d --packet %d", Invert(inv), NE.Uint32(data[4:])+1, NE.Uint32(data[8:]))
	default:
		return fmt.Errorf("statistic: unknown mode %d", mode)
	}
	return nil
}
