package ext

import (
	"fmt"
	"strings"
)

// struct xt_comment_info (linux/netfilter/xt_comment.h): char comment[256].
const commentSize = 256

// Comment is its value: the text, at most 255 bytes.
type Comment struct {
	Text string
}

// Marshal is the payload (256 bytes, NUL-padded); Text must fit.
func (c *Comment) Marshal() ([]byte, error) {
	data := make([]byte, commentSize)
	if err := PutCString(data, c.Text); err != nil {
		return nil, fmt.Errorf("comment too long: %d characters, at most %d", len(c.Text), commentSize-1)
	}
	return data, nil
}

// UnmarshalComment reads an xt_comment_info payload: the text up to the
// first NUL.
func UnmarshalComment(data []byte) *Comment {
	return &Comment{Text: CString(data)}
}

func init() {
	Register(&Extension{
		Kind: Match, Name: "comment", Revision: 0, Family: FamilyAny,
		Size:    commentSize,
		Options: []Option{{Name: "comment", Args: 1}},
		Parse: func(in *ParseInput) ([]byte, error) {
			var data []byte
			for _, o := range in.Options {
				var err error
				c := Comment{Text: o.Arg()}
				if data, err = c.Marshal(); err != nil {
					return nil, in.Errorf(o, "%v", err)
				}
			}
			if data == nil {
				return nil, in.Failf("comment match needs --comment")
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			b.WriteString(" --comment")
			SaveString(b, UnmarshalComment(data).Text)
			return nil
		},
	})
}
