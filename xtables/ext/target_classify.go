package ext

import (
	"fmt"
	"strconv"
	"strings"
)

// struct xt_classify_target_info (linux/netfilter/xt_CLASSIFY.h), 4 bytes:
//
//	__u32 priority;
//
// The priority is a tc class handle: major in the high 16 bits, minor in
// the low ones (TC_H_MAKE).

func init() {
	Register(&Extension{
		Kind: Target, Name: "CLASSIFY", Revision: 0, Family: FamilyAny,
		// xt_CLASSIFY.c: .hooks, no table (a qdisc class is set on the
		// way out).
		Hooks:   HookForward | HookOutput | HookPostRouting,
		Size:    4,
		Options: []Option{{Name: "set-class", Args: 1}},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 8)
			opts := newOptionSet(in)
			for _, o := range in.Options {
				if err := opts.once(o); err != nil {
					return nil, err
				}
				major, minor, err := parseClass(o.Arg())
				if err != nil {
					return nil, in.Errorf(o, "%v", err)
				}
				NE.PutUint32(data, uint32(major)<<16|uint32(minor))
			}
			if !opts.has("set-class") {
				return nil, in.Failf("CLASSIFY: option --set-class must be specified")
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			p := NE.Uint32(data)
			fmt.Fprintf(b, " --set-class %04x:%04x", p>>16, p&0xffff)
			return nil
		},
	})
}

// parseClass parses "MAJOR:MINOR", both hexadecimal (with or without 0x),
// as libxt_CLASSIFY's sscanf("%x:%x") does. Unlike sscanf it refuses
// trailing garbage and parts above 0xffff instead of silently cutting them.
func parseClass(s string) (major, minor uint16, err error) {
	a, z, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("bad class value %q: want MAJOR:MINOR in hexadecimal", s)
	}
	hex := func(p string) (uint16, error) {
		d := strings.TrimPrefix(strings.TrimPrefix(p, "0x"), "0X")
		v, err := strconv.ParseUint(d, 16, 16)
		if d == "" || err != nil {
			return 0, fmt.Errorf("bad class value %q: %q is not a hexadecimal number up to ffff", s, p)
		}
		return uint16(v), nil
	}
	if major, err = hex(a); err != nil {
		return 0, 0, err
	}
	if minor, err = hex(z); err != nil {
		return 0, 0, err
	}
	return major, minor, nil
}
