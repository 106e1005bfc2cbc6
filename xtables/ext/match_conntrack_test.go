package ext

import (
	"encoding/hex"
	"strings"
	"testing"
)

// zeroHex is n zero bytes in hex, to keep the long stateful payloads readable.
func zeroHex(n int) string { return strings.Repeat("00", n) }

// ctTail builds a conntrack rev 3 payload whose addresses are all zero:
// tail is bytes 128..167 (expires, l4proto, ports, flags, masks, highs).
func ctTail(tail string) string { return zeroHex(128) + tail }

func TestConntrackRev3(t *testing.T) {
	// Every row was restored with iptables-legacy-restore 1.8.9 and read
	// back from the kernel (payload) and iptables-legacy-save (text).
	checkExt(t, Match, "conntrack", 3, []extCase{
		{in: "--ctstate E,r,snat,D,U,i,n", save: "--ctstate INVALID,NEW,RELATED,ESTABLISHED,UNTRACKED,SNAT,DNAT",
			hex: ctTail("00000000000000000000000000000000000001000000cf0100000000000000000000000000000000")},
		{in: "! --ctstate NEW --ctproto tcp", save: "! --ctstate NEW --ctproto 6",
			hex: ctTail("00000000000000000600000000000000000003000100080000000000000000000000000000000000")},
		{in: "! --ctproto 17 --ctorigsrc 10.1.2.3/8 ! --ctorigdst 192.168.0.0/255.255.0.0",
			save: "! --ctproto 17 --ctorigsrc 10.1.2.3/8 ! --ctorigdst 192.168.0.0/16",
			hex: "0a010203" + zeroHex(12) + "ff000000" + zeroHex(12) + "c0a80000" + zeroHex(12) + "ffff0000" + zeroHex(12) + zeroHex(64) +
				"0000000000000000110000000000000000000e000a00000000000000000000000000000000000000"},
		{in: "--ctreplsrc 10.0.0.1/32 --ctrepldst 0.0.0.0/0", save: "--ctreplsrc 10.0.0.1 --ctrepldst 0.0.0.0/0",
			hex: zeroHex(64) + "0a000001" + zeroHex(12) + "ffffffff" + zeroHex(12) + zeroHex(32) +
				"00000000000000000000000000000000000030000000000000000000000000000000000000000000"},
		{in: "--ctorigsrcport 80:22 ! --ctorigdstport ssh --ctreplsrcport 1024: --ctrepldstport :99",
			save: "--ctorigsrcport 80:22 ! --ctorigdstport 22 --ctreplsrcport 1024:65535 --ctrepldstport 0:99",
			hex:  ctTail("000000000000000000005000160000040000000f00020000000016001600ffff6300000000000000")},
		{in: "--ctstatus NONE", hex: ctTail("00000000000000000000000000000000000040000000000000000000000000000000000000000000")},
		{in: "! --ctstatus EXPECTED,seen,A,C", save: "! --ctstatus EXPECTED,SEEN_REPLY,ASSURED,CONFIRMED",
			hex: ctTail("0000000000000000000000000000000000004000400000000f000000000000000000000000000000")},
		{in: "--ctexpire 5:", save: "--ctexpire 5:4294967295",
			hex: ctTail("05000000ffffffff0000000000000000000080000000000000000000000000000000000000000000")},
		{in: "! --ctexpire 10:20", hex: ctTail("0a000000140000000000000000000000000080008000000000000000000000000000000000000000")},
		{in: "--ctexpire 7 --ctdir reply", save: "--ctexpire 7 --ctdir REPLY",
			hex: ctTail("07000000070000000000000000000000000080100010000000000000000000000000000000000000")},
		{in: "--ctdir ORIGINAL", hex: ctTail("00000000000000000000000000000000000000100000000000000000000000000000000000000000")},
		{in: "--ctorigsrcport 5:0", save: "--ctorigsrcport 5",
			hex: ctTail("00000000000000000000050000000000000000010000000000000000000000000000000000000000")},
		{in: "--ctproto 0", hex: ctTail("00000000000000000000000000000000000002000000000000000000000000000000000000000000")},
		// IPv6: a host address without a mask gets a full 16-byte mask.
		{family: IPv6, in: "--ctstate DNAT --ctorigsrc 2001:db8::1 ! --ctorigdst 2001:db8::/32",
			hex: "20010db8000000000000000000000001" + strings.Repeat("ff", 16) + "20010db8" + zeroHex(12) + "ffffffff" + zeroHex(12) + zeroHex(64) +
				"0000000000000000000000000000000000000d000800800000000000000000000000000000000000"},
		{family: IPv6, in: "--ctreplsrc fe80::1:2/64 --ctrepldst ::/0 --ctproto ipv6-icmp",
			save: "--ctproto 58 --ctreplsrc fe80::1:2/64 --ctrepldst ::/0",
			hex: zeroHex(64) + "fe800000000000000000000000010002" + "ffffffffffffffff" + zeroHex(8) + zeroHex(32) +
				"00000000000000003a00000000000000000032000000000000000000000000000000000000000000"},
		{family: IPv6, in: "--ctrepldst 2001:db8::1/128", save: "--ctrepldst 2001:db8::1",
			hex: zeroHex(96) + "20010db8000000000000000000000001" + strings.Repeat("ff", 16) +
				"00000000000000000000000000000000000020000000000000000000000000000000000000000000"},
	})
	checkExtErrors(t, Match, "conntrack", 3, IPv4, []string{
		"",
		"--ctstate NEW --ctstate NEW",
		"--ctstate BOGUS",
		"--ctstate NEW,",
		"--ctstate ,NEW",
		"--ctstate NEWS",
		"--ctstatus NONE,BOGUS",
		"--ctproto nosuchproto",
		"--ctproto 256",
		"! --ctstatus NONE --ctproto 0", // libxt_conntrack's XT_INV_PROTO quirk
		"--ctorigsrc 10.0.0.1/33",
		"--ctorigsrc 2001:db8::1",
		"--ctorigsrc host.example",
		"--ctorigsrc 10.0.0.0/255.0.255.0",
		"--ctorigsrcport 1:2:3",
		"--ctorigsrcport nosuchservice",
		"--ctorigsrcport 70000",
		"--ctexpire 1:2:3",
		"--ctexpire -1",
		"--ctexpire 4294967296",
		"--ctexpire 5x",
		"--ctdir BOTH",
		"! --ctdir REPLY",
	})
	checkExtErrors(t, Match, "conntrack", 3, IPv6, []string{"--ctorigsrc 10.0.0.1", "--ctrepldst ::1/129"})
}

func TestConntrackOldRevisions(t *testing.T) {
	// Revisions 1 and 2: ports in network order, single ports only; rev
	// 1 has 8-bit state and status masks.
	checkExt(t, Match, "conntrack", 2, []extCase{
		{in: "--ctstate UNTRACKED --ctorigdstport 22 ! --ctstatus ASSURED",
			hex: zeroHex(128) + "0000000000000000" + "0000" + "0000" + "0016" + "0000" + "0000" + "4102" + "4000" + "0001" + "0400" + "0000" + "00000000"},
		{in: "--ctreplsrcport 443:443", save: "--ctreplsrcport 443",
			hex: zeroHex(128) + "0000000000000000" + "0000" + "0000" + "0000" + "01bb" + "0000" + "0004" + "0000" + "0000" + "0000" + "0000" + "00000000"},
	})
	checkExt(t, Match, "conntrack", 1, []extCase{
		{family: IPv6, in: "--ctstate NEW,SNAT --ctorigsrcport 53",
			hex: zeroHex(128) + "0000000000000000" + "0000" + "0035" + "000000000000" + "0101" + "0000" + "48" + "00"},
	})
	checkExtErrors(t, Match, "conntrack", 2, IPv4, []string{"--ctorigsrcport 1:2", "--ctorigsrcport 22:"})
	checkExtErrors(t, Match, "conntrack", 1, IPv4, []string{"--ctstate UNTRACKED", "--ctrepldstport :80"})
}

// checkStateAlias parses "-m state" options as the rule parser would (the
// first candidate is the highest revision) and checks name, payload and
// save text.
func checkStateAlias(t *testing.T, fam Family, rev uint8, in, wantHex, wantSave string) {
	t.Helper()
	var e *Extension
	for _, c := range Candidates(Match, "state", fam) {
		if c.Revision == rev {
			e = c
		}
	}
	if e == nil {
		t.Fatalf("state rev %d not registered for %s", rev, fam)
	}
	r := RuleInfo{Family: fam}
	data, err := ParseOptions(e, r, strings.Fields(in))
	if err != nil {
		t.Fatalf("state %q: %v", in, err)
	}
	if got := hex.EncodeToString(data); got != strings.ReplaceAll(wantHex, " ", "") {
		t.Errorf("state %q: payload\n got %s\nwant %s", in, got, wantHex)
	}
	// The kernel hands the payload back under the name conntrack.
	k := Lookup(Match, e.KernelName(), rev, fam)
	if k == nil {
		t.Fatalf("no extension decodes %s rev %d", e.KernelName(), rev)
	}
	for _, x := range []*Extension{k, e} {
		name, opts, err := SaveText(x, r, data)
		if err != nil {
			t.Fatalf("state %q: save: %v", in, err)
		}
		if got := "-m " + name + opts; got != wantSave {
			t.Errorf("state %q: save\n got %q\nwant %q", in, got, wantSave)
		}
	}
}

func TestStateAlias(t *testing.T) {
	if c := Candidates(Match, "state", IPv4); len(c) == 0 || c[0].Revision != 3 || c[0].KernelName() != "conntrack" {
		t.Fatalf("-m state must first try conntrack revision 3, got %v", c)
	}
	checkStateAlias(t, IPv4, 3, "--state NEW,ESTABLISHED",
		ctTail("000000000000000000000000000000000000012000000a0000000000000000000000000000000000"),
		"-m state --state NEW,ESTABLISHED")
	checkStateAlias(t, IPv4, 3, "! --state inv",
		ctTail("00000000000000000000000000000000000001200100010000000000000000000000000000000000"),
		"-m state ! --state INVALID")
	checkStateAlias(t, IPv6, 3, "--state UNTRACKED,RELATED",
		ctTail("00000000000000000000000000000000000001200000040100000000000000000000000000000000"),
		"-m state --state RELATED,UNTRACKED")
	checkStateAlias(t, IPv4, 1, "--state RELATED",
		zeroHex(128)+"00000000000000000000000000000000000001200000"+"0400",
		"-m state --state RELATED")
	checkExtErrors(t, Match, "state", 0, IPv4, []string{"", "--state", "--state NEW,", "--state SNAT", "--state NEW --state NEW"})
}

func TestStateRev0(t *testing.T) {
	checkExt(t, Match, "state", 0, []extCase{
		{in: "--state NEW,ESTABLISHED", hex: "0a000000 00000000"},
		// Inverted: the complement, printed without "!".
		{in: "! --state NEW", hex: "f7ffffff 00000000", save: "--state INVALID,RELATED,ESTABLISHED,UNTRACKED"},
		// UNTRACKED as libxt_conntrack writes it (0x100).
		{in: "--state u", hex: "00010000 00000000", save: "--state UNTRACKED"},
		{in: "--state RELATED", hex: "04000000 00000000"},
	})
	var b strings.Builder
	e := Lookup(Match, "state", 0, IPv4)
	if err := e.Save(&b, RuleInfo{Family: IPv4}, make([]byte, 8)); err != nil || b.String() != " --state " {
		t.Errorf("empty state mask saves as %q, %v", b.String(), err)
	}
}

func TestConntrackSaveRejects(t *testing.T) {
	e := Lookup(Match, "conntrack", 3, IPv4)
	bad := func(off int, v uint16) []byte {
		d := make([]byte, e.PayloadSize())
		NE.PutUint16(d[146:], CTFlagState|CTFlagStatus)
		NE.PutUint16(d[off:], v)
		return d
	}
	for _, d := range [][]byte{bad(146, 0x8000), bad(150, 0x200), bad(152, 0x10)} {
		var b strings.Builder
		if err := e.Save(&b, RuleInfo{Family: IPv4}, d); err == nil {
			t.Errorf("saved %x as %q, want an error", d[146:154], b.String())
		}
	}
}
