package ext

import "strings"

// TRACE has no payload and no options (raw table only, by the kernel).
func init() {
	Register(&Extension{
		Kind: Target, Name: "TRACE", Revision: 0, Family: FamilyAny,
		Parse: func(in *ParseInput) ([]byte, error) { return []byte{}, nil },
		Save:  func(*strings.Builder, RuleInfo, []byte) error { return nil },
	})
}
