package ext

import (
	"fmt"
	"strings"
)

// struct xt_connlabel_mtinfo (linux/netfilter/xt_connlabel.h), 4 bytes:
//
//	__u16 bit; __u16 options;
//
// Label names come from /etc/xtables/connlabel.conf ("BIT NAME" lines);
// save always quotes the label.
const (
	connlabelInvert = 1 << 0 // XT_CONNLABEL_OP_INVERT
	connlabelSet    = 1 << 1 // XT_CONNLABEL_OP_SET
)

func init() {
	Register(&Extension{
		Kind: Match, Name: "connlabel", Revision: 0, Family: FamilyAny,
		Size: 4,
		Options: []Option{
			{Name: "label", Args: 1, Invertible: true},
			{Name: "set"},
		},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 8)
			seen := newOptionSet(in)
			var opts uint16
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				switch o.Name {
				case "label":
					arg := o.Arg()
					if arg == "" {
						return nil, in.Errorf(o, "Argument must have a minimum length of 1 characters")
					}
					v, rest, ok, _ := CStrtoul(arg, 0)
					if !ok || rest != "" || v > 0x7fffffff {
						id, found := mapName2ID(in.names(), MapConnLabels, arg)
						if !found {
							return nil, in.Errorf(o, "label %q not found in %s", arg, MapConnLabels)
						}
						v = id
					}
					NE.PutUint16(data, uint16(v))
					if o.Invert {
						opts |= connlabelInvert
					}
				case "set":
					opts |= connlabelSet
				}
			}
			if !seen.has("label") {
				return nil, in.Failf("connlabel: option \"--label\" must be specified")
			}
			NE.PutUint16(data[2:], opts)
			return data, nil
		},
		Save: func(b *strings.Builder, r RuleInfo, data []byte) error {
			bit, opts := NE.Uint16(data), NE.Uint16(data[2:])
			if opts&^(connlabelInvert|connlabelSet) != 0 {
				return fmt.Errorf("connlabel: unknown options %#x", opts)
			}
			b.WriteString(Invert(opts&connlabelInvert != 0))
			if name, ok := mapID2Name(r.names(), MapConnLabels, uint64(bit)); ok && name != "" {
				fmt.Fprintf(b, " --label \"%s\"", name)
			} else {
				fmt.Fprintf(b, " --label \"%d\"", bit)
			}
			if opts&connlabelSet != 0 {
				b.WriteString(" --set")
			}
			return nil
		},
	})
}
