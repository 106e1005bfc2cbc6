package ext

import (
	"fmt"
	"math"
	"strings"
)

// struct xt_connbytes_info (linux/netfilter/xt_connbytes.h), 24 bytes:
//
//	struct { __aligned_u64 from, to; } count; __u8 what; __u8 direction;
//
// An inverted range is stored with from and to swapped.
var (
	connbytesModes = []string{"packets", "bytes", "avgpkt"}
	connbytesDirs  = []string{"original", "reply", "both"}
)

func init() {
	Register(&Extension{
		Kind: Match, Name: "connbytes", Revision: 0, Family: FamilyAny,
		Size: 18,
		Options: []Option{
			{Name: "connbytes", Args: 1, Invertible: true},
			{Name: "connbytes-dir", Args: 1},
			{Name: "connbytes-mode", Args: 1},
		},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 24)
			seen := newOptionSet(in)
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				switch o.Name {
				case "connbytes":
					from, to, single, err := parseUintRange(o.Arg(), math.MaxUint64)
					if err != nil {
						return nil, in.Errorf(o, "%v", err)
					}
					if single {
						to = math.MaxUint64
					}
					if to < from {
						return nil, in.Errorf(o, "%d should be less than %d", from, to)
					}
					if o.Invert {
						from, to = to, from
					}
					NE.PutUint64(data, from)
					NE.PutUint64(data[8:], to)
				case "connbytes-dir", "connbytes-mode":
					names, off := connbytesDirs, 17
					if o.Name == "connbytes-mode" {
						names, off = connbytesModes, 16
					}
					found := false
					for i, n := range names {
						if n == o.Arg() {
							data[off], found = uint8(i), true
						}
					}
					if !found {
						return nil, in.Errorf(o, "unknown value %q", o.Arg())
					}
				}
			}
			for _, n := range []string{"connbytes", "connbytes-dir", "connbytes-mode"} {
				if !seen.has(n) {
					return nil, in.Failf("connbytes: option \"--%s\" must be specified", n)
				}
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			from, to := NE.Uint64(data), NE.Uint64(data[8:])
			if from > to {
				b.WriteString(" !")
				from, to = to, from
			}
			fmt.Fprintf(b, " --connbytes %d", from)
			if to != 0 && to < math.MaxUint64 {
				fmt.Fprintf(b, ":%d", to)
			}
			name := func(names []string, v uint8) string {
				if int(v) < len(names) {
					return names[v]
				}
				return "unknown"
			}
			b.WriteString(" --connbytes-mode " + name(connbytesModes, data[16]))
			b.WriteString(" --connbytes-dir " + name(connbytesDirs, data[17]))
			return nil
		},
	})
}
