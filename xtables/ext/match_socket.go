package ext

import (
	"fmt"
	"strings"
)

// struct xt_socket_mtinfo1/2/3 (linux/netfilter/xt_socket.h), 1 byte:
//
//	__u8 flags;
//
// Revision 0 (IPv4 only) has no payload and no options; revisions 1, 2
// and 3 add --transparent, --nowildcard and --restore-skmark in turn.
// iptables 1.8.9 picks revision 3.
const (
	socketTransparent   = 1 << 0 // XT_SOCKET_TRANSPARENT
	socketNoWildcard    = 1 << 1 // XT_SOCKET_NOWILDCARD
	socketRestoreSkmark = 1 << 2 // XT_SOCKET_RESTORESKMARK
)

var socketFlags = []struct {
	name string
	bit  uint8
}{{"transparent", socketTransparent}, {"nowildcard", socketNoWildcard}, {"restore-skmark", socketRestoreSkmark}}

func init() {
	Register(&Extension{
		Kind: Match, Name: "socket", Revision: 0, Family: IPv4,
		Hooks: HookPreRouting | HookInput, // xt_socket.c: a socket the packet is for
		Parse: func(in *ParseInput) ([]byte, error) { return []byte{}, nil },
		Save:  func(*strings.Builder, RuleInfo, []byte) error { return nil },
	})
	for rev := uint8(1); rev <= 3; rev++ {
		flags := socketFlags[:rev]
		var opts []Option
		var known uint8
		for _, f := range flags {
			opts = append(opts, Option{Name: f.name})
			known |= f.bit
		}
		Register(&Extension{
			Kind: Match, Name: "socket", Revision: rev, Family: FamilyAny,
			Hooks: HookPreRouting | HookInput,
			Size:  1, Options: opts,
			Parse: func(in *ParseInput) ([]byte, error) {
				data := make([]byte, 8)
				seen := newOptionSet(in)
				for _, o := range in.Options {
					if err := seen.once(o); err != nil {
						return nil, err
					}
					for _, f := range flags {
						if f.name == o.Name {
							data[0] |= f.bit
						}
					}
				}
				return data, nil
			},
			Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
				if data[0]&^known != 0 {
					return fmt.Errorf("socket: unknown flags %#x", data[0])
				}
				for _, f := range flags {
					if data[0]&f.bit != 0 {
						b.WriteString(" --" + f.name)
					}
				}
				return nil
			},
		})
	}
}
