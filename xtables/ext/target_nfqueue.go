package ext

import (
	"fmt"
	"strings"
)

// struct xt_NFQ_info, _v1, _v2, _v3 (linux/netfilter/xt_NFQUEUE.h):
//
//	rev 0, 2 bytes: __u16 queuenum;
//	rev 1, 4 bytes: __u16 queuenum; __u16 queues_total;
//	rev 2, 6 bytes: __u16 queuenum; __u16 queues_total; __u16 bypass;
//	rev 3, 6 bytes: __u16 queuenum; __u16 queues_total; __u16 flags;
//
// iptables 1.8.9 picks revision 3. Older revisions are registered to read
// what an older iptables left in the kernel; they accept only the options
// their payload can hold (iptables would silently drop the rest).
const (
	nfqBypass     = 0x01 // NFQ_FLAG_BYPASS
	nfqCPUFanout  = 0x02 // NFQ_FLAG_CPU_FANOUT
	nfqKnownFlags = 0x03 // NFQ_FLAG_MASK
)

func init() {
	all := []Option{
		{Name: "queue-num", Args: 1},
		{Name: "queue-balance", Args: 1},
		{Name: "queue-bypass"},
		{Name: "queue-cpu-fanout"},
	}
	sizes := []int{2, 4, 6, 6}
	nopts := []int{1, 2, 3, 4}
	for rev := 0; rev <= 3; rev++ {
		rev := rev
		Register(&Extension{
			Kind: Target, Name: "NFQUEUE", Revision: uint8(rev), Family: FamilyAny,
			Size:    sizes[rev],
			Options: all[:nopts[rev]],
			Parse:   func(in *ParseInput) ([]byte, error) { return parseNFQueue(in, rev) },
			Save:    func(b *strings.Builder, _ RuleInfo, data []byte) error { return saveNFQueue(b, data, rev) },
		})
	}
}

func parseNFQueue(in *ParseInput, rev int) ([]byte, error) {
	data := make([]byte, 8)
	if rev > 0 {
		NE.PutUint16(data[2:], 1)
	}
	opts := newOptionSet(in)
	var flags uint16
	for _, o := range in.Options {
		if err := opts.once(o); err != nil {
			return nil, err
		}
		switch o.Name {
		case "queue-num":
			v, err := uintOption(in, o, 0, 0xffff)
			if err != nil {
				return nil, err
			}
			NE.PutUint16(data[0:], uint16(v))
		case "queue-balance":
			first, last, err := parseUint16Pair(o.Arg())
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			if first >= last {
				return nil, in.Errorf(o, "%d should be less than %d", first, last)
			}
			// queues_total is 16 bits: 0:65535 would wrap to 0, which
			// the kernel refuses.
			total := uint32(last) - uint32(first) + 1
			if total > 0xffff {
				return nil, in.Errorf(o, "range %q spans more than 65535 queues", o.Arg())
			}
			NE.PutUint16(data[0:], first)
			NE.PutUint16(data[2:], uint16(total))
		case "queue-bypass":
			flags |= nfqBypass
		case "queue-cpu-fanout":
			flags |= nfqCPUFanout
		}
	}
	if err := opts.exclusive("queue-num", "queue-balance"); err != nil {
		return nil, err
	}
	if err := opts.requires("queue-cpu-fanout", "queue-balance"); err != nil {
		return nil, err
	}
	if rev >= 2 {
		NE.PutUint16(data[4:], flags)
	}
	return data, nil
}

func saveNFQueue(b *strings.Builder, data []byte, rev int) error {
	num := NE.Uint16(data[0:])
	if rev == 0 {
		fmt.Fprintf(b, " --queue-num %d", num)
		return nil
	}
	total, flags := NE.Uint16(data[2:]), NE.Uint16(data[4:])
	switch {
	case total == 0:
		return fmt.Errorf("NFQUEUE: zero queues")
	case rev == 2 && flags&^nfqBypass != 0, rev == 3 && flags&^nfqKnownFlags != 0:
		return fmt.Errorf("NFQUEUE: unknown flags %#x", flags)
	}
	if total > 1 {
		fmt.Fprintf(b, " --queue-balance %d:%d", num, uint32(num)+uint32(total)-1)
	} else {
		fmt.Fprintf(b, " --queue-num %d", num)
	}
	if rev >= 2 && flags&nfqBypass != 0 {
		b.WriteString(" --queue-bypass")
	}
	if rev == 3 && flags&nfqCPUFanout != 0 {
		b.WriteString(" --queue-cpu-fanout")
	}
	return nil
}

// parseUint16Pair parses "first:last" as xtopt_parse_mint does for a
// two-element XTTYPE_UINT16RC: a missing first is 0, a missing last 65535,
// and both parts must be there (a lone number is not a range).
func parseUint16Pair(s string) (first, last uint16, err error) {
	a, z, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("bad range %q", s)
	}
	if strings.Contains(z, ":") {
		return 0, 0, fmt.Errorf("too many components in %q (max 2)", s)
	}
	lo, hi := uint64(0), uint64(0xffff)
	if a != "" {
		if lo, err = ParseUint(a, 0, 0xffff); err != nil {
			return 0, 0, err
		}
	}
	if z != "" {
		if hi, err = ParseUint(z, 0, 0xffff); err != nil {
			return 0, 0, err
		}
	}
	return uint16(lo), uint16(hi), nil
}
