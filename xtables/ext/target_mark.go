package ext

import (
	"fmt"
	"strings"
)

// struct xt_mark_tginfo2 (linux/netfilter/xt_mark.h), 8 bytes:
//
//	__u32 mark, mask;
//
// The kernel computes nfmark = (nfmark & ~mask) ^ mark. Revision 2 is the
// only one the kernel still has (revisions 0 and 1 held an unsigned long),
// so every operation is stored as such a pair and save prints all of them
// as --set-xmark.

// markOps are the MARK/CONNMARK operations, each exclusive of the others.
var markOps = []string{"set-xmark", "set-mark", "and-mark", "or-mark", "xor-mark"}

func init() {
	opts := make([]Option, 0, len(markOps))
	for _, n := range markOps {
		opts = append(opts, Option{Name: n, Args: 1})
	}
	Register(&Extension{
		Kind: Target, Name: "MARK", Revision: 2, Family: FamilyAny,
		Size:    8,
		Options: opts,
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 8)
			opts := newT1Opts(in)
			for _, o := range in.Options {
				if err := opts.once(o); err != nil {
					return nil, err
				}
				mark, mask, err := parseMarkOp(in, o)
				if err != nil {
					return nil, err
				}
				NE.PutUint32(data[0:], mark)
				NE.PutUint32(data[4:], mask)
			}
			if err := opts.exclusive(markOps...); err != nil {
				return nil, err
			}
			if len(in.Options) == 0 {
				return nil, in.Failf("MARK: one of the --set-xmark, --{and,or,xor,set}-mark options is required")
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			fmt.Fprintf(b, " --set-xmark %#x/%#x", NE.Uint32(data[0:]), NE.Uint32(data[4:]))
			return nil
		},
	})
}

// parseMarkOp turns one of markOps into the (value, mask) pair the kernel
// applies as (old & ~mask) ^ value, as mark_tg_parse and connmark_tg_parse
// do.
func parseMarkOp(in *ParseInput, o OptionValue) (value, mask uint32, err error) {
	switch o.Name {
	case "set-xmark", "set-mark":
		v, m, err := ParseMarkMask(o.Arg())
		if err != nil {
			return 0, 0, in.Errorf(o, "bad value/mask: %v", err)
		}
		if o.Name == "set-mark" {
			// Clear the mask bits, then OR the value in.
			m |= v
		}
		return v, m, nil
	}
	v, err := ParseUint(o.Arg(), 0, 0xffffffff)
	if err != nil {
		return 0, 0, in.Errorf(o, "bad value: %v", err)
	}
	bits := uint32(v)
	switch o.Name {
	case "and-mark":
		return 0, ^bits, nil
	case "or-mark":
		return bits, bits, nil
	}
	return bits, 0, nil // xor-mark
}
