package ext

import (
	"fmt"
	"strings"
)

// struct xt_ecn_info (linux/netfilter/xt_ecn.h), 4 bytes:
//
//	__u8 operation; __u8 invert; __u8 ip_ect; __u8 proto.tcp.ect;
const (
	ecnMatchIP  = 0x01 // XT_ECN_OP_MATCH_IP
	ecnMatchECE = 0x10 // XT_ECN_OP_MATCH_ECE
	ecnMatchCWR = 0x20 // XT_ECN_OP_MATCH_CWR
)

func init() {
	Register(&Extension{
		Kind: Match, Name: "ecn", Revision: 0, Family: FamilyAny,
		Size: 4,
		Options: []Option{
			{Name: "ecn-tcp-cwr", Invertible: true},
			{Name: "ecn-tcp-ece", Invertible: true},
			{Name: "ecn-ip-ect", Args: 1, Invertible: true},
		},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 8)
			seen := newOptionSet(in)
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				var bit uint8
				switch o.Name {
				case "ecn-tcp-cwr":
					bit = ecnMatchCWR
				case "ecn-tcp-ece":
					bit = ecnMatchECE
				case "ecn-ip-ect":
					bit = ecnMatchIP
					v, err := uintOption(in, o, 0, 3)
					if err != nil {
						return nil, err
					}
					data[2] = uint8(v)
				}
				data[0] |= bit
				if o.Invert {
					data[1] |= bit
				}
			}
			if len(in.Options) == 0 {
				return nil, in.Failf("ecn match: some option required")
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			op, inv := data[0], data[1]
			if op&^(ecnMatchIP|ecnMatchECE|ecnMatchCWR) != 0 {
				return fmt.Errorf("ecn: unknown operation %#x", op)
			}
			if op&ecnMatchECE != 0 {
				fmt.Fprintf(b, "%s --ecn-tcp-ece", Invert(inv&ecnMatchECE != 0))
			}
			if op&ecnMatchCWR != 0 {
				fmt.Fprintf(b, "%s --ecn-tcp-cwr", Invert(inv&ecnMatchCWR != 0))
			}
			if op&ecnMatchIP != 0 {
				fmt.Fprintf(b, "%s --ecn-ip-ect %d", Invert(inv&ecnMatchIP != 0), data[2])
			}
			return nil
		},
	})
}
