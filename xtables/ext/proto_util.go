package ext

// Shared helpers of the "proto" group of extensions (tcpmss, string, time,
// u32, rpfilter, policy, helper, esp, ah and the IPv6 header matches).
// Their names start with "pg" so they cannot collide with other groups'.

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
)

// pgRange parses "n", "n:m", ":m" or "n:" as XTTYPE_UINT*RC options do
// (xtopt_parse_mint): a missing lower bound is 0, a missing upper one is
// max. single tells whether only one number was given.
func pgRange(s string, max uint64) (lo, hi uint64, single bool, err error) {
	var vals []uint64
	arg := s
	for {
		if len(vals) == 2 {
			return 0, 0, false, fmt.Errorf("too many components in %q (max: 2)", s)
		}
		var v uint64
		rest := arg
		if arg == "" || arg[0] == ':' {
			if len(vals) == 1 {
				v = max
			}
		} else {
			var ok bool
			v, rest, ok = StrtoulRange(arg, 0, max)
			if !ok {
				return 0, 0, false, fmt.Errorf("bad value near %q, or out of range (0-%d)", arg, max)
			}
			if rest != "" && rest[0] != ':' {
				return 0, 0, false, fmt.Errorf("unexpected characters near %q", rest)
			}
		}
		vals = append(vals, v)
		if rest == "" {
			break
		}
		arg = rest[1:]
	}
	if len(vals) == 1 {
		return vals[0], vals[0], true, nil
	}
	return vals[0], vals[1], false, nil
}

// pgParseIP6 is inet_pton(AF_INET6): an IPv6 address, no zone, no IPv4.
func pgParseIP6(s string) ([16]byte, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || a.Zone() != "" {
		return [16]byte{}, fmt.Errorf("bad address: %s", s)
	}
	return a.As16(), nil
}

// pgPutUint32s stores host-order 32-bit words.
func pgPutUint32s(b []byte, vals ...uint32) {
	for i, v := range vals {
		NE.PutUint32(b[4*i:], v)
	}
}

// pgSaveRange prints " [!] --name lo[:hi]" unless [lo, hi] is the full
// 32-bit range: the save format of esp, ah, frag and rt ranges. Like
// iptables, an inverted full range prints nothing.
func pgSaveRange(b *strings.Builder, name string, lo, hi uint32, inv bool) {
	if lo == 0 && hi == math.MaxUint32 {
		return
	}
	if lo == hi {
		fmt.Fprintf(b, "%s --%s %d", Invert(inv), name, lo)
	} else {
		fmt.Fprintf(b, "%s --%s %d:%d", Invert(inv), name, lo, hi)
	}
}

// struct ip6t_opts (linux/netfilter_ipv6/ip6t_opts.h), 40 bytes, shared
// by the hbh and dst matches (one kernel file, ip6t_hbh.c, serves both):
//
//	__u32 hdrlen; __u8 flags; __u8 invflags;
//	__u16 opts[16];  // at 6, host order: type << 8 | length (0xff: any)
//	__u8 optsnr;     // at 38, + 1 padding
const (
	pgOptsSize   = 40
	pgOptsMax    = 16
	pgOptsLen    = 0x01 // IP6T_OPTS_LEN
	pgOptsOpts   = 0x02 // IP6T_OPTS_OPTS
	pgOptsInvLen = 0x01 // IP6T_OPTS_INV_LEN
)

// pgRegisterOpts registers hbh or dst (prefix "hbh" or "dst").
func pgRegisterOpts(name string) {
	Register(&Extension{
		Kind: Match, Name: name, Revision: 0, Family: IPv6,
		Size: pgOptsSize,
		Options: []Option{
			{Name: name + "-len", Args: 1, Invertible: true},
			{Name: name + "-opts", Args: 1},
		},
		Parse: func(in *ParseInput) ([]byte, error) { return pgParseOpts(in, name) },
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			return pgSaveOpts(b, name, data)
		},
	})
}

func pgParseOpts(in *ParseInput, name string) ([]byte, error) {
	data := make([]byte, Align(pgOptsSize))
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		if o.Name == name+"-len" {
			v, err := ParseUint(o.Arg(), 0, 0xffffffff)
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			NE.PutUint32(data[0:], uint32(v))
			data[4] |= pgOptsLen
			if o.Invert {
				data[5] |= pgOptsInvLen
			}
			continue
		}
		opts, err := pgParseOptList(o.Arg())
		if err != nil {
			return nil, in.Errorf(o, "%v", err)
		}
		for i, v := range opts {
			NE.PutUint16(data[6+2*i:], v)
		}
		data[38] = uint8(len(opts))
		data[4] |= pgOptsOpts
	}
	return data, nil
}

// pgParseOptList is parse_options of libip6t_hbh/dst: TYPE[:LEN] items
// separated by commas, at most 16, the last of 16 without a length.
// Numbers are read by strtoul and cut to 8 bits, as iptables does.
func pgParseOptList(arg string) ([]uint16, error) {
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
	if len(items) > pgOptsMax {
		return nil, fmt.Errorf("too many options specified (at most %d)", pgOptsMax)
	}
	out := make([]uint16, len(items))
	for i, item := range items {
		typ, length, hasLen := strings.Cut(item, ":")
		if hasLen && i == pgOptsMax-1 {
			return nil, fmt.Errorf("too many options specified (the %dth cannot have a length)", pgOptsMax)
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

func pgSaveOpts(b *strings.Builder, name string, data []byte) error {
	flags, inv, n := data[4], data[5], int(data[38])
	if inv&^pgOptsInvLen != 0 {
		return fmt.Errorf("%s: unknown invflags 0x%02x", name, inv)
	}
	if n > pgOptsMax {
		return fmt.Errorf("%s: %d options", name, n)
	}
	if flags&pgOptsLen != 0 {
		fmt.Fprintf(b, "%s --%s-len %d", Invert(inv&pgOptsInvLen != 0), name, NE.Uint32(data[0:]))
	}
	if flags&pgOptsOpts != 0 {
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

// parseProtocol8 is ParseProtocol for a one-byte protocol field.
func parseProtocol8(s string) (uint8, error) {
	p, err := ParseProtocol(s)
	if err == nil && p > 255 {
		err = fmt.Errorf("protocol %q (%d) does not fit the rule's one-byte field", s, p)
	}
	return uint8(p), err
}
