package ext

import (
	"fmt"
	"strings"
)

// TTL and HL targets (libipt_TTL.c, libip6t_HL.c) share one layout: __u8
// mode; __u8 value (struct ipt_TTL_info, ip6t_HL_info).

// hopModes are the modes shared by TTL and HL, in kernel enum order.
var hopModes = []string{"set", "inc", "dec"}

// parseHopTarget parses TTL's --ttl-set/--ttl-inc/--ttl-dec or HL's
// --hl-* (prefix "ttl" or "hl"): exactly one, 0-255 for set, 1-255 for
// the others (the kernel refuses changing by 0).
func parseHopTarget(in *ParseInput, prefix, name string) ([]byte, error) {
	data := make([]byte, Align(2))
	opts := newOptionSet(in)
	all := []string{prefix + "-set", prefix + "-inc", prefix + "-dec"}
	for _, o := range in.Options {
		if err := opts.onceExcluding(o, all...); err != nil {
			return nil, err
		}
		for mode, m := range hopModes {
			if o.Name != prefix+"-"+m {
				continue
			}
			min := uint64(1)
			if m == "set" {
				min = 0
			}
			v, err := uintOption(in, o, min, 255)
			if err != nil {
				return nil, err
			}
			data[0], data[1] = uint8(mode), uint8(v)
		}
	}
	if len(in.Options) == 0 {
		return nil, in.Failf("%s: you must specify an action", name)
	}
	return data, nil
}

func saveHopTarget(b *strings.Builder, prefix string, data []byte) error {
	if int(data[0]) >= len(hopModes) {
		return fmt.Errorf("%s mode %d unknown", strings.ToUpper(prefix), data[0])
	}
	fmt.Fprintf(b, " --%s-%s %d", prefix, hopModes[data[0]], data[1])
	return nil
}
