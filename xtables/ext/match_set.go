package ext

import (
	"fmt"
	"strings"
)

// struct xt_set_info_match_v4 (linux/netfilter/xt_set.h), 48 bytes, the
// revision iptables 1.8.9 picks on current kernels:
//
//	struct xt_set_info { __u16 index; __u8 dim; __u8 flags; } match_set;
//	struct ip_set_counter_match { __aligned_u64 value; __u8 op; } packets, bytes;
//	__u32 flags;
//
// Revision 3 (struct xt_set_info_match_v3, 48 bytes) is the same but for
// the counters, which are struct ip_set_counter_match0 { __u8 op; __u64
// value; } (op first). Revisions 1 and 2 are the bare struct xt_set_info
// (4 bytes); revision 2 keeps --return-nomatch in bit 7 of its flags.
// Revision 0 (IPv4 only) is struct xt_set_info_v0 { __u16 index; __u32
// flags[7]; }, 32 bytes, one src/dst flag word per dimension.
//
// The index is the kernel's ipset index; names are looked up through
// RuleInfo.Names (xtables/hostnames asks the kernel), so parsing and saving need the sets to
// exist in the network namespace at hand, as with iptables.
const (
	setInv           = 0x01 // IPSET_INV_MATCH, xt_set_info.flags bit 0
	setReturnNomatch = 0x80 // IPSET_RETURN_NOMATCH (revision 2) and IPSET_FLAG_RETURN_NOMATCH
	setSkipCounters  = 0x08 // IPSET_FLAG_SKIP_COUNTER_UPDATE
	setSkipSubCounts = 0x10 // IPSET_FLAG_SKIP_SUBCOUNTER_UPDATE
	setDimMax        = 6    // IPSET_DIM_MAX
	setSrc0          = 0x01 // IPSET_SRC, revision 0
	setDst0          = 0x02 // IPSET_DST, revision 0
	setInv0          = 0x04 // IPSET_MATCH_INV, revision 0
)

// Counter comparisons of revisions 3 and 4 (IPSET_COUNTER_*).
const (
	setCounterNone = iota
	setCounterEq
	setCounterNe
	setCounterLt
	setCounterGt
)

func init() {
	base := []Option{
		{Name: "match-set", Args: 2, Invertible: true},
		{Name: "set", Args: 2, Invertible: true}, // deprecated alias
	}
	v2 := append(base[:2:2], Option{Name: "return-nomatch"})
	v3 := append(v2[:3:3],
		Option{Name: "update-counters", Invertible: true},
		Option{Name: "update-subcounters", Invertible: true},
		Option{Name: "packets-eq", Args: 1, Invertible: true},
		Option{Name: "packets-lt", Args: 1},
		Option{Name: "packets-gt", Args: 1},
		Option{Name: "bytes-eq", Args: 1, Invertible: true},
		Option{Name: "bytes-lt", Args: 1},
		Option{Name: "bytes-gt", Args: 1},
	)
	for _, e := range []*Extension{
		{Revision: 0, Family: IPv4, Size: 32, Options: base},
		{Revision: 1, Family: FamilyAny, Size: 4, Options: base},
		{Revision: 2, Family: FamilyAny, Size: 4, Options: v2},
		{Revision: 3, Family: FamilyAny, Size: 48, Options: v3},
		{Revision: 4, Family: FamilyAny, Size: 48, Options: v3},
	} {
		e.Kind, e.Name = Match, "set"
		e.Parse, e.Save = parseSet, setSaver(e.Revision)
		Register(e)
	}
}

// setCounterAt returns where revision rev keeps the op and value of the
// packets (i=0) or bytes (i=1) counter match.
func setCounterAt(rev uint8, i int) (op, value int) {
	base := 8 + 16*i
	if rev == 3 {
		return base, base + 8
	}
	return base + 8, base
}

func parseSet(in *ParseInput) ([]byte, error) {
	rev := in.Revision
	size := map[uint8]int{0: 32, 1: 8, 2: 8, 3: 48, 4: 48}[rev]
	data := make([]byte, size)
	var flags uint32 // revision 3 and 4 flags word
	seen := newOptionSet(in)
	for _, o := range in.Options {
		switch o.Name {
		case "match-set", "set":
			if err := seen.onceAs(o, "match-set"); err != nil {
				return nil, err
			}
			name, dirs := o.Args[0], o.Args[1]
			if strings.HasPrefix(dirs, "-") {
				return nil, in.Errorf(o, "--match-set requires two args: a set name and src/dst flags")
			}
			if len(name) > ipsetMaxNameLen-1 {
				return nil, in.Errorf(o, "set name %q too long, max %d characters", name, ipsetMaxNameLen-1)
			}
			idx, err := in.names().Index(name, in.Family)
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			NE.PutUint16(data[0:], idx)
			if err := setParseDirs(data, rev, dirs, o.Invert); err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
		case "return-nomatch":
			if rev == 2 {
				data[3] |= setReturnNomatch
			} else {
				flags |= setReturnNomatch
			}
		case "update-counters":
			if o.Invert {
				flags |= setSkipCounters
			}
		case "update-subcounters":
			if o.Invert {
				flags |= setSkipSubCounts
			}
		default: // packets-eq ... bytes-gt
			what, cmp, _ := strings.Cut(o.Name, "-")
			i := 0
			if what == "bytes" {
				i = 1
			}
			if err := seen.onceExcluding(o, what+"-eq", what+"-lt", what+"-gt"); err != nil {
				return nil, err
			}
			v, rest, ok := Strtoul(o.Arg())
			if !ok || rest != "" {
				return nil, in.Errorf(o, "cannot parse %q as a counter value", o.Arg())
			}
			op := map[string]uint8{"eq": setCounterEq, "lt": setCounterLt, "gt": setCounterGt}[cmp]
			if op == setCounterEq && o.Invert {
				op = setCounterNe
			}
			opOff, valOff := setCounterAt(rev, i)
			data[opOff] = op
			NE.PutUint64(data[valOff:], v)
		}
	}
	if !seen.has("match-set") {
		return nil, in.Failf("you must specify --match-set with proper arguments")
	}
	if rev >= 3 {
		NE.PutUint32(data[40:], flags)
	}
	return data, nil
}

// setParseDirs stores "src,dst,..." (each item only checked by its first
// three letters, as libxt_set does) and the inversion.
func setParseDirs(data []byte, rev uint8, dirs string, invert bool) error {
	items := strings.Split(dirs, ",")
	max := setDimMax
	if rev == 0 {
		max = setDimMax - 1 // parse_dirs_v0 stops one short of its array
	}
	if len(items) > max {
		return fmt.Errorf("can't be more src/dst options than %d", setDimMax)
	}
	for i, it := range items {
		src := strings.HasPrefix(it, "src")
		if !src && !strings.HasPrefix(it, "dst") {
			return fmt.Errorf("%q: give a comma separated list of 'src' or 'dst'", dirs)
		}
		if rev == 0 {
			f := uint32(setDst0)
			if src {
				f = setSrc0
			}
			NE.PutUint32(data[4+4*i:], NE.Uint32(data[4+4*i:])|f)
		} else if src {
			data[3] |= 1 << (i + 1)
		}
	}
	if rev == 0 {
		if invert {
			NE.PutUint32(data[4:], NE.Uint32(data[4:])|setInv0)
		}
		return nil
	}
	data[2] = uint8(len(items))
	if invert {
		data[3] |= setInv
	}
	return nil
}

// setSaver returns the Save function of one revision.
func setSaver(rev uint8) func(b *strings.Builder, r RuleInfo, data []byte) error {
	return func(b *strings.Builder, r RuleInfo, data []byte) error {
		name, err := r.names().Name(NE.Uint16(data[0:]))
		if err != nil {
			return err
		}
		if rev == 0 {
			return setSave0(b, name, data)
		}
		dim, sflags := data[2], data[3]
		known := uint8(setInv) | uint8((1<<(dim+1))-2)
		if rev == 2 {
			known |= setReturnNomatch
		}
		if dim > setDimMax || sflags&^known != 0 {
			return fmt.Errorf("set: cannot print dimension %d with flags %#x", dim, sflags)
		}
		b.WriteString(Invert(sflags&setInv != 0))
		b.WriteString(" --match-set ")
		b.WriteString(name)
		for i := 1; i <= int(dim); i++ {
			sep := ","
			if i == 1 {
				sep = " "
			}
			dir := "dst"
			if sflags&(1<<i) != 0 {
				dir = "src"
			}
			b.WriteString(sep + dir)
		}
		if rev == 2 && sflags&setReturnNomatch != 0 {
			b.WriteString(" --return-nomatch")
		}
		if rev < 3 {
			return nil
		}
		flags := NE.Uint32(data[40:])
		if flags&^uint32(setReturnNomatch|setSkipCounters|setSkipSubCounts) != 0 {
			return fmt.Errorf("set: unknown flags %#x", flags)
		}
		if flags&setReturnNomatch != 0 {
			b.WriteString(" --return-nomatch")
		}
		if flags&setSkipCounters != 0 {
			b.WriteString(" ! --update-counters")
		}
		if flags&setSkipSubCounts != 0 {
			b.WriteString(" ! --update-subcounters")
		}
		for i, what := range []string{"packets", "bytes"} {
			opOff, valOff := setCounterAt(rev, i)
			v := NE.Uint64(data[valOff:])
			switch data[opOff] {
			case setCounterNone:
			case setCounterEq:
				fmt.Fprintf(b, " --%s-eq %d", what, v)
			case setCounterNe:
				fmt.Fprintf(b, " ! --%s-eq %d", what, v)
			case setCounterLt:
				fmt.Fprintf(b, " --%s-lt %d", what, v)
			case setCounterGt:
				fmt.Fprintf(b, " --%s-gt %d", what, v)
			default:
				return fmt.Errorf("set: unknown %s comparison %d", what, data[opOff])
			}
		}
		return nil
	}
}

// setSave0 prints revision 0: flag words up to the first zero one. The
// kernel writes its own compat copy of dim and flags over the last word
// (bytes 28-29), which print_match_v0 never reaches.
func setSave0(b *strings.Builder, name string, data []byte) error {
	first := NE.Uint32(data[4:])
	b.WriteString(Invert(first&setInv0 != 0))
	b.WriteString(" --match-set ")
	b.WriteString(name)
	for i := 0; i < setDimMax; i++ {
		f := NE.Uint32(data[4+4*i:])
		if f == 0 {
			break
		}
		sep := ","
		if i == 0 {
			sep = " "
		}
		dir := "dst"
		if f&setSrc0 != 0 {
			dir = "src"
		}
		b.WriteString(sep + dir)
	}
	return nil
}
