package ext

import "strings"

// TRACE has no payload and no options (raw table only, by the kernel).
func init() {
	Register(&Extension{
		Kind: Target, Name: "TRACE", Revision: 0, Family: FamilyAny,
		// xt_TRACE.c: .table raw. iptables-nft writes TRACE as the native
		// "meta nftrace set 1", which any table takes.
		Check: func(p *Placement) error {
			if !p.NFTCompat && p.Table != "raw" {
				return &PlacementError{Msg: "target TRACE is valid only in the raw table, not in " + p.Table}
			}
			return nil
		},
		Parse: func(in *ParseInput) ([]byte, error) { return []byte{}, nil },
		Save:  func(*strings.Builder, RuleInfo, []byte) error { return nil },
	})
}
