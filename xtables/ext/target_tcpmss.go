package ext

import (
	"fmt"
	"strings"
)

// TCPMSS (libxt_TCPMSS.c), revision 0, registered per family because the
// largest --set-mss differs (65535 minus the IP header: 20 or 40 bytes).
// struct xt_tcpmss_info (linux/netfilter/xt_TCPMSS.h), 2 bytes:
//
//	__u16 mss;  (0xffff = XT_TCPMSS_CLAMP_PMTU)
//
// The kernel wants -p tcp and a tcp match on SYN (--tcp-flags SYN,RST SYN).
const tcpmssClampPMTU = 0xffff

func init() {
	for _, v := range []struct {
		fam Family
		max uint64
	}{{IPv4, 65535 - 20}, {IPv6, 65535 - 40}} {
		Register(&Extension{
			Kind: Target, Name: "TCPMSS", Revision: 0, Family: v.fam,
			Size: 2, Proto: 6,
			Options: []Option{
				{Name: "set-mss", Args: 1},
				{Name: "clamp-mss-to-pmtu"},
			},
			Parse: func(in *ParseInput) ([]byte, error) { return parseTCPMSSTarget(in, v.max) },
			Save:  saveTCPMSSTarget,
			Check: checkTCPMSSTarget,
		})
	}
}

// checkTCPMSSTarget is tcpmss_tg4_check and tcpmss_tg6_check
// (xt_TCPMSS.c): path-MTU clamping only from FORWARD, OUTPUT and
// POSTROUTING; and, on x_tables, a "-p tcp --tcp-flags ... SYN" match in
// the rule (struct xt_tcp: flg_cmp at 10, invflags at 11).
func checkTCPMSSTarget(p *Placement) error {
	const allowed = HookForward | HookOutput | HookPostRouting
	if bad := p.Hooks &^ allowed; bad != 0 && NE.Uint16(p.Data) == tcpmssClampPMTU {
		return &PlacementError{Hooks: bad, Msg: fmt.Sprintf("target TCPMSS --clamp-mss-to-pmtu is valid only in chains reached from %s, not from %s", allowed, bad)}
	}
	if p.NFTCompat {
		return nil // nft_compat skips the SYN check
	}
	for _, m := range p.Matches {
		if m.Name == "tcp" && len(m.Data) >= 12 && m.Data[10]&0x02 != 0 && m.Data[11]&0x04 == 0 {
			return nil
		}
	}
	return &PlacementError{Msg: "target TCPMSS works only on TCP SYN packets: the rule needs \"-p tcp --tcp-flags SYN,RST SYN\" (or --syn)"}
}

// parseTCPMSSTarget applies the options in order: libxt_TCPMSS.c does not make
// them exclusive, so the last one written wins.
func parseTCPMSSTarget(in *ParseInput, max uint64) ([]byte, error) {
	data := make([]byte, Align(2))
	opts := newOptionSet(in)
	for _, o := range in.Options {
		if err := opts.once(o); err != nil {
			return nil, err
		}
		mss := uint64(tcpmssClampPMTU)
		if o.Name == "set-mss" {
			var err error
			if mss, err = uintOption(in, o, 0, max); err != nil {
				return nil, err
			}
		}
		NE.PutUint16(data, uint16(mss))
	}
	if len(in.Options) == 0 {
		return nil, in.Failf("TCPMSS target: at least one parameter is required")
	}
	return data, nil
}

func saveTCPMSSTarget(b *strings.Builder, _ RuleInfo, data []byte) error {
	if mss := NE.Uint16(data); mss == tcpmssClampPMTU {
		b.WriteString(" --clamp-mss-to-pmtu")
	} else {
		fmt.Fprintf(b, " --set-mss %d", mss)
	}
	return nil
}
