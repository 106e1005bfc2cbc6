package ext

import (
	"fmt"
	"strings"
)

// struct xt_set_info_target_v1, _v2 and _v3 (linux/netfilter/xt_set.h),
// built from struct xt_set_info { ip_set_id_t index; __u8 dim; __u8 flags; }
// (4 bytes):
//
//	rev 1, 8 bytes:  xt_set_info add_set, del_set;
//	rev 2, 16 bytes: xt_set_info add_set, del_set; __u32 flags, timeout;
//	rev 3, 20 bytes: xt_set_info add_set, del_set, map_set; __u32 flags, timeout;
//
// A set is named by its index in the namespace's ipset, resolved through
// RuleInfo.Names (xtables/hostnames asks the kernel) in both directions, as libxt_SET does. dim is
// the number of src/dst specifiers and bit 1<<i of flags makes the i-th
// (from 1) a source. An unused set has index IPSET_INVALID_ID; a timeout
// of UINT32_MAX means the set's default. iptables 1.8.9 picks revision 3;
// revision 0 (IPv4 only, a layout the kernel rewrites in place) is not
// supported.
const (
	setTgDimMax = 6 // IPSET_DIM_MAX

	setTgExist    = 1 << 0  // IPSET_FLAG_EXIST
	setTgMapMark  = 1 << 8  // IPSET_FLAG_MAP_SKBMARK
	setTgMapPrio  = 1 << 9  // IPSET_FLAG_MAP_SKBPRIO
	setTgMapQueue = 1 << 10 // IPSET_FLAG_MAP_SKBQUEUE

	setTgTimeoutDefault = 0xffffffff
)

// setTargetLayout is where one revision keeps its fields.
type setTargetLayout struct {
	sets     []string // option names of the xt_set_info fields, in order
	flagsOff int      // -1 when the revision has no flags/timeout
	known    uint32   // flag bits the revision defines
}

var setTargetLayouts = map[uint8]setTargetLayout{
	1: {sets: []string{"add-set", "del-set"}, flagsOff: -1},
	2: {sets: []string{"add-set", "del-set"}, flagsOff: 8, known: setTgExist},
	3: {sets: []string{"add-set", "del-set", "map-set"}, flagsOff: 12,
		known: setTgExist | setTgMapMark | setTgMapPrio | setTgMapQueue},
}

// setTgMapFlags are revision 3's --map-set flags in save order.
var setTgMapFlags = []struct {
	name string
	flag uint32
}{
	{"map-mark", setTgMapMark}, {"map-prio", setTgMapPrio}, {"map-queue", setTgMapQueue},
}

func init() {
	for rev := uint8(1); rev <= 3; rev++ {
		rev, l := rev, setTargetLayouts[rev]
		var opts []Option
		for _, s := range l.sets {
			opts = append(opts, Option{Name: s, Args: 2})
		}
		size := 4 * len(l.sets)
		if l.flagsOff >= 0 {
			opts = append(opts, Option{Name: "exist"}, Option{Name: "timeout", Args: 1})
			size += 8
		}
		if rev == 3 {
			for _, f := range setTgMapFlags {
				opts = append(opts, Option{Name: f.name})
			}
		}
		Register(&Extension{
			Kind: Target, Name: "SET", Revision: rev, Family: FamilyAny,
			Size:    size,
			Options: opts,
			Parse:   func(in *ParseInput) ([]byte, error) { return parseSetTarget(in, rev) },
			Check:   checkSetTarget,
			Save:    func(b *strings.Builder, r RuleInfo, data []byte) error { return saveSetTarget(b, r, data, rev) },
		})
	}
}

func parseSetTarget(in *ParseInput, rev uint8) ([]byte, error) {
	l := setTargetLayouts[rev]
	data := make([]byte, Align(4*len(l.sets)+8))
	if l.flagsOff < 0 {
		data = data[:8]
	}
	for i := range l.sets {
		NE.PutUint16(data[4*i:], ipsetInvalidID)
	}
	var flags uint32
	timeout := uint32(setTgTimeoutDefault)
	opts := newOptionSet(in)
	for _, o := range in.Options {
		switch o.Name {
		case "exist":
			flags |= setTgExist
			opts.seen[o.Name] = o
			continue
		case "timeout":
			v, err := uintOption(in, o, 0, setTgTimeoutDefault-1)
			if err != nil {
				return nil, err
			}
			timeout = uint32(v)
			opts.seen[o.Name] = o
			continue
		}
		found := false
		for _, f := range setTgMapFlags {
			if f.name == o.Name {
				flags |= f.flag
				opts.seen[o.Name] = o
				found = true
			}
		}
		if found {
			continue
		}
		// --add-set, --del-set, --map-set NAME DIRS
		if err := opts.once(o); err != nil {
			return nil, err
		}
		off := 0
		for i, s := range l.sets {
			if s == o.Name {
				off = 4 * i
			}
		}
		if err := parseSetTgInfo(in, o, data[off:off+4]); err != nil {
			return nil, err
		}
	}

	if !opts.has("add-set") && !opts.has("del-set") && !opts.has("map-set") {
		if rev == 3 {
			return nil, in.Failf("SET: one of --add-set, --del-set or --map-set is required")
		}
		return nil, in.Failf("SET: either --add-set or --del-set is required")
	}
	for _, n := range []string{"exist", "timeout"} {
		if err := opts.requires(n, "add-set"); err != nil {
			return nil, err
		}
	}
	for _, f := range setTgMapFlags {
		if err := opts.requires(f.name, "map-set"); err != nil {
			return nil, err
		}
	}
	if opts.has("map-set") && flags&(setTgMapMark|setTgMapPrio|setTgMapQueue) == 0 {
		return nil, in.Errorf(opts.seen["map-set"], "needs --map-mark, --map-prio or --map-queue")
	}
	if l.flagsOff >= 0 {
		NE.PutUint32(data[l.flagsOff:], flags)
		NE.PutUint32(data[l.flagsOff+4:], timeout)
	}
	return data, nil
}

// parseSetTgInfo fills one struct xt_set_info from "NAME DIRS", DIRS being
// a comma separated list of up to six src or dst.
func parseSetTgInfo(in *ParseInput, o OptionValue, info []byte) error {
	name, dirs := o.Args[0], o.Args[1]
	if dirs == "" || dirs[0] == '-' {
		return in.Errorf(o, "needs a set name and a comma separated list of src/dst")
	}
	idx, err := in.names().Index(name, in.Family)
	if err != nil {
		return in.Errorf(o, "%v", err)
	}
	list := strings.Split(dirs, ",")
	if len(list) > setTgDimMax {
		return in.Errorf(o, "at most %d src/dst specifiers, got %d", setTgDimMax, len(list))
	}
	var flags uint8
	for i, d := range list {
		switch d {
		case "src":
			flags |= 1 << (i + 1)
		case "dst":
		default:
			return in.Errorf(o, "%q is neither src nor dst", d)
		}
	}
	NE.PutUint16(info[0:], idx)
	info[2], info[3] = uint8(len(list)), flags
	return nil
}

func saveSetTarget(b *strings.Builder, r RuleInfo, data []byte, rev uint8) error {
	l := setTargetLayouts[rev]
	var flags uint32
	timeout := uint32(setTgTimeoutDefault)
	if l.flagsOff >= 0 {
		flags, timeout = NE.Uint32(data[l.flagsOff:]), NE.Uint32(data[l.flagsOff+4:])
		if flags&^l.known != 0 {
			return fmt.Errorf("SET: unknown flags %#x", flags&^l.known)
		}
	}
	for i, opt := range l.sets {
		if err := saveSetTgInfo(b, r.names(), opt, data[4*i:4*i+4]); err != nil {
			return err
		}
		if opt != "add-set" {
			continue
		}
		// --exist and --timeout belong to --add-set and follow it.
		if flags&setTgExist != 0 {
			b.WriteString(" --exist")
		}
		if timeout != setTgTimeoutDefault {
			fmt.Fprintf(b, " --timeout %d", timeout)
		}
	}
	for _, f := range setTgMapFlags {
		if flags&f.flag != 0 {
			b.WriteString(" --" + f.name)
		}
	}
	return nil
}

func saveSetTgInfo(b *strings.Builder, n Names, opt string, info []byte) error {
	idx, dim, flags := NE.Uint16(info[0:]), info[2], info[3]
	if idx == ipsetInvalidID {
		return nil
	}
	if dim > setTgDimMax {
		return fmt.Errorf("SET --%s: dimension %d above %d", opt, dim, setTgDimMax)
	}
	name, err := n.Name(idx)
	if err != nil {
		return fmt.Errorf("SET --%s: %w", opt, err)
	}
	b.WriteString(" --" + opt + " " + name)
	for i := 1; i <= int(dim); i++ {
		sep := ","
		if i == 1 {
			sep = " "
		}
		dir := "dst"
		if flags&(1<<i) != 0 {
			dir = "src"
		}
		b.WriteString(sep + dir)
	}
	return nil
}

// checkSetTarget is set_target_v3_checkentry (xt_set.c): --map-set only
// in mangle, and its prio and queue mappings only on the way out.
func checkSetTarget(p *Placement) error {
	if len(p.Data) < 20 || NE.Uint16(p.Data[8:]) == ipsetInvalidID {
		return nil // no map-set (revisions 1 and 2 have none)
	}
	if p.Table != "mangle" {
		return &PlacementError{Msg: fmt.Sprintf("target SET --map-set is valid only in the mangle table, not in %s", p.Table)}
	}
	flags := NE.Uint32(p.Data[12:])
	return hooksOnly("target SET", func([]byte) bool { return flags&(setTgMapPrio|setTgMapQueue) != 0 },
		HookForward|HookOutput|HookPostRouting, "--map-prio and --map-queue")(p)
}
