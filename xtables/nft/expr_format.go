package nft

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// Format renders expressions one per line in a notation close to
// "nft --debug=netlink", with values as bytes in hex (xt payloads in
// full), for golden files and error messages.
func Format(exprs []Expr) string {
	var b strings.Builder
	for _, e := range exprs {
		b.WriteString("[ ")
		b.WriteString(formatExpr(e))
		b.WriteString(" ]\n")
	}
	return b.String()
}

var metaKeys = map[uint32]string{
	unix.NFT_META_MARK: "mark", unix.NFT_META_IIF: "iif", unix.NFT_META_OIF: "oif",
	unix.NFT_META_IIFNAME: "iifname", unix.NFT_META_OIFNAME: "oifname",
	unix.NFT_META_NFTRACE: "nftrace", unix.NFT_META_L4PROTO: "l4proto", unix.NFT_META_PKTTYPE: "pkttype",
}

var ctKeys = map[uint32]string{
	unix.NFT_CT_STATE: "state", unix.NFT_CT_STATUS: "status", unix.NFT_CT_PROTOCOL: "protocol",
	unix.NFT_CT_SRC: "src", unix.NFT_CT_DST: "dst", unix.NFT_CT_PROTO_SRC: "proto_src", unix.NFT_CT_PROTO_DST: "proto_dst",
	unix.NFT_CT_DIRECTION: "direction",
}

var cmpOps = [...]string{"eq", "neq", "lt", "lte", "gt", "gte"}

var bases = [...]string{"link", "network", "transport", "inner"}

func name(table map[uint32]string, v uint32) string {
	if s, ok := table[v]; ok {
		return s
	}
	return fmt.Sprint(v)
}

func opName(op uint32) string {
	if int(op) < len(cmpOps) {
		return cmpOps[op]
	}
	return fmt.Sprintf("op%d", op)
}

func formatExpr(e Expr) string {
	switch e := e.(type) {
	case *Meta:
		if e.Set {
			return fmt.Sprintf("meta set %s with reg %d", name(metaKeys, e.Key), e.Reg)
		}
		return fmt.Sprintf("meta load %s => reg %d", name(metaKeys, e.Key), e.Reg)
	case *Payload:
		base := fmt.Sprint(e.Base)
		if int(e.Base) < len(bases) {
			base = bases[e.Base]
		}
		return fmt.Sprintf("payload load %db @ %s header + %d => reg %d", e.Len, base, e.Offset, e.Reg)
	case *Cmp:
		return fmt.Sprintf("cmp %s reg %d %x", opName(e.Op), e.Reg, e.Data)
	case *Bitwise:
		return fmt.Sprintf("bitwise reg %d = (reg %d & %x) ^ %x", e.DReg, e.SReg, e.Mask, e.Xor)
	case *Range:
		return fmt.Sprintf("range %s reg %d %x %x", opName(e.Op), e.Reg, e.From, e.To)
	case *Counter:
		return fmt.Sprintf("counter pkts %d bytes %d", e.Packets, e.Bytes)
	case *Immediate:
		if e.Reg != unix.NFT_REG_VERDICT {
			return fmt.Sprintf("immediate reg %d %x", e.Reg, e.Data)
		}
		v := map[int32]string{nfDrop: "drop", nfAccept: "accept", unix.NFT_RETURN: "return",
			unix.NFT_JUMP: "jump", unix.NFT_GOTO: "goto"}[e.Verdict]
		if v == "" {
			v = fmt.Sprintf("verdict %d", e.Verdict)
		}
		if e.Chain != "" {
			v += " -> " + e.Chain
		}
		return "immediate reg 0 " + v
	case *Limit:
		return fmt.Sprintf("limit rate %d/%d burst %d type %d flags %#x", e.Rate, e.Unit, e.Burst, e.Type, e.Flags)
	case *Log:
		var b strings.Builder
		b.WriteString("log")
		if e.HasPrefix {
			fmt.Fprintf(&b, " prefix %q", e.Prefix)
		}
		if e.HasGroup {
			fmt.Fprintf(&b, " group %d", e.Group)
		}
		if e.HasSnaplen {
			fmt.Fprintf(&b, " snaplen %d", e.Snaplen)
		}
		if e.HasQThreshold {
			fmt.Fprintf(&b, " qthreshold %d", e.QThreshold)
		}
		if e.HasLevel {
			fmt.Fprintf(&b, " level %d", e.Level)
		}
		if e.HasFlags {
			fmt.Fprintf(&b, " flags %#x", e.Flags)
		}
		return b.String()
	case *Match:
		return fmt.Sprintf("match name %s rev %d (%d B) %x", e.Name, e.Rev, len(e.Info), e.Info)
	case *Target:
		return fmt.Sprintf("target name %s rev %d (%d B) %x", e.Name, e.Rev, len(e.Info), e.Info)
	case *Lookup:
		s := fmt.Sprintf("lookup reg %d set %s flags %#x", e.SReg, e.Set, e.Flags)
		if e.IsMap {
			s += fmt.Sprintf(" dreg %d", e.DReg)
		}
		return s
	case *Ct:
		if e.HasDir {
			return fmt.Sprintf("ct load %s => reg %d , dir %s", name(ctKeys, e.Key), e.Reg, map[uint8]string{0: "original", 1: "reply"}[e.Dir])
		}
		return fmt.Sprintf("ct load %s => reg %d", name(ctKeys, e.Key), e.Reg)
	case *Reject:
		if e.Type == unix.NFT_REJECT_TCP_RST {
			return "reject type 1 (tcp reset)"
		}
		return fmt.Sprintf("reject type %d code %d", e.Type, e.Code)
	case *Unknown:
		if e.Data == nil {
			return e.Name + " (no data)"
		}
		return fmt.Sprintf("%s %x", e.Name, e.Data)
	}
	return fmt.Sprintf("%T", e)
}
