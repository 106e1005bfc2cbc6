package ext

import (
	"fmt"
	"strings"
)

// struct xt_rateinfo (linux/netfilter/xt_limit.h), 40 bytes:
//
//	__u32 avg; __u32 burst;                      // user's part
//	unsigned long prev; __u32 credit, credit_cap, cost; void *master;
//
// Only avg and burst are the user's: the kernel keeps its state after
// them and zeroes everything past burst (usersize 8) when the table is
// read back, so Parse writes zeros there too.
//
// RateInfo is its value: the user's part, which Marshal lays out with
// the kernel's part zeroed.
type RateInfo struct {
	Avg   uint32 // seconds between packets * LimitScale
	Burst uint32
}

// LimitScale is XT_LIMIT_SCALE, the unit of RateInfo.Avg: avg is seconds
// between packets * 10000.
const LimitScale = 10000

// Marshal is the payload (40 bytes, already aligned).
func (r *RateInfo) Marshal() []byte {
	data := make([]byte, limitSize)
	NE.PutUint32(data[0:], r.Avg)
	NE.PutUint32(data[4:], r.Burst)
	return data
}

// UnmarshalRateInfo reads an xt_rateinfo payload's user part.
func UnmarshalRateInfo(data []byte) (*RateInfo, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("limit: payload of %d bytes, want %d", len(data), limitSize)
	}
	return &RateInfo{Avg: NE.Uint32(data[0:]), Burst: NE.Uint32(data[4:])}, nil
}

const (
	limitSize     = 40
	limitBurstDef = 5
	limitAvgDef   = "3/hour"
)

func init() {
	Register(&Extension{
		Kind: Match, Name: "limit", Revision: 0, Family: FamilyAny,
		Size: limitSize,
		Options: []Option{
			{Name: "limit", Args: 1},
			{Name: "limit-burst", Args: 1},
		},
		Parse: parseLimit,
		Save:  saveLimit,
	})
}

// parseLimitRate is libxt_limit's parse_rate: "N[/unit]", N read as
// atoi does, unit any prefix of second/minute/hour/day.
func parseLimitRate(rate string) (uint32, error) {
	mult, ok := rateUnit(rate)
	if !ok {
		return 0, fmt.Errorf("bad rate %q", rate)
	}
	r := uint32(int32(cAtoll(rate))) // atoi's int, stored in a uint32
	if r == 0 {
		return 0, fmt.Errorf("bad rate %q", rate)
	}
	avg := uint32(LimitScale) * uint32(mult) / r
	if avg == 0 {
		return 0, fmt.Errorf("rate too fast %q", rate)
	}
	return avg, nil
}

func parseLimit(in *ParseInput) ([]byte, error) {
	avg, _ := parseLimitRate(limitAvgDef)
	burst := uint64(limitBurstDef)
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		var err error
		switch o.Name {
		case "limit":
			avg, err = parseLimitRate(o.Arg())
		case "limit-burst":
			burst, err = ParseUint(o.Arg(), 0, 10000)
			// iptables takes 0, but the kernel refuses it.
			if err == nil && burst == 0 {
				err = fmt.Errorf("a burst of 0 is refused by the kernel")
			}
		}
		if err != nil {
			return nil, in.Errorf(o, "%v", err)
		}
	}
	r := RateInfo{Avg: avg, Burst: uint32(burst)}
	return r.Marshal(), nil
}

// saveLimit is limit_save: the rate always, the burst unless it is 5.
func saveLimit(b *strings.Builder, _ RuleInfo, data []byte) error {
	r, err := UnmarshalRateInfo(data)
	if err != nil {
		return err
	}
	b.WriteString(" --limit")
	formatRate(b, uint64(r.Avg), LimitScale)
	if r.Burst != limitBurstDef {
		fmt.Fprintf(b, " --limit-burst %d", r.Burst)
	}
	return nil
}
