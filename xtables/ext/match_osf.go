package ext

import (
	"fmt"
	"strings"
)

// struct xt_osf_info (linux/netfilter/nfnetlink_osf.h), 48 bytes (IPv4):
//
//	char genre[32]; __u32 len; __u32 flags; __u32 loglevel; __u32 ttl;
const (
	osfTTL    = 1 << 1 // NF_OSF_TTL
	osfLog    = 1 << 2 // NF_OSF_LOG
	osfInvert = 1 << 3 // NF_OSF_INVERT
)

func init() {
	Register(&Extension{
		Kind: Match, Name: "osf", Revision: 0, Family: IPv4,
		Hooks: HookPreRouting | HookInput | HookForward, // xt_osf.c: SYNs coming in
		Size:  48,
		Options: []Option{
			{Name: "genre", Args: 1, Invertible: true},
			{Name: "ttl", Args: 1},
			{Name: "log", Args: 1},
		},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 48)
			seen := newOptionSet(in)
			var flags uint32
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				switch o.Name {
				case "genre":
					if err := putTruncString(data[:32], o.Arg()); err != nil {
						return nil, in.Errorf(o, "%v", err)
					}
					NE.PutUint32(data[32:], uint32(len(CString(data[:32]))))
					if o.Invert {
						flags |= osfInvert
					}
				case "ttl", "log":
					v, err := uintOption(in, o, 0, 2)
					if err != nil {
						return nil, err
					}
					if o.Name == "ttl" {
						NE.PutUint32(data[44:], uint32(v))
						flags |= osfTTL
					} else {
						NE.PutUint32(data[40:], uint32(v))
						flags |= osfLog
					}
				}
			}
			if !seen.has("genre") {
				return nil, in.Failf("osf: option \"--genre\" must be specified")
			}
			NE.PutUint32(data[36:], flags)
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			genre, err := cStringField(data[:32], "osf genre")
			if err != nil {
				return err
			}
			flags := NE.Uint32(data[36:])
			fmt.Fprintf(b, "%s --genre %s", Invert(flags&osfInvert != 0), genre)
			if flags&osfTTL != 0 {
				fmt.Fprintf(b, " --ttl %d", NE.Uint32(data[44:]))
			}
			if flags&osfLog != 0 {
				fmt.Fprintf(b, " --log %d", NE.Uint32(data[40:]))
			}
			return nil
		},
	})
}
