package ext

import (
	"fmt"
	"strings"
)

// struct ipt_ECN_info (linux/netfilter_ipv4/ipt_ECN.h), 3 bytes, IPv4:
//
//	__u8 operation; __u8 ip_ect; struct { __u8 ece:1, cwr:1; } proto.tcp;
const (
	ecnSetIP  = 0x01 // IPT_ECN_OP_SET_IP
	ecnSetECE = 0x10 // IPT_ECN_OP_SET_ECE
	ecnSetCWR = 0x20 // IPT_ECN_OP_SET_CWR
)

func init() {
	Register(&Extension{
		Kind: Target, Name: "ECN", Revision: 0, Family: IPv4,
		Tables: []string{"mangle"}, // ipt_ECN.c
		Size:   3,
		Options: []Option{
			{Name: "ecn-tcp-remove"},
			{Name: "ecn-tcp-cwr", Args: 1},
			{Name: "ecn-tcp-ece", Args: 1},
			{Name: "ecn-ip-ect", Args: 1},
		},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 8)
			seen := newOptionSet(in)
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				if err := seen.exclusive("ecn-tcp-remove", "ecn-tcp-cwr"); err != nil {
					return nil, err
				}
				if err := seen.exclusive("ecn-tcp-remove", "ecn-tcp-ece"); err != nil {
					return nil, err
				}
				var v uint64
				if o.Name != "ecn-tcp-remove" {
					max := uint64(1)
					if o.Name == "ecn-ip-ect" {
						max = 3
					}
					var err error
					if v, err = uintOption(in, o, 0, max); err != nil {
						return nil, err
					}
				}
				switch o.Name {
				case "ecn-tcp-remove":
					data[0] = ecnSetECE | ecnSetCWR
					data[2] = 0
				case "ecn-tcp-cwr":
					data[0] |= ecnSetCWR
					data[2] = data[2]&^2 | uint8(v)<<1
				case "ecn-tcp-ece":
					data[0] |= ecnSetECE
					data[2] = data[2]&^1 | uint8(v)
				case "ecn-ip-ect":
					data[0] |= ecnSetIP
					data[1] = uint8(v)
				}
			}
			if len(in.Options) == 0 {
				return nil, in.Failf("ECN target: an operation is required")
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			op, ece, cwr := data[0], data[2]&1, data[2]>>1&1
			if op&^(ecnSetIP|ecnSetECE|ecnSetCWR) != 0 {
				return fmt.Errorf("ECN: unknown operation %#x", op)
			}
			if op == ecnSetECE|ecnSetCWR && ece == 0 && cwr == 0 {
				b.WriteString(" --ecn-tcp-remove")
				return nil
			}
			if op&ecnSetECE != 0 {
				fmt.Fprintf(b, " --ecn-tcp-ece %d", ece)
			}
			if op&ecnSetCWR != 0 {
				fmt.Fprintf(b, " --ecn-tcp-cwr %d", cwr)
			}
			if op&ecnSetIP != 0 {
				fmt.Fprintf(b, " --ecn-ip-ect %d", data[1])
			}
			return nil
		},
	})
}
