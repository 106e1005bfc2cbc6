package ext

import (
	"fmt"
	"strings"
)

// struct ip6t_opts (linux/netfilter_ipv6/ip6t_opts.h), 40 bytes, shared
// by the hbh and dst matches (one kernel file, ip6t_hbh.c, serves both):
//
//	__u32 hdrlen; __u8 flags; __u8 invflags;
//	__u16 opts[16];  // at 6, host order: type << 8 | length (0xff: any)
//	__u8 optsnr;     // at 38, + 1 padding
const (
	ip6OptsSize   = 40
	ip6OptsMax    = 16
	ip6OptsLen    = 0x01 // IP6T_OPTS_LEN
	ip6OptsOpts   = 0x02 // IP6T_OPTS_OPTS
	ip6OptsInvLen = 0x01 // IP6T_OPTS_INV_LEN
)

// registerIP6Opts registers hbh or dst (prefix "hbh" or "dst").
func registerIP6Opts(name string) {
	Register(&Extension{
		Kind: Match, Name: name, Revision: 0, Family: IPv6,
		Size: ip6OptsSize,
		Options: []Option{
			{Name: name + "-len", Args: 1, Invertible: true},
			{Name: name + "-opts", Args: 1},
		},
		Parse: func(in *ParseInput) ([]byte, error) { return parseIP6Opts(in, name) },
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			return saveIP6Opts(b, name, data)
		},
	})
}

func parseIP6Opts(in *ParseInput, name string) ([]byte, error) {
	data := make([]byte, Align(ip6OptsSize))
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		if o.Name == name+"-len" {
			v, err := uintOption(in, o, 0, 0xffffffff)
			if err != nil {
				return nil, err
			}
			NE.PutUint32(data[0:], uint32(v))
			data[4] |= ip6OptsLen
			if o.Invert {
				data[5] |= ip6OptsInvLen
			}
			continue
		}
		opts, err := parseIP6OptList(o.Arg())
		if err != nil {
			return nil, in.Errorf(o, "%v", err)
		}
		for i, v := range opts {
			NE.PutUint16(data[6+2*i:], v)
		}
		data[38] = uint8(len(opts))
		data[4] |= ip6OptsOpts
	}
	return data, nil
}

// parseIP6OptList is parse_options of libip6t_hbh/dst: TYPE[:LEN] items
// separated by commas, at most 16, the last of 16 without a length.
// Numbers are read by strtoul and cut to 8 bits, as iptables does.
func parseIP6OptList(arg string) ([]uint16, error) {
	num := func(s, what string) (uint16, error) {
		v, rest, ok, overflow := CStrtoul(s, 0)
		switch {
		case !ok:
			return 0, fmt.Errorf("no valid digits in %s %q", what, s)
		case overflow:
			return 0, fmt.Errorf("%s %q too big", what, s)
		case rest != "":
			return 0, fmt.Errorf("error parsing %s %q", what, s)
		}
		return uint16(v & 0xff), nil
	}
	items := strings.Split(arg, ",")
	if len(items) > ip6OptsMax {
		return nil, fmt.Errorf("too many options specified (at most %d)", ip6OptsMax)
	}
	out := make([]uint16, len(items))
	for i, item := range items {
		typ, length, hasLen := strings.Cut(item, ":")
		if hasLen && i == ip6OptsMax-1 {
			return nil, fmt.Errorf("too many options specified (the %dth cannot have a length)", ip6OptsMax)
		}
		t, err := num(typ, "opt")
		if err != nil {
			return nil, err
		}
		out[i] = t<<8 | 0xff
		if hasLen {
			if t == 0 {
				return nil, fmt.Errorf("PAD0 has not got length")
			}
			l, err := num(length, "length")
			if err != nil {
				return nil, err
			}
			out[i] = t<<8 | l
		}
	}
	return out, nil
}

func saveIP6Opts(b *strings.Builder, name string, data []byte) error {
	flags, inv, n := data[4], data[5], int(data[38])
	if inv&^ip6OptsInvLen != 0 {
		return fmt.Errorf("%s: unknown invflags 0x%02x", name, inv)
	}
	if n > ip6OptsMax {
		return fmt.Errorf("%s: %d options", name, n)
	}
	if flags&ip6OptsLen != 0 {
		fmt.Fprintf(b, "%s --%s-len %d", Invert(inv&ip6OptsInvLen != 0), name, NE.Uint32(data[0:]))
	}
	if flags&ip6OptsOpts != 0 {
		b.WriteString(" --" + name + "-opts")
	}
	// The list follows whether or not the flag is set, as in hbh_save.
	for i := 0; i < n; i++ {
		sep := ","
		if i == 0 {
			sep = " "
		}
		v := NE.Uint16(data[6+2*i:])
		fmt.Fprintf(b, "%s%d", sep, v>>8)
		if v&0xff != 0xff {
			fmt.Fprintf(b, ":%d", v&0xff)
		}
	}
	return nil
}
