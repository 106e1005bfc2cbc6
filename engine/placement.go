package engine

import (
	"github.com/hostwall/hostwall/xtables"
	"github.com/hostwall/hostwall/xtables/nft"
)

// placements says where each rule of a chain that is not in the kernel
// yet goes: before the next rule that is (kept, with its handle), or at
// the end. One pass from the end, so a chain of tens of thousands of new
// rules costs no more than reading it.
func placements(rules []*xtables.Rule, kept func(*xtables.Rule) (uint64, bool)) []nft.Placement {
	out := make([]nft.Placement, len(rules))
	next := nft.Placement{Append: true}
	for i := len(rules) - 1; i >= 0; i-- {
		out[i] = next
		if h, ok := kept(rules[i]); ok {
			next = nft.Placement{Before: h}
		}
	}
	return out
}
