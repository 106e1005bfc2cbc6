package ext

import (
	"fmt"
	"math"
	"strings"
)

// struct xt_owner_match_info (linux/netfilter/xt_owner.h), 20 bytes:
//
//	__u32 uid_min, uid_max; __u32 gid_min, gid_max; __u8 match, invert;
//
// Revision 0 is the old struct ipt_owner_info / ip6t_owner_info (uid_t
// uid; gid_t gid; pid_t pid; pid_t sid; char comm[16]; __u8 match,
// invert), 34 bytes; Linux no longer has it, libxt_owner still parses it
// (with --cmd-owner for IPv4 only).
const (
	ownerUID         = 0x01 // XT_OWNER_UID
	ownerGID         = 0x02 // XT_OWNER_GID
	ownerSocket      = 0x04 // XT_OWNER_SOCKET
	ownerSupplGroups = 0x08 // XT_OWNER_SUPPL_GROUPS
	ownerPID0        = 0x04 // IPT_OWNER_PID, revision 0
	ownerSID0        = 0x08 // IPT_OWNER_SID, revision 0
	ownerComm0       = 0x10 // IPT_OWNER_COMM, revision 0
)

// ownerMaxID is the largest id iptables accepts: (uid_t)-1 means "no
// id" to the kernel.
const ownerMaxID = math.MaxUint32 - 1

func init() {
	Register(&Extension{
		Kind: Match, Name: "owner", Revision: 1, Family: FamilyAny,
		Size: 20,
		// xt_owner.c: only where packets have a local socket.
		Hooks: HookOutput | HookPostRouting,
		Options: []Option{
			{Name: "uid-owner", Args: 1, Invertible: true},
			{Name: "gid-owner", Args: 1, Invertible: true},
			{Name: "socket-exists", Args: 0, Invertible: true},
			{Name: "suppl-groups", Args: 0},
		},
		Parse: parseOwner,
		Save:  saveOwner,
	})
	v0 := []Option{
		{Name: "uid-owner", Args: 1, Invertible: true},
		{Name: "gid-owner", Args: 1, Invertible: true},
		{Name: "pid-owner", Args: 1, Invertible: true},
		{Name: "sid-owner", Args: 1, Invertible: true},
	}
	Register(&Extension{
		Kind: Match, Name: "owner", Revision: 0, Family: IPv4,
		Size:    34,
		Hooks:   HookOutput | HookPostRouting,
		Options: append(v0[:len(v0):len(v0)], Option{Name: "cmd-owner", Args: 1, Invertible: true}),
		Parse:   parseOwner0,
		Save:    saveOwner0,
	})
	Register(&Extension{
		Kind: Match, Name: "owner", Revision: 0, Family: IPv6,
		Size:    34,
		Hooks:   HookOutput | HookPostRouting,
		Options: v0,
		Parse:   parseOwner0,
		Save:    saveOwner0,
	})
}

// ownerID resolves a user (group) name from passwd (group) the way
// getpwnam would, before trying it as a number: a user called "100"
// wins over uid 100, as in libxt_owner.
func ownerID(o OptionValue, lookup func(string) (uint32, bool)) (uint32, bool) {
	if id, ok := lookup(o.Arg()); ok {
		return id, true
	}
	v, rest, ok := Strtoul(o.Arg())
	if !ok || rest != "" || v > ownerMaxID {
		return 0, false
	}
	return uint32(v), true
}

// ownerRange parses a name, "id" or "from-to" ("from:to") for revision 1.
func ownerRange(in *ParseInput, o OptionValue, lookup func(string) (uint32, bool)) (from, to uint32, err error) {
	if id, ok := lookup(o.Arg()); ok {
		return id, id, nil
	}
	bad := in.Errorf(o, "bad value %q: not a known name, an id or an id range (0-%d)", o.Arg(), uint32(ownerMaxID))
	lo, rest, ok := Strtoul(o.Arg())
	if !ok || lo > ownerMaxID {
		return 0, 0, bad
	}
	hi := lo
	if rest != "" && (rest[0] == '-' || rest[0] == ':') {
		if hi, rest, ok = Strtoul(rest[1:]); !ok || hi > ownerMaxID {
			return 0, 0, bad
		}
	}
	if rest != "" {
		return 0, 0, bad
	}
	// The kernel refuses an empty range (EINVAL); say so here.
	if lo > hi {
		return 0, 0, in.Errorf(o, "range %q is empty: %d is above %d", o.Arg(), lo, hi)
	}
	return uint32(lo), uint32(hi), nil
}

func parseOwner(in *ParseInput) ([]byte, error) {
	data := make([]byte, 24)
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		var flag uint8
		switch o.Name {
		case "uid-owner", "gid-owner":
			flag, off, lookup := uint8(ownerUID), 0, in.names().User
			if o.Name == "gid-owner" {
				flag, off, lookup = ownerGID, 8, in.names().Group
			}
			from, to, err := ownerRange(in, o, lookup)
			if err != nil {
				return nil, err
			}
			NE.PutUint32(data[off:], from)
			NE.PutUint32(data[off+4:], to)
			data[16] |= flag
			if o.Invert {
				data[17] |= flag
			}
			continue
		case "socket-exists":
			flag = ownerSocket
		case "suppl-groups":
			if data[16]&ownerGID == 0 {
				return nil, in.Errorf(o, "you need to use --gid-owner first")
			}
			flag = ownerSupplGroups
		}
		data[16] |= flag
		if o.Invert {
			data[17] |= flag
		}
	}
	if data[16] == 0 {
		return nil, in.Failf("owner: at least one of --uid-owner, --gid-owner or --socket-exists is required")
	}
	return data, nil
}

func saveOwner(b *strings.Builder, _ RuleInfo, data []byte) error {
	match, inv := data[16], data[17]
	if match&^0x0f != 0 {
		return fmt.Errorf("owner: unknown match flags %#x", match)
	}
	item := func(flag uint8, label string, lo, hi uint32, ids bool) {
		if match&flag == 0 {
			return
		}
		b.WriteString(Invert(inv&flag != 0))
		b.WriteString(" --" + label)
		switch {
		case !ids:
		case lo != hi:
			fmt.Fprintf(b, " %d-%d", lo, hi)
		default:
			fmt.Fprintf(b, " %d", lo)
		}
	}
	// owner_mt_save's order, not the order of the bits.
	item(ownerSocket, "socket-exists", 0, 0, false)
	item(ownerUID, "uid-owner", NE.Uint32(data[0:]), NE.Uint32(data[4:]), true)
	item(ownerGID, "gid-owner", NE.Uint32(data[8:]), NE.Uint32(data[12:]), true)
	item(ownerSupplGroups, "suppl-groups", 0, 0, false)
	return nil
}

func parseOwner0(in *ParseInput) ([]byte, error) {
	data := make([]byte, 40)
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		var flag uint8
		switch o.Name {
		case "uid-owner", "gid-owner":
			off, lookup := 0, in.names().User
			flag = ownerUID
			if o.Name == "gid-owner" {
				flag, off, lookup = ownerGID, 4, in.names().Group
			}
			id, ok := ownerID(o, lookup)
			if !ok {
				return nil, in.Errorf(o, "bad value %q: not a known name or an id (0-%d)", o.Arg(), uint32(ownerMaxID))
			}
			NE.PutUint32(data[off:], id)
		case "pid-owner", "sid-owner":
			off := 8
			flag = ownerPID0
			if o.Name == "sid-owner" {
				flag, off = ownerSID0, 12
			}
			v, err := uintOption(in, o, 0, math.MaxInt32)
			if err != nil {
				return nil, err
			}
			NE.PutUint32(data[off:], uint32(v))
		case "cmd-owner":
			flag = ownerComm0
			// xtopt_parse_string cuts the name to fit comm[16] silently;
			// the kernel compares at most 15 characters anyway.
			s := o.Arg()
			if len(s) > 15 {
				s = s[:15]
			}
			if err := PutCString(data[16:32], s); err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
		}
		data[32] |= flag
		if o.Invert {
			data[33] |= flag
		}
	}
	if data[32] == 0 {
		return nil, in.Failf("owner: at least one of --uid-owner, --gid-owner or --socket-exists is required")
	}
	return data, nil
}

func saveOwner0(b *strings.Builder, r RuleInfo, data []byte) error {
	match, inv := data[32], data[33]
	if match&^0x1f != 0 || (r.Family == IPv6 && match&ownerComm0 != 0) {
		return fmt.Errorf("owner revision 0: unknown match flags %#x", match)
	}
	items := []struct {
		flag  uint8
		label string
	}{{ownerUID, "uid-owner"}, {ownerGID, "gid-owner"}, {ownerPID0, "pid-owner"}, {ownerSID0, "sid-owner"}, {ownerComm0, "cmd-owner"}}
	for i, it := range items {
		if match&it.flag == 0 {
			continue
		}
		b.WriteString(Invert(inv&it.flag != 0))
		b.WriteString(" --" + it.label)
		if it.flag == ownerComm0 {
			b.WriteString(" " + CString(data[16:32]))
		} else {
			fmt.Fprintf(b, " %d", NE.Uint32(data[i*4:]))
		}
	}
	return nil
}
