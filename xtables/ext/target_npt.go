package ext

import (
	"fmt"
	"strings"
)

// struct ip6t_npt_tginfo (linux/netfilter_ipv6/ip6t_NPT.h), 36 bytes,
// IPv6, shared by SNPT and DNPT:
//
//	union nf_inet_addr src_pfx, dst_pfx; __u8 src_pfx_len, dst_pfx_len;
//	__sum16 adjustment; /* the kernel's */
func init() {
	for _, name := range []string{"SNPT", "DNPT"} {
		Register(&Extension{
			Kind: Target, Name: name, Revision: 0, Family: IPv6,
			Size: 36,
			// ip6t_NPT.c: the source prefix is translated on the way
			// out, the destination's on the way in.
			Tables:  []string{"mangle"},
			Hooks:   map[string]Hooks{"SNPT": HookInput | HookPostRouting, "DNPT": HookPreRouting | HookOutput}[name],
			Options: []Option{{Name: "src-pfx", Args: 1}, {Name: "dst-pfx", Args: 1}},
			Parse: func(in *ParseInput) ([]byte, error) {
				data := make([]byte, 40)
				seen := newOptionSet(in)
				for _, o := range in.Options {
					if err := seen.once(o); err != nil {
						return nil, err
					}
					a, p, hasLen := strings.Cut(o.Arg(), "/")
					addr, err := parseHostBytes(a, IPv6, formPton)
					if err != nil {
						return nil, in.Errorf(o, "%v", err)
					}
					n := 128
					if hasLen {
						if n, err = parsePrefixLen(p, IPv6); err != nil {
							return nil, in.Errorf(o, "%v", err)
						}
					}
					off, lenOff := 0, 32
					if o.Name == "dst-pfx" {
						off, lenOff = 16, 33
					}
					copy(data[off:], addr[:])
					data[lenOff] = uint8(n)
				}
				for _, n := range []string{"src-pfx", "dst-pfx"} {
					if !seen.has(n) {
						return nil, in.Failf("%s: option \"--%s\" must be specified", name, n)
					}
				}
				return data, nil
			},
			Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
				for i, opt := range []string{"src-pfx", "dst-pfx"} {
					addr := Addr16(data[16*i:])
					if n := data[32+i]; !addr.IsUnspecified() || n != 0 {
						fmt.Fprintf(b, " --%s %s/%d", opt, addr, n)
					}
				}
				return nil
			},
		})
	}
}
