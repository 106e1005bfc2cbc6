package ext

import (
	"fmt"
	"strings"
)

// struct xt_sctp_info (linux/netfilter/xt_sctp.h), 292 bytes:
//
//	__u16 dpts[2]; __u16 spts[2];              (offsets 0, 4)
//	__u32 chunkmap[64];                         (8: bit n%32 of word n/32 is chunk type n)
//	__u32 chunk_match_type;                     (264)
//	struct { __u8 chunktype, flag, flag_mask; } flag_info[4]; (268)
//	int flag_count; __u32 flags; __u32 invflags; (280, 284, 288)
//
// Note dpts comes before spts. flag_info[].chunktype is 0xff when unused
// (sctp_init sets it to -1). iptables stores in it the index of the chunk
// in its name table, not the chunk type; the two agree for DATA..
// SHUTDOWN_COMPLETE, the only chunks with flags but I_DATA, whose flags
// iptables thus loses on save. hostwall mirrors that byte for byte.
const (
	sctpSrcPorts   = 0x01 // XT_SCTP_SRC_PORTS
	sctpDstPorts   = 0x02 // XT_SCTP_DEST_PORTS
	sctpChunkTypes = 0x04 // XT_SCTP_CHUNK_TYPES

	sctpMatchAny  = 0x01 // SCTP_CHUNK_MATCH_ANY
	sctpMatchAll  = 0x02 // SCTP_CHUNK_MATCH_ALL
	sctpMatchOnly = 0x04 // SCTP_CHUNK_MATCH_ONLY

	sctpChunkMap   = 8
	sctpMapWords   = 64
	sctpMatchType  = 264
	sctpFlagInfo   = 268
	sctpNumFlags   = 4 // XT_NUM_SCTP_FLAGS
	sctpFlagCount  = 280
	sctpFlagsOff   = 284
	sctpInvOff     = 288
	sctpSize       = 292
	sctpPayloadLen = 296
)

// sctpChunks is libxt_sctp.c's sctp_chunk_names in its order (the
// index matters, see above). flags spells the chunk's flag bits from bit
// 7 down to bit 0; '-' marks a bit without a name.
var sctpChunks = []struct {
	name  string
	typ   uint8
	flags string
}{
	{"DATA", 0, "----IUBE"},
	{"INIT", 1, "--------"},
	{"INIT_ACK", 2, "--------"},
	{"SACK", 3, "--------"},
	{"HEARTBEAT", 4, "--------"},
	{"HEARTBEAT_ACK", 5, "--------"},
	{"ABORT", 6, "-------T"},
	{"SHUTDOWN", 7, "--------"},
	{"SHUTDOWN_ACK", 8, "--------"},
	{"ERROR", 9, "--------"},
	{"COOKIE_ECHO", 10, "--------"},
	{"COOKIE_ACK", 11, "--------"},
	{"ECN_ECNE", 12, "--------"},
	{"ECN_CWR", 13, "--------"},
	{"SHUTDOWN_COMPLETE", 14, "-------T"},
	{"I_DATA", 64, "----IUBE"},
	{"RE_CONFIG", 130, "--------"},
	{"PAD", 132, "--------"},
	{"ASCONF", 193, "--------"},
	{"ASCONF_ACK", 128, "--------"},
	{"FORWARD_TSN", 192, "--------"},
	{"I_FORWARD_TSN", 194, "--------"},
}

func init() {
	Register(&Extension{
		Kind: Match, Name: "sctp", Revision: 0, Family: FamilyAny,
		Size: sctpSize, Proto: 132,
		Options: []Option{
			{Name: "source-port", Args: 1, Invertible: true},
			{Name: "sport", Args: 1, Invertible: true},
			{Name: "destination-port", Args: 1, Invertible: true},
			{Name: "dport", Args: 1, Invertible: true},
			{Name: "chunk-types", Args: 2, Invertible: true},
		},
		Parse: parseSCTP,
		Save:  saveSCTP,
	})
}

func parseSCTP(in *ParseInput) ([]byte, error) {
	data := make([]byte, sctpPayloadLen)
	for i := 0; i < sctpNumFlags; i++ {
		data[sctpFlagInfo+3*i] = 0xff
	}
	var flags, inv uint32
	for _, o := range in.Options {
		var bit uint32
		switch o.Name {
		case "source-port", "sport":
			bit = sctpSrcPorts
		case "destination-port", "dport":
			bit = sctpDstPorts
		default:
			bit = sctpChunkTypes
		}
		if flags&bit != 0 {
			return nil, errOnce(in, o)
		}
		flags |= bit
		if o.Invert {
			inv |= bit
		}
		switch bit {
		case sctpSrcPorts, sctpDstPorts:
			lo, hi, err := ParsePortRange(in.names(), o.Arg(), "sctp")
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			off := 0 // dpts
			if bit == sctpSrcPorts {
				off = 4
			}
			NE.PutUint16(data[off:], lo)
			NE.PutUint16(data[off+2:], hi)
		case sctpChunkTypes:
			if err := parseSCTPChunks(data, o.Args[0], o.Args[1]); err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
		}
	}
	NE.PutUint32(data[sctpFlagsOff:], flags)
	NE.PutUint32(data[sctpInvOff:], inv)
	return data, nil
}

// parseSCTPChunks fills chunk_match_type, chunkmap and flag_info from
// "--chunk-types MATCH CHUNKS" as parse_sctp_chunks does.
func parseSCTPChunks(data []byte, matchType, chunks string) error {
	if strings.HasPrefix(chunks, "-") {
		return fmt.Errorf("--chunk-types requires two args")
	}
	var mt uint32
	switch strings.ToUpper(matchType) {
	case "ANY":
		mt = sctpMatchAny
	case "ALL":
		mt = sctpMatchAll
	case "ONLY":
		mt = sctpMatchOnly
	default:
		return fmt.Errorf(`match type has to be one of "ALL", "ANY" or "ONLY"`)
	}
	NE.PutUint32(data[sctpMatchType:], mt)
	switch strings.ToUpper(chunks) {
	case "ALL":
		for i := sctpChunkMap; i < sctpMatchType; i++ {
			data[i] = 0xff
		}
		return nil
	case "NONE":
		return nil
	}
	count := 0
	for _, item := range strings.Split(chunks, ",") {
		if item == "" {
			continue // strtok skips empty items
		}
		name, chunkFlags, _ := strings.Cut(item, ":")
		idx := -1
		for i, c := range sctpChunks {
			if strings.EqualFold(c.name, name) {
				idx = i
				break
			}
		}
		if idx < 0 {
			return fmt.Errorf("unknown sctp chunk %q", name)
		}
		typ := int(sctpChunks[idx].typ)
		w := sctpChunkMap + 4*(typ/32)
		NE.PutUint32(data[w:], NE.Uint32(data[w:])|1<<(typ%32))
		for j := 0; j < len(chunkFlags); j++ {
			c := chunkFlags[j]
			pos := strings.IndexByte(sctpChunks[idx].flags, upperASCII(c))
			if pos < 0 {
				return fmt.Errorf("invalid flag %q for chunk type %s", c, sctpChunks[idx].name)
			}
			bit := uint8(1) << (7 - pos)
			// Find this chunk's flag_info slot (keyed by table index,
			// as save_chunk_flag_info does) or take the next free one.
			slot := -1
			for k := 0; k < count; k++ {
				if int(data[sctpFlagInfo+3*k]) == idx {
					slot = k
				}
			}
			if slot < 0 {
				if count == sctpNumFlags {
					return fmt.Errorf("at most %d chunk types may carry flags", sctpNumFlags)
				}
				slot = count
				count++
				data[sctpFlagInfo+3*slot] = uint8(idx)
			}
			fi := data[sctpFlagInfo+3*slot:]
			fi[2] |= bit
			if c >= 'A' && c <= 'Z' {
				fi[1] |= bit
			}
		}
	}
	NE.PutUint32(data[sctpFlagCount:], uint32(count))
	return nil
}

func upperASCII(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func saveSCTP(b *strings.Builder, _ RuleInfo, data []byte) error {
	flags, inv := NE.Uint32(data[sctpFlagsOff:]), NE.Uint32(data[sctpInvOff:])
	ports := func(option string, bit uint32, off int) {
		if flags&bit == 0 {
			return
		}
		// Unlike udp, sctp prints a port option whenever it was
		// given, even for the full range.
		lo, hi := NE.Uint16(data[off:]), NE.Uint16(data[off+2:])
		fmt.Fprintf(b, "%s --%s %d", Invert(inv&bit != 0), option, lo)
		if lo != hi {
			fmt.Fprintf(b, ":%d", hi)
		}
	}
	ports("sport", sctpSrcPorts, 4)
	ports("dport", sctpDstPorts, 0)
	if flags&sctpChunkTypes == 0 {
		return nil
	}
	fmt.Fprintf(b, "%s --chunk-types", Invert(inv&sctpChunkTypes != 0))
	switch NE.Uint32(data[sctpMatchType:]) {
	case sctpMatchAny:
		b.WriteString(" any")
	case sctpMatchAll:
		b.WriteString(" all")
	case sctpMatchOnly:
		b.WriteString(" only")
	default:
		return fmt.Errorf("sctp: unknown chunk match type %d", NE.Uint32(data[sctpMatchType:]))
	}
	clear, all := true, true
	for w := 0; w < sctpMapWords; w++ {
		v := NE.Uint32(data[sctpChunkMap+4*w:])
		clear = clear && v == 0
		all = all && v == 0xffffffff
	}
	switch {
	case clear:
		b.WriteString(" NONE")
		return nil
	case all:
		b.WriteString(" ALL")
		return nil
	}
	for w := 256 / 32; w < sctpMapWords; w++ {
		if NE.Uint32(data[sctpChunkMap+4*w:]) != 0 {
			return fmt.Errorf("sctp: chunk map has bits beyond chunk type 255")
		}
	}
	count := int(int32(NE.Uint32(data[sctpFlagCount:])))
	if count < 0 || count > sctpNumFlags {
		return fmt.Errorf("sctp: flag count %d", count)
	}
	sep := " "
	for typ := 0; typ < 256; typ++ {
		w := NE.Uint32(data[sctpChunkMap+4*(typ/32):])
		if w&(1<<(typ%32)) == 0 {
			continue
		}
		name := ""
		for _, c := range sctpChunks {
			if int(c.typ) == typ {
				name = c.name
			}
		}
		if name == "" {
			return fmt.Errorf("sctp: chunk type %d has no name", typ)
		}
		b.WriteString(sep + name)
		sep = ","
		// print_chunks looks flag_info up by chunk type and spells the
		// flags from the name table entry at that index (see above).
		for k := 0; k < count; k++ {
			fi := data[sctpFlagInfo+3*k:]
			if int(fi[0]) != typ || fi[2] == 0 {
				continue
			}
			if typ >= len(sctpChunks) {
				return fmt.Errorf("sctp: flags for chunk type %d", typ)
			}
			b.WriteByte(':')
			names := sctpChunks[typ].flags
			for bit := 7; bit >= 0; bit-- {
				if fi[2]&(1<<bit) == 0 {
					continue
				}
				c := names[7-bit]
				if fi[1]&(1<<bit) == 0 && c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				b.WriteByte(c)
			}
		}
	}
	return nil
}
