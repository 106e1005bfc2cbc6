package ext

import "strings"

// struct xt_realm_info (linux/netfilter/xt_realm.h), 12 bytes (IPv4 only):
//
//	__u32 id; __u32 mask; __u8 invert;
//
// Realm names come from /etc/iproute2/rt_realms.
func init() {
	Register(&Extension{
		Kind: Match, Name: "realm", Revision: 0, Family: IPv4,
		// xt_realm.c: a route's realm exists once the packet is routed.
		Hooks:   HookInput | HookForward | HookOutput | HookPostRouting,
		Size:    12,
		Options: []Option{{Name: "realm", Args: 1, Invertible: true}},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 16)
			seen := newOptionSet(in)
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				val, mask, ok := parseValMask(in.names(), o.Arg(), MapRealms)
				if !ok {
					return nil, in.Errorf(o, "bad realm value %q", o.Arg())
				}
				NE.PutUint32(data, val)
				NE.PutUint32(data[4:], mask)
				if o.Invert {
					data[8] = 1
				}
			}
			if !seen.has("realm") {
				return nil, in.Failf("realm: option \"--realm\" must be specified")
			}
			return data, nil
		},
		Save: func(b *strings.Builder, r RuleInfo, data []byte) error {
			b.WriteString(Invert(data[8] != 0) + " --realm")
			saveValMask(b, r.names(), NE.Uint32(data), NE.Uint32(data[4:]), MapRealms)
			return nil
		},
	})
}
