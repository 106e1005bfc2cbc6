package ext

import (
	"strconv"
	"strings"
)

// struct xt_tcpoptstrip_target_info (linux/netfilter/xt_TCPOPTSTRIP.h),
// 32 bytes:
//
//	__u32 strip_bmap[8];   /* bit n%32 of word n/32: strip TCP option n */
//
// The kernel's target is .table "mangle", .proto IPPROTO_TCP.
type TCPOptStrip struct {
	Strip [8]uint32
}

// tcpOptNames is libxt_TCPOPTSTRIP.c's tcp_optionmap, in its order.
var tcpOptNames = []struct {
	name string
	opt  uint
}{
	{"wscale", 3}, {"mss", 2}, {"sack-permitted", 4}, {"sack", 5}, {"timestamp", 8}, {"md5", 19},
}

// Has reports whether option n is stripped.
func (t *TCPOptStrip) Has(n uint) bool { return n < 256 && t.Strip[n/32]&(1<<(n%32)) != 0 }

func (t *TCPOptStrip) marshal() []byte {
	data := make([]byte, 32)
	for i, w := range t.Strip {
		NE.PutUint32(data[4*i:], w)
	}
	return data
}

func unmarshalTCPOptStrip(data []byte) *TCPOptStrip {
	var t TCPOptStrip
	for i := range t.Strip {
		t.Strip[i] = NE.Uint32(data[4*i:])
	}
	return &t
}

func init() {
	Register(&Extension{
		Kind: Target, Name: "TCPOPTSTRIP", Revision: 0, Family: FamilyAny,
		Tables: []string{"mangle"}, // xt_TCPOPTSTRIP.c
		Size:   32, Proto: 6,
		Options: []Option{{Name: "strip-options", Args: 1}},
		Parse: func(in *ParseInput) ([]byte, error) {
			var t TCPOptStrip
			seen := newOptionSet(in)
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				for _, arg := range strings.Split(o.Arg(), ",") {
					n := uint(0)
					for _, m := range tcpOptNames {
						if m.name == arg {
							n = m.opt
							break
						}
					}
					if n == 0 {
						v, err := ParseUint(arg, 0, 255)
						if err != nil {
							return nil, in.Errorf(o, "bad TCP option value %q", arg)
						}
						n = uint(v)
					}
					if n < 2 {
						return nil, in.Errorf(o, "option value may not be 0 or 1")
					}
					if t.Has(n) {
						return nil, in.Errorf(o, "option %q already specified", arg)
					}
					t.Strip[n/32] |= 1 << (n % 32)
				}
			}
			return t.marshal(), nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			t := unmarshalTCPOptStrip(data)
			if *t == (TCPOptStrip{}) {
				return nil
			}
			b.WriteString(" --strip-options ")
			first := true
			for n := uint(0); n < 256; n++ {
				if !t.Has(n) {
					continue
				}
				if !first {
					b.WriteByte(',')
				}
				first = false
				b.WriteString(strconv.FormatUint(uint64(n), 10))
			}
			return nil
		},
	})
}
