package ext

import (
	"fmt"
	"math/bits"
	"strings"
)

// struct xt_connlimit_info (linux/netfilter/xt_connlimit.h), 32 bytes:
//
//	union { union nf_inet_addr mask; __be32 v4_mask; __be32 v6_mask[4]; };
//	unsigned int limit; __u32 flags;    // flags: revision 1
//	struct nf_conncount_data *data;     // the kernel's, zero on read-back
//
// The mask starts as all ones over the whole union; --connlimit-mask
// writes a prefix mask computed the same way for both families, so an
// IPv4 /24 is ff ff ff 00 followed by twelve zero bytes. Save prints the
// mask length of the family's part. Registered per family, revisions 0
// (no --connlimit-saddr/daddr) and 1.
const (
	connlimitInvert = 1 << 0 // XT_CONNLIMIT_INVERT: --connlimit-upto
	connlimitDaddr  = 1 << 1 // XT_CONNLIMIT_DADDR
	connlimitSize   = 32
)

func init() {
	for rev := uint8(0); rev <= 1; rev++ {
		rev := rev
		for _, fam := range []Family{IPv4, IPv6} {
			Register(&Extension{
				Kind: Match, Name: "connlimit", Revision: rev, Family: fam,
				Size: connlimitSize,
				Options: []Option{
					{Name: "connlimit-upto", Args: 1, Invertible: true},
					{Name: "connlimit-above", Args: 1, Invertible: true},
					{Name: "connlimit-mask", Args: 1},
					{Name: "connlimit-saddr"},
					{Name: "connlimit-daddr"},
				},
				Parse: parseConnlimit,
				Save:  saveConnlimit(rev),
			})
		}
	}
}

// connlimitExcludes names, for each option, those it cannot be given
// with: an inverse is another option, not another value.
var connlimitExcludes = map[string][]string{
	"connlimit-upto":  {"connlimit-above"},
	"connlimit-above": {"connlimit-upto"},
	"connlimit-saddr": {"connlimit-daddr"},
	"connlimit-daddr": {"connlimit-saddr"},
}

func parseConnlimit(in *ParseInput) ([]byte, error) {
	data := make([]byte, connlimitSize)
	for i := 0; i < 16; i++ {
		data[i] = 0xff
	}
	var flags uint32
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.onceExcluding(o, connlimitExcludes[o.Name]...); err != nil {
			return nil, err
		}
		switch o.Name {
		case "connlimit-upto", "connlimit-above":
			v, err := uintOption(in, o, 0, 0xffffffff)
			if err != nil {
				return nil, err
			}
			NE.PutUint32(data[16:], uint32(v))
			// "upto n" is the inverse of "above n"; "! --connlimit-upto"
			// is "above" again.
			if (o.Name == "connlimit-upto") != o.Invert {
				flags |= connlimitInvert
			}
		case "connlimit-mask":
			n, err := parsePrefixLen(o.Arg(), in.Family)
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			m := prefixMask16(n)
			copy(data[0:16], m[:])
		case "connlimit-saddr", "connlimit-daddr":
			if in.Revision < 1 {
				return nil, in.Errorf(o, "xt_connlimit.0 does not support --%s", o.Name)
			}
			if o.Name == "connlimit-daddr" {
				flags |= connlimitDaddr
			}
		}
	}
	if !seen.has("connlimit-upto") && !seen.has("connlimit-above") {
		return nil, in.Failf("you must specify \"--connlimit-above\" or \"--connlimit-upto\"")
	}
	NE.PutUint32(data[20:], flags)
	return data, nil
}

// connlimitMaskLen is count_bits4/count_bits6: the family's address bits
// less, per 32-bit word, the bit length of the inverted word. For a
// contiguous mask it is the prefix length.
func connlimitMaskLen(fam Family, mask []byte) int {
	words := 1
	if fam == IPv6 {
		words = 4
	}
	n := 32 * words
	for i := 0; i < words; i++ {
		w := uint32(mask[4*i])<<24 | uint32(mask[4*i+1])<<16 | uint32(mask[4*i+2])<<8 | uint32(mask[4*i+3])
		n -= bits.Len32(^w)
	}
	return n
}

// saveConnlimit is connlimit_save4/6: revision 1 always names the
// address it counts by.
func saveConnlimit(rev uint8) func(b *strings.Builder, r RuleInfo, data []byte) error {
	return func(b *strings.Builder, r RuleInfo, data []byte) error {
		limit, flags := NE.Uint32(data[16:]), NE.Uint32(data[20:])
		known := uint32(connlimitInvert)
		if rev >= 1 {
			known |= connlimitDaddr
		}
		if flags&^known != 0 {
			return fmt.Errorf("connlimit: unknown flags %#x", flags)
		}
		if flags&connlimitInvert != 0 {
			fmt.Fprintf(b, " --connlimit-upto %d", limit)
		} else {
			fmt.Fprintf(b, " --connlimit-above %d", limit)
		}
		fmt.Fprintf(b, " --connlimit-mask %d", connlimitMaskLen(r.Family, data[0:16]))
		if rev >= 1 {
			if flags&connlimitDaddr != 0 {
				b.WriteString(" --connlimit-daddr")
			} else {
				b.WriteString(" --connlimit-saddr")
			}
		}
		return nil
	}
}
