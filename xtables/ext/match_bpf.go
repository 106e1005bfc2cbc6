package ext

import (
	"fmt"
	"strings"
)

// struct xt_bpf_info (linux/netfilter/xt_bpf.h), revision 0, 528 bytes:
//
//	__u16 bpf_program_num_elem;                       (offset 0)
//	struct sock_filter bpf_program[64];               (4: 8 bytes each)
//	struct bpf_prog *filter (aligned 8, the kernel's) (520)
//
// struct xt_bpf_info_v1, revision 1, 528 bytes:
//
//	__u16 mode; __u16 bpf_program_num_elem; __s32 fd; (0, 2, 4)
//	union { struct sock_filter bpf_program[64]; char path[512]; } (8)
//	struct bpf_prog *filter                           (520)
//
// struct sock_filter is { __u16 code; __u8 jt, jf; __u32 k; }. Mode 1
// (XT_BPF_MODE_FD_PINNED) carries a file descriptor of the iptables
// process that wrote it, so hostwall prints such a payload but does not
// build one: --object-pinned needs the bpf(2) syscall at parse time.
type BPF struct {
	Mode    uint16 // revision 1 only: 0 bytecode, 1 pinned
	Program []SockFilter
	FD      int32  // revision 1, pinned mode
	Path    string // revision 1, pinned mode
}

// SockFilter is one classic BPF instruction.
type SockFilter struct {
	Code   uint16
	Jt, Jf uint8
	K      uint32
}

const (
	bpfMaxInstr   = 64 // XT_BPF_MAX_NUM_INSTR
	bpfModeBytes  = 0  // XT_BPF_MODE_BYTECODE
	bpfModePinned = 1  // XT_BPF_MODE_FD_PINNED
)

func (f *BPF) marshal(rev uint8) []byte {
	data := make([]byte, 528)
	prog := data[4:]
	if rev == 1 {
		NE.PutUint16(data[0:], f.Mode)
		NE.PutUint16(data[2:], uint16(len(f.Program)))
		NE.PutUint32(data[4:], uint32(f.FD))
		prog = data[8:]
		copy(prog[:512], f.Path)
	} else {
		NE.PutUint16(data[0:], uint16(len(f.Program)))
	}
	for i, in := range f.Program {
		NE.PutUint16(prog[8*i:], in.Code)
		prog[8*i+2], prog[8*i+3] = in.Jt, in.Jf
		NE.PutUint32(prog[8*i+4:], in.K)
	}
	return data
}

func unmarshalBPF(data []byte, rev uint8) (*BPF, error) {
	f := &BPF{}
	n, prog := NE.Uint16(data[0:]), data[4:]
	if rev == 1 {
		f.Mode, n, f.FD, prog = NE.Uint16(data[0:]), NE.Uint16(data[2:]), int32(NE.Uint32(data[4:])), data[8:]
		if f.Mode == bpfModePinned {
			f.Path = CString(prog[:512])
			return f, nil
		}
		if f.Mode != bpfModeBytes {
			return nil, fmt.Errorf("bpf: unknown mode %d", f.Mode)
		}
	}
	if n > bpfMaxInstr {
		return nil, fmt.Errorf("bpf: %d instructions, at most %d fit", n, bpfMaxInstr)
	}
	for i := 0; i < int(n); i++ {
		f.Program = append(f.Program, SockFilter{NE.Uint16(prog[8*i:]), prog[8*i+2], prog[8*i+3], NE.Uint32(prog[8*i+4:])})
	}
	return f, nil
}

// scanUint is one of sscanf's %hu/%hhu/%u conversions: white space, a
// sign, decimal digits (strtoul's wrap-around on '-' and saturation on
// overflow), truncated to bits.
func scanUint(s string, bits uint) (uint64, string, bool) {
	v, rest, ok, _ := CStrtoul(s, 10)
	if !ok {
		return 0, s, false
	}
	return v & (1<<bits - 1), rest, true
}

// parseBPFProgram is bpf_parse_string: "N,code jt jf k,code jt jf k,…".
func parseBPFProgram(s string) ([]SockFilter, error) {
	n, rest, ok := scanUint(s, 16)
	if !ok || rest == "" || rest[0] != ',' {
		return nil, fmt.Errorf("bpf: error parsing program length")
	}
	if n == 0 {
		return nil, fmt.Errorf("bpf: illegal zero length program")
	}
	if n > bpfMaxInstr {
		return nil, fmt.Errorf("bpf: number of instructions exceeds maximum")
	}
	var prog []SockFilter
	tok := s
	for {
		i := strings.IndexByte(tok, ',')
		if i < 0 || i+1 == len(tok) {
			break
		}
		tok = tok[i+1:]
		if uint64(len(prog)) >= n {
			return nil, fmt.Errorf("bpf: real program length exceeds the encoded length parameter")
		}
		var f [4]uint64
		r := tok
		for j, bits := range []uint{16, 8, 8, 32} {
			if f[j], r, ok = scanUint(r, bits); !ok {
				return nil, fmt.Errorf("bpf: error at instr %d", len(prog))
			}
		}
		prog = append(prog, SockFilter{uint16(f[0]), uint8(f[1]), uint8(f[2]), uint32(f[3])})
	}
	if uint64(len(prog)) != n {
		return nil, fmt.Errorf("bpf: parsed program length is less than the encoded length parameter")
	}
	return prog, nil
}

func (f *BPF) save(b *strings.Builder) {
	if f.Mode == bpfModePinned {
		b.WriteString(" --object-pinned " + f.Path)
		return
	}
	fmt.Fprintf(b, " --bytecode \"%d,", len(f.Program))
	for i, in := range f.Program {
		fmt.Fprintf(b, "%d %d %d %d", in.Code, in.Jt, in.Jf, in.K)
		if i < len(f.Program)-1 {
			b.WriteByte(',')
		} else {
			b.WriteByte('"')
		}
	}
}

func init() {
	for _, rev := range []uint8{0, 1} {
		rev := rev
		opts := []Option{{Name: "bytecode", Args: 1}}
		if rev == 1 {
			opts = append(opts, Option{Name: "object-pinned", Args: 1})
		}
		Register(&Extension{
			Kind: Match, Name: "bpf", Revision: rev, Family: FamilyAny,
			Size: 528, Options: opts,
			Parse: func(in *ParseInput) ([]byte, error) {
				var f BPF
				seen := newOptionSet(in)
				for _, o := range in.Options {
					if err := seen.once(o); err != nil {
						return nil, err
					}
					if o.Name == "object-pinned" {
						return nil, in.Errorf(o, "a pinned BPF object needs the bpf(2) syscall while the rule is built; hostwall supports --bytecode only")
					}
					prog, err := parseBPFProgram(o.Arg())
					if err != nil {
						return nil, in.Errorf(o, "%v", err)
					}
					f.Program = prog
				}
				if !seen.has("bytecode") {
					return nil, in.Failf("bpf: missing --bytecode parameter")
				}
				return f.marshal(rev), nil
			},
			Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
				f, err := unmarshalBPF(data, rev)
				if err != nil {
					return err
				}
				f.save(b)
				return nil
			},
		})
	}
}
