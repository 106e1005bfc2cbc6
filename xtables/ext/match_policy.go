package ext

import (
	"fmt"
	"strings"
)

// struct xt_policy_info (linux/netfilter/xt_policy.h), 308 bytes:
//
//	struct xt_policy_elem {               // 76 bytes
//		union xt_policy_addr saddr, smask, daddr, dmask;  // 16 bytes each
//		__be32 spi;      // stored in host order by iptables, kept so
//		__u32 reqid; __u8 proto; __u8 mode;
//		struct xt_policy_spec match, invert;  // __u8 bitfields
//	} pol[4];
//	__u16 flags; __u16 len;
//
// The same struct serves both families; IPv4 uses the first 4 bytes of
// each address.
const (
	policySize     = 308
	policyElemSize = 76
	policyMaxElem  = 4
	policyOffFlags = policyMaxElem * policyElemSize

	policyMatchIn     = 0x1
	policyMatchOut    = 0x2
	policyMatchNone   = 0x4
	policyMatchStrict = 0x8

	policyModeTransport = 0
	policyModeTunnel    = 1
)

// struct xt_policy_spec is "__u8 saddr:1, daddr:1, proto:1, mode:1,
// spi:1, reqid:1"; GCC allocates bit-fields from the low bit on
// little-endian machines and from the high bit on big-endian ones.
var policySpecBit = func() map[string]uint8 {
	names := []string{"tunnel-src", "tunnel-dst", "proto", "mode", "spi", "reqid"}
	bits := map[string]uint8{}
	little := NE.Uint16([]byte{1, 0}) == 1
	for i, n := range names {
		if little {
			bits[n] = 1 << i
		} else {
			bits[n] = 0x80 >> i
		}
	}
	return bits
}()

func init() {
	for _, fam := range []Family{IPv4, IPv6} {
		fam := fam
		Register(&Extension{
			Kind: Match, Name: "policy", Revision: 0, Family: fam,
			Size: policySize,
			Options: []Option{
				{Name: "dir", Args: 1},
				{Name: "pol", Args: 1},
				{Name: "strict"},
				{Name: "reqid", Args: 1, Invertible: true},
				{Name: "spi", Args: 1, Invertible: true},
				{Name: "tunnel-src", Args: 1, Invertible: true},
				{Name: "tunnel-dst", Args: 1, Invertible: true},
				{Name: "proto", Args: 1, Invertible: true},
				{Name: "mode", Args: 1, Invertible: true},
				{Name: "next"},
			},
			Parse: func(in *ParseInput) ([]byte, error) { return parsePolicy(in, fam) },
			Check: checkPolicy,
			Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
				return savePolicy(b, fam, data)
			},
		})
	}
}

func parsePolicy(in *ParseInput, fam Family) ([]byte, error) {
	data := make([]byte, Align(policySize))
	var flags uint16
	n := 0 // index of the element being described
	seen := newOptionSet(in)
	for _, o := range in.Options {
		e := data[n*policyElemSize : (n+1)*policyElemSize]
		bit := policySpecBit[o.Name]
		switch o.Name {
		case "dir", "pol", "strict":
			if err := seen.once(o); err != nil {
				return nil, err
			}
		case "next":
			seen.record(o) // --next may repeat: one per element
		default:
			if e[74]&bit != 0 {
				return nil, in.Errorf(o, "double --%s option in one policy element", o.Name)
			}
		}
		switch o.Name {
		case "dir":
			switch o.Arg() {
			case "in":
				flags |= policyMatchIn
			case "out":
				flags |= policyMatchOut
			default:
				return nil, in.Errorf(o, "invalid dir %q (in or out)", o.Arg())
			}
		case "pol":
			switch o.Arg() {
			case "none":
				flags |= policyMatchNone
			case "ipsec":
			default:
				return nil, in.Errorf(o, "invalid policy %q (none or ipsec)", o.Arg())
			}
		case "strict":
			flags |= policyMatchStrict
		case "reqid", "spi":
			v, err := uintOption(in, o, 0, 0xffffffff)
			if err != nil {
				return nil, err
			}
			off := 68
			if o.Name == "spi" {
				off = 64
			}
			NE.PutUint32(e[off:], uint32(v))
		case "tunnel-src", "tunnel-dst":
			addr, mask, err := parseHostMask(o.Arg(), fam, hostMaskNonContiguous)
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			off := 0
			if o.Name == "tunnel-dst" {
				off = 32
			}
			copy(e[off:], addr[:])
			copy(e[off+16:], mask[:])
		case "proto":
			p, err := parseProtocol8(o.Arg())
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			if p != 50 && p != 51 && p != 108 {
				return nil, in.Errorf(o, "protocol must be ah, esp or ipcomp")
			}
			e[72] = p
		case "mode":
			switch o.Arg() {
			case "transport":
				e[73] = policyModeTransport
			case "tunnel":
				e[73] = policyModeTunnel
			default:
				return nil, in.Errorf(o, "invalid mode %q (transport or tunnel)", o.Arg())
			}
		case "next":
			if n++; n == policyMaxElem {
				return nil, in.Errorf(o, "maximum policy depth (%d elements) reached", policyMaxElem)
			}
			continue
		}
		if bit != 0 {
			e[74] |= bit
			if o.Invert {
				e[75] |= bit
			}
		}
	}
	if seen.has("next") && flags&policyMatchStrict == 0 {
		return nil, in.Failf("--next needs --strict")
	}
	if flags&(policyMatchIn|policyMatchOut) == 0 {
		return nil, in.Failf("policy match needs --dir in or --dir out")
	}
	length := n + 1
	if flags&policyMatchNone != 0 {
		if flags&policyMatchStrict != 0 {
			return nil, in.Failf("--pol none cannot be used with --strict")
		}
		if n != 0 {
			return nil, in.Failf("--pol none cannot describe policy elements")
		}
		// libxt_policy keeps len 0 for "none"; element options given
		// anyway stay in pol[0] unused.
		length = 0
	}
	for i := 0; i < length; i++ {
		e := data[i*policyElemSize : (i+1)*policyElemSize]
		match, inv := e[74], e[75]
		if flags&policyMatchStrict != 0 && match == 0 {
			return nil, in.Failf("policy element %d is empty: with --strict it needs --reqid, --spi, --tunnel-src, --tunnel-dst, --proto or --mode", i)
		}
		modeBit := policySpecBit["mode"]
		if match&(policySpecBit["tunnel-src"]|policySpecBit["tunnel-dst"]) != 0 &&
			((e[73] == policyModeTunnel && inv&modeBit != 0) || (e[73] == policyModeTransport && inv&modeBit == 0)) {
			return nil, in.Failf("--tunnel-src/--tunnel-dst is only valid in tunnel mode (policy element %d)", i)
		}
	}
	NE.PutUint16(data[policyOffFlags:], flags)
	NE.PutUint16(data[policyOffFlags+2:], uint16(length))
	return data, nil
}

func savePolicy(b *strings.Builder, fam Family, data []byte) error {
	flags := NE.Uint16(data[policyOffFlags:])
	length := int(NE.Uint16(data[policyOffFlags+2:]))
	if length > policyMaxElem {
		return fmt.Errorf("policy: %d elements", length)
	}
	if flags&policyMatchIn != 0 {
		b.WriteString(" --dir in")
	} else {
		b.WriteString(" --dir out")
	}
	if flags&policyMatchNone != 0 {
		b.WriteString(" --pol none")
	} else {
		b.WriteString(" --pol ipsec")
	}
	if flags&policyMatchStrict != 0 {
		b.WriteString(" --strict")
	}
	for i := 0; i < length; i++ {
		e := data[i*policyElemSize : (i+1)*policyElemSize]
		match, inv := e[74], e[75]
		has := func(name string) bool {
			if match&policySpecBit[name] == 0 {
				return false
			}
			b.WriteString(Invert(inv&policySpecBit[name] != 0))
			return true
		}
		if has("reqid") {
			fmt.Fprintf(b, " --reqid %d", NE.Uint32(e[68:]))
		}
		if has("spi") {
			fmt.Fprintf(b, " --spi 0x%x", NE.Uint32(e[64:]))
		}
		if has("proto") {
			if name, ok := ProtocolName(uint16(e[72])); ok {
				fmt.Fprintf(b, " --proto %s", name)
			} else {
				fmt.Fprintf(b, " --proto %d", e[72])
			}
		}
		if match&policySpecBit["mode"] != 0 {
			if e[73] != policyModeTransport && e[73] != policyModeTunnel {
				return fmt.Errorf("policy: unknown mode %d", e[73])
			}
			has("mode")
			if e[73] == policyModeTransport {
				b.WriteString(" --mode transport")
			} else {
				b.WriteString(" --mode tunnel")
			}
		}
		if has("tunnel-dst") {
			b.WriteString(" --tunnel-dst " + formatHostMask(fam, e[32:48], e[48:64]))
		}
		if has("tunnel-src") {
			b.WriteString(" --tunnel-src " + formatHostMask(fam, e[0:16], e[16:32]))
		}
		if i+1 < length {
			b.WriteString(" --next")
		}
	}
	return nil
}

// checkPolicy is policy_mt_check (xt_policy.c): the policy of packets
// coming in is known only where they come in, and of packets going out
// only where they go out.
func checkPolicy(p *Placement) error {
	flags := NE.Uint16(p.Data[policyOffFlags:])
	if err := hooksOnly("match policy", func([]byte) bool { return flags&policyMatchIn != 0 },
		HookPreRouting|HookInput|HookForward, "--dir in")(p); err != nil {
		return err
	}
	return hooksOnly("match policy", func([]byte) bool { return flags&policyMatchOut != 0 },
		HookForward|HookOutput|HookPostRouting, "--dir out")(p)
}
