package ext

import (
	"strings"
)

// struct xt_nfacct_match_info (linux/netfilter/xt_nfacct.h), revision 0,
// 40 bytes, and xt_nfacct_match_info_v1, revision 1, 40 bytes:
//
//	char name[NFACCT_NAME_MAX (32)]; struct nf_acct *nfacct;
//
// The pointer is the kernel's. The named accounting object must exist
// (nfacct add NAME) or the kernel refuses the rule.
func init() {
	for rev := uint8(0); rev <= 1; rev++ {
		Register(&Extension{
			Kind: Match, Name: "nfacct", Revision: rev, Family: FamilyAny,
			Size:    40,
			Options: []Option{{Name: "nfacct-name", Args: 1}},
			Parse: func(in *ParseInput) ([]byte, error) {
				data := make([]byte, 40)
				seen := newOptionSet(in)
				for _, o := range in.Options {
					if err := seen.once(o); err != nil {
						return nil, err
					}
					if o.Arg() == "" {
						return nil, in.Errorf(o, "Argument must have a minimum length of 1 characters")
					}
					if strings.Contains(o.Arg(), "\n") {
						return nil, in.Errorf(o, "Newlines not allowed in --nfacct-name")
					}
					if err := putTruncString(data[:32], o.Arg()); err != nil {
						return nil, in.Errorf(o, "%v", err)
					}
				}
				if !seen.has("nfacct-name") {
					return nil, in.Failf("nfacct: option \"--nfacct-name\" must be specified")
				}
				return data, nil
			},
			Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
				name, err := cStringField(data[:32], "nfacct name")
				if err != nil {
					return err
				}
				// nfacct_print_name ends with a space and
				// xtables_save_string starts with one: two spaces.
				b.WriteString(" --nfacct-name ")
				SaveString(b, name)
				return nil
			},
		})
	}
}
