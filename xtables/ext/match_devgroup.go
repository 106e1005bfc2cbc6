package ext

import (
	"fmt"
	"strings"
)

// struct xt_devgroup_info (linux/netfilter/xt_devgroup.h), 20 bytes:
//
//	__u32 flags; __u32 src_group, src_mask; __u32 dst_group, dst_mask;
//
// Group names come from /etc/iproute2/group, for parsing and printing.
const (
	devgroupMatchSrc  = 0x1
	devgroupInvertSrc = 0x2
	devgroupMatchDst  = 0x4
	devgroupInvertDst = 0x8
)

func init() {
	Register(&Extension{
		Kind: Match, Name: "devgroup", Revision: 0, Family: FamilyAny,
		Check: checkDevgroup,
		Size:  20,
		Options: []Option{
			{Name: "src-group", Args: 1, Invertible: true},
			{Name: "dst-group", Args: 1, Invertible: true},
		},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 24)
			seen := newOptionSet(in)
			var flags uint32
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				val, mask, ok := parseValMask(in.names(), o.Arg(), MapDevGroups)
				if !ok {
					return nil, in.Errorf(o, "bad group value %q", o.Arg())
				}
				off, match, inv := 4, uint32(devgroupMatchSrc), uint32(devgroupInvertSrc)
				if o.Name == "dst-group" {
					off, match, inv = 12, devgroupMatchDst, devgroupInvertDst
				}
				NE.PutUint32(data[off:], val)
				NE.PutUint32(data[off+4:], mask)
				flags |= match
				if o.Invert {
					flags |= inv
				}
			}
			if flags == 0 {
				return nil, in.Failf("devgroup match: specify --src-group and/or --dst-group")
			}
			NE.PutUint32(data, flags)
			return data, nil
		},
		Save: func(b *strings.Builder, r RuleInfo, data []byte) error {
			flags := NE.Uint32(data)
			if flags&^0xf != 0 {
				return fmt.Errorf("devgroup: unknown flags %#x", flags)
			}
			if flags&devgroupMatchSrc != 0 {
				b.WriteString(Invert(flags&devgroupInvertSrc != 0) + " --src-group")
				saveValMask(b, r.names(), NE.Uint32(data[4:]), NE.Uint32(data[8:]), MapDevGroups)
			}
			if flags&devgroupMatchDst != 0 {
				b.WriteString(Invert(flags&devgroupInvertDst != 0) + " --dst-group")
				saveValMask(b, r.names(), NE.Uint32(data[12:]), NE.Uint32(data[16:]), MapDevGroups)
			}
			return nil
		},
	})
}

// checkDevgroup is devgroup_mt_checkentry (xt_devgroup.c): the input
// device's group only on the way in, the output's only on the way out
// (struct xt_devgroup_info: flags at 0).
func checkDevgroup(p *Placement) error {
	flags := NE.Uint32(p.Data)
	if err := hooksOnly("match devgroup", func([]byte) bool { return flags&devgroupMatchSrc != 0 },
		HookPreRouting|HookInput|HookForward, "--src-group")(p); err != nil {
		return err
	}
	return hooksOnly("match devgroup", func([]byte) bool { return flags&devgroupMatchDst != 0 },
		HookForward|HookOutput|HookPostRouting, "--dst-group")(p)
}
