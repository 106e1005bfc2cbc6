package ext

import (
	"strings"
)

// struct xt_tee_tginfo (linux/netfilter/xt_TEE.h), revision 1, 40 bytes:
//
//	union nf_inet_addr gw; char oif[16]; struct xt_tee_priv *priv (the kernel's);
func init() {
	for _, fam := range []Family{IPv4, IPv6} {
		fam := fam
		Register(&Extension{
			Kind: Target, Name: "TEE", Revision: 1, Family: fam,
			Size:    40,
			Options: []Option{{Name: "gateway", Args: 1}, {Name: "oif", Args: 1}},
			Parse: func(in *ParseInput) ([]byte, error) {
				data := make([]byte, 40)
				seen := newOptionSet(in)
				for _, o := range in.Options {
					if err := seen.once(o); err != nil {
						return nil, err
					}
					switch o.Name {
					case "gateway":
						gw, err := parseHostBytes(o.Arg(), fam, formOption)
						if err != nil {
							return nil, in.Errorf(o, "%v", err)
						}
						copy(data, gw[:])
					case "oif":
						if err := putTruncString(data[16:32], o.Arg()); err != nil {
							return nil, in.Errorf(o, "%v", err)
						}
					}
				}
				if !seen.has("gateway") {
					return nil, in.Failf("TEE: option \"--gateway\" must be specified")
				}
				return data, nil
			},
			Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
				b.WriteString(" --gateway " + formatHost(fam, data[:16]))
				if oif := CString(data[16:32]); oif != "" {
					b.WriteString(" --oif " + oif)
				}
				return nil
			},
		})
	}
}
