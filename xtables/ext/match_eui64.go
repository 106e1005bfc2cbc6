package ext

import "strings"

// eui64 (IPv6 only) has no options; its payload is an unused int.
func init() {
	Register(&Extension{
		Kind: Match, Name: "eui64", Revision: 0, Family: IPv6,
		Hooks: HookPreRouting | HookInput | HookForward, // ip6t_eui64.c: a source MAC
		Size:  4,
		Parse: func(in *ParseInput) ([]byte, error) { return make([]byte, 8), nil },
		Save:  func(*strings.Builder, RuleInfo, []byte) error { return nil },
	})
}
