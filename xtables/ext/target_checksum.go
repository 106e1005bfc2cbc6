package ext

import (
	"fmt"
	"strings"
)

// CHECKSUM (libxt_CHECKSUM.c), revision 0, both families, mangle only.
// struct xt_CHECKSUM_info (linux/netfilter/xt_CHECKSUM.h), 1 byte:
//
//	__u8 operation;  (XT_CHECKSUM_OP_FILL = 1, the only one)
const checksumOpFill = 0x01

func init() {
	Register(&Extension{
		Kind: Target, Name: "CHECKSUM", Revision: 0, Family: FamilyAny,
		Tables:  []string{"mangle"}, // xt_CHECKSUM.c: .table
		Size:    1,
		Options: []Option{{Name: "checksum-fill"}},
		Parse: func(in *ParseInput) ([]byte, error) {
			opts := newOptionSet(in)
			for _, o := range in.Options {
				if err := opts.once(o); err != nil {
					return nil, err
				}
			}
			if !opts.has("checksum-fill") {
				return nil, in.Failf("option \"--checksum-fill\" must be specified")
			}
			data := make([]byte, Align(1))
			data[0] = checksumOpFill
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			// The kernel refuses any other operation; iptables would print
			// nothing for 0, which would not restore.
			if data[0] != checksumOpFill {
				return fmt.Errorf("CHECKSUM operation %#x unknown to iptables", data[0])
			}
			b.WriteString(" --checksum-fill")
			return nil
		},
	})
}
