package ext

import (
	"fmt"
	"strings"
)

// struct xt_helper_info (linux/netfilter/xt_helper.h), 36 bytes:
//
//	int invert; char name[30];
const (
	helperSize    = 36
	helperNameLen = 30
)

func init() {
	Register(&Extension{
		Kind: Match, Name: "helper", Revision: 0, Family: FamilyAny,
		Size:    helperSize,
		Options: []Option{{Name: "helper", Args: 1, Invertible: true}},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, Align(helperSize))
			seen := newOptionSet(in)
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				name := o.Arg()
				if strings.IndexByte(name, 0) >= 0 {
					return nil, in.Errorf(o, "helper name contains a NUL byte")
				}
				// iptables silently cuts the name to fit the field
				// (xtopt_parse_string); so must we, for the same bytes.
				if len(name) > helperNameLen-1 {
					name = name[:helperNameLen-1]
				}
				copy(data[4:], name)
				if o.Invert {
					NE.PutUint32(data[0:], 1)
				}
			}
			if !seen.has("helper") {
				return nil, in.Failf("helper match needs --helper")
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			name := data[4 : 4+helperNameLen]
			if name[helperNameLen-1] != 0 {
				return fmt.Errorf("helper: name not terminated")
			}
			b.WriteString(Invert(NE.Uint32(data[0:]) != 0))
			b.WriteString(" --helper")
			SaveString(b, CString(name))
			return nil
		},
	})
}
