package ext

import (
	"fmt"
	"strings"
)

// struct xt_connmark_tginfo1 and xt_connmark_tginfo2
// (linux/netfilter/xt_connmark.h), 16 bytes each (13 and 15 plus padding):
//
//	rev 1: __u32 ctmark, ctmask, nfmask; __u8 mode;
//	rev 2: __u32 ctmark, ctmask, nfmask; __u8 shift_dir, shift_bits, mode;
//
// iptables 1.8.9 picks revision 2. Revision 0 (unsigned longs) is gone
// from the kernel.
const (
	connmarkSet     = 0 // XT_CONNMARK_SET: ctmark = (ctmark & ~ctmask) ^ value
	connmarkSave    = 1 // XT_CONNMARK_SAVE: nfmark -> ctmark through the masks
	connmarkRestore = 2 // XT_CONNMARK_RESTORE: ctmark -> nfmark

	connmarkShiftLeft  = 0 // D_SHIFT_LEFT
	connmarkShiftRight = 1 // D_SHIFT_RIGHT
)

// connmarkOps are the operations, each exclusive of the others.
var connmarkOps = append(append([]string{}, markOps...), "save-mark", "restore-mark")

func init() {
	for rev := uint8(1); rev <= 2; rev++ {
		rev := rev
		var opts []Option
		for _, n := range connmarkOps {
			args := 1
			if n == "save-mark" || n == "restore-mark" {
				args = 0
			}
			opts = append(opts, Option{Name: n, Args: args})
		}
		if rev == 2 {
			opts = append(opts, Option{Name: "left-shift-mark", Args: 1}, Option{Name: "right-shift-mark", Args: 1})
		}
		opts = append(opts, Option{Name: "ctmask", Args: 1}, Option{Name: "nfmask", Args: 1}, Option{Name: "mask", Args: 1})
		Register(&Extension{
			Kind: Target, Name: "CONNMARK", Revision: rev, Family: FamilyAny,
			Size:    16,
			Options: opts,
			Parse:   func(in *ParseInput) ([]byte, error) { return parseConnmark(in, rev) },
			Save:    func(b *strings.Builder, _ RuleInfo, data []byte) error { return saveConnmark(b, data, rev) },
		})
	}
}

func parseConnmark(in *ParseInput, rev uint8) ([]byte, error) {
	data := make([]byte, 16)
	// Without --ctmask/--nfmask, save and restore copy every bit.
	NE.PutUint32(data[4:], 0xffffffff)
	NE.PutUint32(data[8:], 0xffffffff)
	modeOff := 12
	if rev == 2 {
		modeOff = 14
	}
	opts := newOptionSet(in)
	for _, o := range in.Options {
		if err := opts.once(o); err != nil {
			return nil, err
		}
		switch o.Name {
		case "save-mark":
			data[modeOff] = connmarkSave
		case "restore-mark":
			data[modeOff] = connmarkRestore
		case "ctmask", "nfmask", "mask":
			v, err := uintOption(in, o, 0, 0xffffffff)
			if err != nil {
				return nil, err
			}
			if o.Name != "nfmask" {
				NE.PutUint32(data[4:], uint32(v))
			}
			if o.Name != "ctmask" {
				NE.PutUint32(data[8:], uint32(v))
			}
		case "left-shift-mark", "right-shift-mark":
			// iptables allows 32, the kernel refuses it.
			v, err := uintOption(in, o, 0, 31)
			if err != nil {
				return nil, err
			}
			data[12] = connmarkShiftLeft
			if o.Name == "right-shift-mark" {
				data[12] = connmarkShiftRight
			}
			data[13] = uint8(v)
		default:
			mark, mask, err := parseMarkOp(in, o)
			if err != nil {
				return nil, err
			}
			data[modeOff] = connmarkSet
			NE.PutUint32(data[0:], mark)
			NE.PutUint32(data[4:], mask)
		}
	}
	if err := opts.exclusive(connmarkOps...); err != nil {
		return nil, err
	}
	if err := opts.exclusive("mask", "ctmask"); err != nil {
		return nil, err
	}
	if err := opts.exclusive("mask", "nfmask"); err != nil {
		return nil, err
	}
	found := false
	for _, n := range connmarkOps {
		found = found || opts.has(n)
	}
	if !found {
		return nil, in.Failf("CONNMARK: no operation specified")
	}
	return data, nil
}

func saveConnmark(b *strings.Builder, data []byte, rev uint8) error {
	ctmark, ctmask, nfmask := NE.Uint32(data[0:]), NE.Uint32(data[4:]), NE.Uint32(data[8:])
	mode := data[12]
	if rev == 2 {
		mode = data[14]
	}
	switch mode {
	case connmarkSet:
		fmt.Fprintf(b, " --set-xmark %#x/%#x", ctmark, ctmask)
	case connmarkSave:
		fmt.Fprintf(b, " --save-mark --nfmask %#x --ctmask %#x", nfmask, ctmask)
	case connmarkRestore:
		fmt.Fprintf(b, " --restore-mark --nfmask %#x --ctmask %#x", nfmask, ctmask)
	default:
		return fmt.Errorf("CONNMARK: unknown mode %d", mode)
	}
	if rev == 2 && data[13] != 0 {
		switch data[12] {
		case connmarkShiftLeft:
			fmt.Fprintf(b, " --left-shift-mark %d", data[13])
		case connmarkShiftRight:
			fmt.Fprintf(b, " --right-shift-mark %d", data[13])
		default:
			return fmt.Errorf("CONNMARK: unknown shift direction %d", data[12])
		}
	}
	return nil
}
