package ext

import (
	"fmt"
	"strings"
)

// struct xt_physdev_info (linux/netfilter/xt_physdev.h), 66 bytes:
//
//	char physindev[16]; char in_mask[16]; char physoutdev[16]; char out_mask[16];
//	__u8 invert; __u8 bitmask;
const (
	physdevIn      = 0x01 // XT_PHYSDEV_OP_IN
	physdevOut     = 0x02 // XT_PHYSDEV_OP_OUT
	physdevBridged = 0x04 // XT_PHYSDEV_OP_BRIDGED
	physdevIsIn    = 0x08 // XT_PHYSDEV_OP_ISIN
	physdevIsOut   = 0x10 // XT_PHYSDEV_OP_ISOUT
)

func init() {
	Register(&Extension{
		Kind: Match, Name: "physdev", Revision: 0, Family: FamilyAny,
		Size: 66,
		Options: []Option{
			{Name: "physdev-in", Args: 1, Invertible: true},
			{Name: "physdev-out", Args: 1, Invertible: true},
			{Name: "physdev-is-in", Args: 0, Invertible: true},
			{Name: "physdev-is-out", Args: 0, Invertible: true},
			{Name: "physdev-is-bridged", Args: 0, Invertible: true},
		},
		Parse: parsePhysdev,
		Save:  savePhysdev,
		// physdev_mt_check (xt_physdev.c): a locally sent packet has no
		// bridge port to leave by until it is known to be bridged.
		Check: hooksOnly("match physdev", func(data []byte) bool {
			inv, bits := data[64], data[65]
			return bits&(physdevOut|physdevIsOut) != 0 && (bits&physdevBridged == 0 || inv&physdevBridged != 0)
		}, HookPreRouting|HookInput|HookForward|HookPostRouting, "--physdev-out and --physdev-is-out without --physdev-is-bridged"),
	})
}

func parsePhysdev(in *ParseInput) ([]byte, error) {
	data := make([]byte, 72)
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		var flag uint8
		switch o.Name {
		case "physdev-in", "physdev-out":
			flag, off := uint8(physdevIn), 0
			if o.Name == "physdev-out" {
				flag, off = physdevOut, 32
			}
			name, mask, err := ParseInterface(o.Arg())
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			// The name keeps its '+': save prints it back verbatim.
			copy(data[off:], name[:])
			copy(data[off+16:], mask[:])
			data[65] |= flag
			if o.Invert {
				data[64] |= flag
			}
			continue
		case "physdev-is-in":
			flag = physdevIsIn
		case "physdev-is-out":
			flag = physdevIsOut
		case "physdev-is-bridged":
			flag = physdevBridged
		}
		data[65] |= flag
		if o.Invert {
			data[64] |= flag
		}
	}
	if seen.empty() {
		return nil, in.Failf("physdev: no physdev option specified")
	}
	return data, nil
}

func savePhysdev(b *strings.Builder, _ RuleInfo, data []byte) error {
	inv, bits := data[64], data[65]
	if bits&^0x1f != 0 {
		return fmt.Errorf("physdev: unknown option bits %#x", bits)
	}
	item := func(flag uint8, label string, name []byte) {
		if bits&flag == 0 {
			return
		}
		b.WriteString(Invert(inv&flag != 0))
		b.WriteString(" --" + label)
		if name != nil {
			b.WriteString(" " + CString(name))
		}
	}
	// physdev_save's order: each "is" test before its name.
	item(physdevIsIn, "physdev-is-in", nil)
	item(physdevIn, "physdev-in", data[0:16])
	item(physdevIsOut, "physdev-is-out", nil)
	item(physdevOut, "physdev-out", data[32:48])
	item(physdevBridged, "physdev-is-bridged", nil)
	return nil
}
