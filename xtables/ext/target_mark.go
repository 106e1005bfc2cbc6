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
//
// MarkTarget is its value.
type MarkTarget struct {
	Mark, Mask uint32
}

// Marshal is the payload (8 bytes).
func (t *MarkTarget) Marshal() []byte {
	data := make([]byte, 8)
	NE.PutUint32(data[0:], t.Mark)
	NE.PutUint32(data[4:], t.Mask)
	return data
}

// UnmarshalMarkTarget reads an xt_mark_tginfo2 payload.
func UnmarshalMarkTarget(data []byte) (*MarkTarget, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("MARK: payload of %d bytes, want 8", len(data))
	}
	return &MarkTarget{Mark: NE.Uint32(data[0:]), Mask: NE.Uint32(data[4:])}, nil
}

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
			var t MarkTarget
			opts := newOptionSet(in)
			for _, o := range in.Options {
				if err := opts.once(o); err != nil {
					return nil, err
				}
				mark, mask, err := parseMarkOp(in, o)
				if err != nil {
					return nil, err
				}
				t.Mark, t.Mask = mark, mask
			}
			if err := opts.exclusive(markOps...); err != nil {
				return nil, err
			}
			if len(in.Options) == 0 {
				return nil, in.Failf("MARK: one of the --set-xmark, --{and,or,xor,set}-mark options is required")
			}
			return t.Marshal(), nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			t, err := UnmarshalMarkTarget(data)
			if err != nil {
				return err
			}
			fmt.Fprintf(b, " --set-xmark %#x/%#x", t.Mark, t.Mask)
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
		v, m, err := markMaskOption(in, o)
		if err != nil {
			return 0, 0, err
		}
		if o.Name == "set-mark" {
			// Clear the mask bits, then OR the value in.
			m |= v
		}
		return v, m, nil
	}
	v, err := uintOption(in, o, 0, 0xffffffff)
	if err != nil {
		return 0, 0, err
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
