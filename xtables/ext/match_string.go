package ext

import (
	"fmt"
	"strings"
)

// struct xt_string_info (linux/netfilter/xt_string.h), 160 bytes:
//
//	__u16 from_offset; __u16 to_offset; char algo[16]; char pattern[128];
//	__u8 patlen; union { __u8 invert (rev 0); __u8 flags (rev 1) } u;
//	struct ts_config *config (aligned 8, at 152: kernel-private, zero).
//
// Revision 0 keeps only the invert flag in u; revision 1 (the one the
// kernel implements) has XT_STRING_FLAG_INVERT and _IGNORECASE there.
const (
	stringSize       = 160
	stringOffAlgo    = 4
	stringAlgoLen    = 16
	stringOffPattern = 20
	stringPatternMax = 128
	stringOffPatlen  = 148
	stringOffFlags   = 149

	stringFlagInvert     = 0x01
	stringFlagIgnoreCase = 0x02
)

// stringAlgos are the kernel's textsearch algorithms (lib/ts_*.c); the
// kernel refuses any other name, and iptables would pass it along.
var stringAlgos = []string{"bm", "kmp", "fsm"}

func init() {
	for _, rev := range []uint8{0, 1} {
		Register(&Extension{
			Kind: Match, Name: "string", Revision: rev, Family: FamilyAny,
			Size: stringSize,
			Options: []Option{
				{Name: "from", Args: 1},
				{Name: "to", Args: 1},
				{Name: "algo", Args: 1},
				{Name: "string", Args: 1, Invertible: true},
				{Name: "hex-string", Args: 1, Invertible: true},
				{Name: "icase"},
			},
			Parse: parseString,
			Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
				return saveString(b, rev, data)
			},
		})
	}
}

func parseString(in *ParseInput) ([]byte, error) {
	data := make([]byte, Align(stringSize))
	NE.PutUint16(data[2:], 0xffff)
	seen := newOptionSet(in)
	var from, to uint64 = 0, 0xffff
	for _, o := range in.Options {
		if err := seen.once(o); err != nil {
			return nil, err
		}
		switch o.Name {
		case "from", "to":
			v, err := uintOption(in, o, 0, 0xffff)
			if err != nil {
				return nil, err
			}
			if o.Name == "from" {
				from = v
				NE.PutUint16(data[0:], uint16(v))
			} else {
				to = v
				NE.PutUint16(data[2:], uint16(v))
			}
		case "algo":
			known := false
			for _, a := range stringAlgos {
				known = known || a == o.Arg()
			}
			if !known {
				return nil, in.Errorf(o, "unknown algorithm %q (the kernel has %s)", o.Arg(), strings.Join(stringAlgos, ", "))
			}
			copy(data[stringOffAlgo:], o.Arg())
		case "string", "hex-string":
			if seen.has("string") && seen.has("hex-string") {
				return nil, in.Errorf(o, "--string and --hex-string cannot be used together")
			}
			var pat []byte
			var err error
			if o.Name == "string" {
				pat, err = stringPlain(o.Arg())
			} else {
				pat, err = stringHex(o.Arg())
			}
			if err != nil {
				return nil, in.Errorf(o, "%v", err)
			}
			copy(data[stringOffPattern:], pat)
			data[stringOffPatlen] = uint8(len(pat))
			if o.Invert {
				data[stringOffFlags] |= stringFlagInvert
			}
		case "icase":
			if in.Revision == 0 {
				return nil, in.Errorf(o, "revision 0 of the string match has no --icase")
			}
			data[stringOffFlags] |= stringFlagIgnoreCase
		}
	}
	if !seen.has("algo") {
		return nil, in.Failf("string match needs --algo")
	}
	if !seen.has("string") && !seen.has("hex-string") {
		return nil, in.Failf("string match needs --string or --hex-string")
	}
	if data[stringOffPatlen] == 0 {
		// textsearch_prepare refuses an empty pattern.
		return nil, in.Failf("string match needs a non-empty pattern")
	}
	if from > to {
		return nil, in.Failf("--from %d is beyond --to %d", from, to)
	}
	return data, nil
}

// stringPlain is parse_string: the argument's bytes, no NUL at the end.
func stringPlain(s string) ([]byte, error) {
	if len(s) > stringPatternMax {
		return nil, fmt.Errorf("string longer than %d bytes", stringPatternMax)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return nil, fmt.Errorf("string contains a NUL byte")
	}
	return []byte(s), nil
}

// stringHex is parse_hex_string: plain characters, "\c" escapes outside
// hex blocks, and |hex bytes| blocks where single spaces may separate
// the bytes. Its quirks are kept so that the pattern comes out the same
// as iptables': characters right after a closing '|' are taken
// literally, even a '|' or '\'.
func stringHex(s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("hex string must contain at least one char")
	}
	at := func(i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	var pat []byte
	hexBlock, literal := false, false
	for i := 0; i < len(s); {
		if len(pat) >= stringPatternMax {
			return nil, fmt.Errorf("hex string longer than %d bytes", stringPatternMax)
		}
		switch {
		case s[i] == '\\' && !hexBlock:
			literal = true
		case s[i] == '\\':
			return nil, fmt.Errorf("cannot include literals in hex data")
		case s[i] == '|':
			if hexBlock {
				hexBlock = false
			} else {
				hexBlock = true
				for at(i+1) == ' ' {
					i++
				}
			}
			if i+1 >= len(s) {
				return pat, nil
			}
			i++
		}
		switch {
		case literal:
			if i+1 >= len(s) {
				return nil, fmt.Errorf("bad literal placement at end of string")
			}
			pat = append(pat, s[i+1])
			i += 2
			literal = false
		case hexBlock:
			if i+1 >= len(s) {
				return nil, fmt.Errorf("odd number of hex digits")
			}
			if i+2 >= len(s) {
				return nil, fmt.Errorf("invalid hex block (no closing |)")
			}
			hi, lo := HexDigit(s[i]), HexDigit(s[i+1])
			if hi < 0 || lo < 0 {
				return nil, fmt.Errorf("invalid hex char in %q", s[i:i+2])
			}
			pat = append(pat, byte(hi<<4|lo))
			if s[i+2] == ' ' {
				i += 3
			} else {
				i += 2
			}
		default:
			pat = append(pat, s[i])
			i++
		}
	}
	return pat, nil
}

func saveString(b *strings.Builder, rev uint8, data []byte) error {
	n := int(data[stringOffPatlen])
	if n > stringPatternMax {
		return fmt.Errorf("string: pattern length %d beyond %d", n, stringPatternMax)
	}
	algoField := data[stringOffAlgo : stringOffAlgo+stringAlgoLen]
	if algoField[stringAlgoLen-1] != 0 {
		return fmt.Errorf("string: algorithm name not terminated")
	}
	pat := data[stringOffPattern : stringOffPattern+n]
	inv := data[stringOffFlags]&stringFlagInvert != 0
	if rev == 0 {
		inv = data[stringOffFlags] != 0
	}
	// is_hex_string: any byte isprint refuses, or a trailing backslash.
	// For an empty pattern it looks at the byte before it, algo[15].
	last := data[stringOffPattern+n-1]
	hexOut := last == '\\'
	for _, c := range pat {
		hexOut = hexOut || c < 0x20 || c > 0x7e
	}
	if hexOut {
		fmt.Fprintf(b, "%s --hex-string \"|%x|\"", Invert(inv), pat)
	} else {
		fmt.Fprintf(b, "%s --string \"", Invert(inv))
		for _, c := range pat {
			if c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
		b.WriteByte('"')
	}
	fmt.Fprintf(b, " --algo %s", CString(algoField))
	if from := NE.Uint16(data[0:]); from != 0 {
		fmt.Fprintf(b, " --from %d", from)
	}
	if to := NE.Uint16(data[2:]); to != 0xffff {
		fmt.Fprintf(b, " --to %d", to)
	}
	if rev > 0 && data[stringOffFlags]&stringFlagIgnoreCase != 0 {
		fmt.Fprint(b, " --icase")
	}
	return nil
}
