package ext

import "strings"

// struct xt_comment_info (linux/netfilter/xt_comment.h): char comment[256].
const commentSize = 256

func init() {
	Register(&Extension{
		Kind: Match, Name: "comment", Revision: 0, Family: FamilyAny,
		Size:    commentSize,
		Options: []Option{{Name: "comment", Args: 1}},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, commentSize)
			var set bool
			for _, o := range in.Options {
				if err := PutCString(data, o.Arg()); err != nil {
					return nil, in.Errorf(o, "comment too long: %d characters, at most %d", len(o.Arg()), commentSize-1)
				}
				set = true
			}
			if !set {
				return nil, in.Failf("comment match needs --comment")
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			b.WriteString(" --comment")
			SaveString(b, CString(data))
			return nil
		},
	})
}
