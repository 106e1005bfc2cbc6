package ext

import (
	"fmt"
	"strings"
)

// struct xt_u32 (linux/netfilter/xt_u32.h), 1984 bytes, host order:
//
//	struct xt_u32_test {
//		struct { __u32 number; __u8 nextop; } location[11];  // 8 bytes each
//		struct { __u32 min; __u32 max; } value[11];           // 8 bytes each
//		__u8 nnums; __u8 nvalues;                              // + 2 padding
//	} tests[11];                                               // 180 bytes each
//	__u8 ntests; __u8 invert;                                  // + 2 padding
//
// The arrays hold 11 elements but iptables (and the kernel since 5.x)
// accept at most 10 of each.
const (
	u32Size     = 1984
	u32TestSize = 180
	u32Max      = 10
	u32OffNTest = 11 * u32TestSize
)

// u32Ops are enum xt_u32_ops, indexed by value.
var u32Ops = []string{"&", "<<", ">>", "@"}

func init() {
	Register(&Extension{
		Kind: Match, Name: "u32", Revision: 0, Family: FamilyAny,
		Size:    u32Size,
		Options: []Option{{Name: "u32", Args: 1, Invertible: true}},
		Parse:   parseU32,
		Save:    saveU32,
	})
}

func parseU32(in *ParseInput) ([]byte, error) {
	data := make([]byte, Align(u32Size))
	seen := newOptionSet(in)
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		if err := u32Compile(o.Arg(), data); err != nil {
			return nil, in.Errorf(o, "%v", err)
		}
		if o.Invert {
			data[u32OffNTest+1] = 1
		}
	}
	if !seen.has("u32") {
		return nil, in.Failf("u32 match needs --u32")
	}
	return data, nil
}

// u32Compile is u32_parse: tests joined by "&&", each a location
// (numbers joined by &, <<, >> or @), "=", and ranges joined by ",".
// White space may come before any number or operator.
func u32Compile(arg string, data []byte) error {
	var ntest, nloc, nval int
	inValues := false
	pos := 0
	test := func() []byte { return data[ntest*u32TestSize:] }
	skipSpace := func() {
		for pos < len(arg) && strings.IndexByte(" \t\n\v\f\r", arg[pos]) >= 0 {
			pos++
		}
	}
	number := func() (uint32, error) {
		v, rest, ok := StrtoulRange(arg[pos:], 0, 0xffffffff)
		if !ok {
			return 0, fmt.Errorf("at char %d: not a number or out of range", pos)
		}
		pos = len(arg) - len(rest)
		return uint32(v), nil
	}
	endTest := func() {
		t := test()
		t[u32TestSize-4] = uint8(nloc)
		t[u32TestSize-3] = uint8(nval)
	}
	for {
		skipSpace()
		if pos == len(arg) {
			if !inValues {
				return fmt.Errorf("abrupt end of input after location specifier")
			}
			if nval == 0 {
				return fmt.Errorf("test ended with no value specified")
			}
			endTest()
			if ntest+1 > u32Max {
				return fmt.Errorf("at char %d: too many \"&&\"s (at most %d tests)", pos, u32Max)
			}
			data[u32OffNTest] = uint8(ntest + 1)
			return nil
		}
		c := arg[pos]
		if !inValues {
			if c == '=' {
				if nloc == 0 {
					return fmt.Errorf("at char %d: location spec missing", pos)
				}
				pos++
				inValues = true
				continue
			}
			var op uint8
			if nloc != 0 {
				switch {
				case c == '&':
					op = 0
				case c == '<' || c == '>':
					pos++
					if pos == len(arg) || arg[pos] != c {
						return fmt.Errorf("at char %d: a second '%c' was expected", pos, c)
					}
					op = 1
					if c == '>' {
						op = 2
					}
				case c == '@':
					op = 3
				default:
					return fmt.Errorf("at char %d: operator expected", pos)
				}
				pos++
			}
			v, err := number()
			if err != nil {
				return err
			}
			if nloc == u32Max {
				return fmt.Errorf("at char %d: too many operators (at most %d numbers)", pos, u32Max)
			}
			NE.PutUint32(test()[8*nloc:], v)
			test()[8*nloc+4] = op
			nloc++
			continue
		}
		if c == '&' {
			pos++
			if pos == len(arg) || arg[pos] != '&' {
				return fmt.Errorf("at char %d: a second '&' was expected", pos)
			}
			if nval == 0 {
				return fmt.Errorf("at char %d: value spec missing", pos)
			}
			endTest()
			if ntest++; ntest > u32Max {
				return fmt.Errorf("at char %d: too many \"&&\"s (at most %d tests)", pos, u32Max)
			}
			pos++
			inValues, nloc, nval = false, 0, 0
			continue
		}
		if nval > 0 {
			if c != ',' {
				return fmt.Errorf("at char %d: expected \",\" or \"&&\"", pos)
			}
			pos++
		}
		lo, err := number()
		if err != nil {
			return err
		}
		hi := lo
		skipSpace()
		if pos < len(arg) && arg[pos] == ':' {
			pos++
			if hi, err = number(); err != nil {
				return err
			}
		}
		if nval == u32Max {
			return fmt.Errorf("at char %d: too many \",\"s (at most %d ranges)", pos, u32Max)
		}
		off := 88 + 8*nval
		NE.PutUint32(test()[off:], lo)
		NE.PutUint32(test()[off+4:], hi)
		nval++
	}
}

func saveU32(b *strings.Builder, _ RuleInfo, data []byte) error {
	ntests := int(data[u32OffNTest])
	if ntests > u32Max+1 {
		return fmt.Errorf("u32: %d tests", ntests)
	}
	b.WriteString(Invert(data[u32OffNTest+1] != 0))
	b.WriteString(" --u32 \"")
	for i := 0; i < ntests; i++ {
		t := data[i*u32TestSize : (i+1)*u32TestSize]
		nnums, nvalues := int(t[u32TestSize-4]), int(t[u32TestSize-3])
		if nnums > u32Max+1 || nvalues > u32Max+1 {
			return fmt.Errorf("u32: test %d has %d numbers and %d values", i, nnums, nvalues)
		}
		if i > 0 {
			b.WriteString("&&")
		}
		// location[0] is printed even when nnums is 0, as u32_dump does.
		fmt.Fprintf(b, "0x%x", NE.Uint32(t[0:]))
		for j := 1; j < nnums; j++ {
			op := int(t[8*j+4])
			if op >= len(u32Ops) {
				return fmt.Errorf("u32: unknown operator %d", op)
			}
			fmt.Fprintf(b, "%s0x%x", u32Ops[op], NE.Uint32(t[8*j:]))
		}
		b.WriteByte('=')
		for j := 0; j < nvalues; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			lo, hi := NE.Uint32(t[88+8*j:]), NE.Uint32(t[92+8*j:])
			if lo == hi {
				fmt.Fprintf(b, "0x%x", lo)
			} else {
				fmt.Fprintf(b, "0x%x:0x%x", lo, hi)
			}
		}
	}
	b.WriteByte('"')
	return nil
}
