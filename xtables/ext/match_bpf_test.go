package ext

import (
	"strings"
	"testing"
)

func TestMatchBPF(t *testing.T) {
	for _, rev := range []uint8{0, 1} {
		e := Lookup(Match, "bpf", rev, IPv4)
		prog := "4,48 0 0 9,21 0 1 6,6 0 0 1,6 0 0 0"
		data, err := ParseOptions(e, RuleInfo{Family: IPv4}, []string{"--bytecode", prog + ","})
		if err != nil {
			t.Fatal(err)
		}
		off := 4
		if rev == 1 {
			off = 8
			if NE.Uint16(data) != 0 || NE.Uint16(data[2:]) != 4 {
				t.Errorf("rev 1 header %x", data[:8])
			}
		} else if NE.Uint16(data) != 4 {
			t.Errorf("rev 0 length %x", data[:4])
		}
		if NE.Uint16(data[off+8:]) != 21 || data[off+11] != 1 || NE.Uint32(data[off+12:]) != 6 {
			t.Errorf("rev %d second instruction %x", rev, data[off+8:off+16])
		}
		_, opts, err := SaveText(e, RuleInfo{Family: IPv4}, data)
		if want := ` --bytecode "` + prog + `"`; err != nil || opts != want {
			t.Errorf("rev %d save %q, %v; want %q", rev, opts, err, want)
		}
		checkExtErrors(t, Match, "bpf", rev, IPv4, []string{
			"--bytecode 0,", "--bytecode 2,6 0 0 1", "--bytecode 1,6 0 0 1,6 0 0 1", "--bytecode 1,6 0",
			"--bytecode 65,6 0 0 0", "--bytecode x",
		})
	}
	checkExtErrors(t, Match, "bpf", 1, IPv4, []string{"--object-pinned /sys/fs/bpf/x"})
	pinned := make([]byte, 528)
	pinned[0] = 1
	copy(pinned[8:], "/sys/fs/bpf/p")
	if _, opts, err := SaveText(Lookup(Match, "bpf", 1, IPv4), RuleInfo{Family: IPv4}, pinned); err != nil || !strings.Contains(opts, "--object-pinned /sys/fs/bpf/p") {
		t.Errorf("pinned save %q, %v", opts, err)
	}
}
