package ext

import (
	"fmt"
	"strings"
)

// struct xt_cgroup_info_v0 (linux/netfilter/xt_cgroup.h), 8 bytes:
//
//	__u32 id; __u32 invert;
//
// struct xt_cgroup_info_v1, 4112 bytes, and _v2, 528 bytes:
//
//	__u8 has_path, has_classid, invert_path, invert_classid;
//	v1: char path[PATH_MAX]; __u32 classid;
//	v2: union { char path[512]; __u32 classid; };
//	void *priv (aligned 8, the kernel's);
//
// iptables 1.8.9 picks revision 2. The kernel resolves --path against
// the cgroup2 hierarchy and refuses a path that does not exist there.
// cgroupHooks are xt_cgroup.c's: only where a packet has a local socket.
const cgroupHooks = HookInput | HookOutput | HookPostRouting

func init() {
	Register(&Extension{
		Kind: Match, Name: "cgroup", Revision: 0, Family: FamilyAny,
		Hooks:   cgroupHooks,
		Size:    8,
		Options: []Option{{Name: "cgroup", Args: 1, Invertible: true}},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 8)
			seen := newOptionSet(in)
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				v, err := uintOption(in, o, 0, 0xffffffff)
				if err != nil {
					return nil, err
				}
				NE.PutUint32(data, uint32(v))
				if o.Invert {
					NE.PutUint32(data[4:], 1)
				}
			}
			if !seen.has("cgroup") {
				return nil, in.Failf("cgroup: option \"--cgroup\" must be specified")
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			fmt.Fprintf(b, "%s --cgroup %d", Invert(NE.Uint32(data[4:]) != 0), NE.Uint32(data))
			return nil
		},
	})
	for _, v := range []struct {
		rev           uint8
		size, pathLen int
		classidOff    int
	}{{1, 4112, 4096, 4100}, {2, 528, 512, 4}} {
		v := v
		Register(&Extension{
			Kind: Match, Name: "cgroup", Revision: v.rev, Family: FamilyAny,
			Hooks: cgroupHooks,
			Size:  v.size,
			Options: []Option{
				{Name: "path", Args: 1, Invertible: true},
				{Name: "cgroup", Args: 1, Invertible: true},
			},
			Parse: func(in *ParseInput) ([]byte, error) {
				data := make([]byte, v.size)
				seen := newOptionSet(in)
				for _, o := range in.Options {
					if err := seen.once(o); err != nil {
						return nil, err
					}
					switch o.Name {
					case "path":
						if err := putTruncString(data[4:4+v.pathLen], o.Arg()); err != nil {
							return nil, in.Errorf(o, "%v", err)
						}
						data[0] = 1
						if o.Invert {
							data[2] = 1
						}
					case "cgroup":
						id, err := uintOption(in, o, 0, 0xffffffff)
						if err != nil {
							return nil, err
						}
						NE.PutUint32(data[v.classidOff:], uint32(id))
						data[1] = 1
						if o.Invert {
							data[3] = 1
						}
					}
				}
				// xt_cgroup's checkentry refuses both and neither.
				if seen.has("path") == seen.has("cgroup") {
					return nil, in.Failf("cgroup: give exactly one of --path and --cgroup")
				}
				return data, nil
			},
			Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
				if data[0] != 0 {
					path, err := cStringField(data[4:4+v.pathLen], "cgroup path")
					if err != nil {
						return err
					}
					b.WriteString(Invert(data[2] != 0) + " --path")
					SaveString(b, path)
				}
				if data[1] != 0 {
					fmt.Fprintf(b, "%s --cgroup %d", Invert(data[3] != 0), NE.Uint32(data[v.classidOff:]))
				}
				return nil
			},
		})
	}
}
