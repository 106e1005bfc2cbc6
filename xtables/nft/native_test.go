package nft

import (
	"errors"
	"strings"
	"testing"

	"github.com/hostwall/hostwall/xtables"
)

// parseNativeTest parses one rule's options as iptables-restore would.
func parseNativeTest(t testing.TB, f *xtables.Family, text string) *xtables.Rule {
	t.Helper()
	toks, err := tokenize(text)
	if err != nil {
		t.Fatal(err)
	}
	p := &xtables.RuleParser{Family: f, IsChain: func(n string) bool { return n == "FILTERS" || n == "OTHER" }}
	rs, err := p.Parse(toks)
	if err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	if len(rs) != 1 {
		t.Fatalf("%s: %d rules", text, len(rs))
	}
	return rs[0]
}

// nativeGolden is each rule's native expressions, in Format's notation.
var nativeGolden = []struct {
	v6         bool
	text       string
	exprs      string
	compatExts string
}{
	{false, "-i lo -j ACCEPT", `
[ meta load iifname => reg 1 ]
[ cmp eq reg 1 6c6f00 ]
[ counter pkts 0 bytes 0 ]
[ immediate reg 0 accept ]`, ""},
	{false, "-m state --state RELATED,ESTABLISHED -j ACCEPT", `
[ ct load state => reg 1 ]
[ bitwise reg 1 = (reg 1 & 06000000) ^ 00000000 ]
[ cmp neq reg 1 00000000 ]
[ counter pkts 0 bytes 0 ]
[ immediate reg 0 accept ]`, ""},
	{false, "-m conntrack --ctstate INVALID -j DROP", `
[ ct load state => reg 1 ]
[ bitwise reg 1 = (reg 1 & 01000000) ^ 00000000 ]
[ cmp neq reg 1 00000000 ]
[ counter pkts 0 bytes 0 ]
[ immediate reg 0 drop ]`, ""},
	{false, "-s 127.0.0.0/8 ! -i lo -j DROP", `
[ meta load iifname => reg 1 ]
[ cmp neq reg 1 6c6f00 ]
[ payload load 1b @ network header + 12 => reg 1 ]
[ cmp eq reg 1 7f ]
[ counter pkts 0 bytes 0 ]
[ immediate reg 0 drop ]`, ""},
	{false, "-p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT", `
[ meta load l4proto => reg 1 ]
[ cmp eq reg 1 06 ]
[ ct load state => reg 1 ]
[ bitwise reg 1 = (reg 1 & 08000000) ^ 00000000 ]
[ cmp neq reg 1 00000000 ]
[ payload load 2b @ transport header + 2 => reg 1 ]
[ cmp eq reg 1 0016 ]
[ counter pkts 0 bytes 0 ]
[ immediate reg 0 accept ]`, ""},
	{false, "-j REJECT --reject-with icmp-port-unreachable", `
[ counter pkts 0 bytes 0 ]
[ reject type 0 code 3 ]`, ""},
	{true, "-j REJECT --reject-with icmp6-port-unreachable", `
[ counter pkts 0 bytes 0 ]
[ reject type 0 code 4 ]`, ""},
	{false, "-p tcp -j REJECT --reject-with tcp-reset", `
[ meta load l4proto => reg 1 ]
[ cmp eq reg 1 06 ]
[ counter pkts 0 bytes 0 ]
[ reject type 1 (tcp reset) ]`, ""},
	{false, "-p tcp -m conntrack --ctstate NEW --ctorigdstport 8080 -j DROP", `
[ meta load l4proto => reg 1 ]
[ cmp eq reg 1 06 ]
[ ct load state => reg 1 ]
[ bitwise reg 1 = (reg 1 & 08000000) ^ 00000000 ]
[ cmp neq reg 1 00000000 ]
[ ct load proto_dst => reg 1 , dir original ]
[ cmp eq reg 1 1f90 ]
[ counter pkts 0 bytes 0 ]
[ immediate reg 0 drop ]`, ""},
	{false, "-m conntrack --ctorigdst 10.0.0.0/8 --ctorigdstport 8000:8100 --ctproto 6 -j ACCEPT", `
[ ct load protocol => reg 1 , dir original ]
[ cmp eq reg 1 06 ]
[ ct load dst => reg 1 , dir original ]
[ bitwise reg 1 = (reg 1 & ff000000) ^ 00000000 ]
[ cmp eq reg 1 0a000000 ]
[ ct load proto_dst => reg 1 , dir original ]
[ range eq reg 1 1f40 1fa4 ]
[ counter pkts 0 bytes 0 ]
[ immediate reg 0 accept ]`, ""},
	{false, "-p icmp -m icmp --icmp-type 8 -j ACCEPT", `
[ meta load l4proto => reg 1 ]
[ cmp eq reg 1 01 ]
[ payload load 1b @ transport header + 0 => reg 1 ]
[ cmp eq reg 1 08 ]
[ counter pkts 0 bytes 0 ]
[ immediate reg 0 accept ]`, ""},
	{true, "-p ipv6-icmp -m icmp6 --icmpv6-type 1/4 -j ACCEPT", `
[ meta load l4proto => reg 1 ]
[ cmp eq reg 1 3a ]
[ payload load 2b @ transport header + 0 => reg 1 ]
[ cmp eq reg 1 0104 ]
[ counter pkts 0 bytes 0 ]
[ immediate reg 0 accept ]`, ""},
	{false, `-m comment --comment "ssh in" -j LOG --log-prefix "x: " --log-level 6`, `
[ counter pkts 0 bytes 0 ]
[ log prefix "x: " level 6 ]`, ""},
	{false, "-p tcp -m multiport --dports 80,443 -j ACCEPT", "", "match multiport"},
	{false, "-m addrtype --dst-type LOCAL -j OTHER", "", "match addrtype"},
	{false, "-m pkttype --pkt-type broadcast -j DROP", `
[ meta load pkttype => reg 1 ]
[ cmp eq reg 1 01 ]
[ counter pkts 0 bytes 0 ]
[ immediate reg 0 drop ]`, ""},
	{false, "-m limit --limit 5/min --limit-burst 10 -j NFLOG --nflog-group 5", `
[ limit rate 5/60 burst 10 type 0 flags 0x0 ]
[ counter pkts 0 bytes 0 ]
[ log group 5 ]`, ""},
	{false, "-p tcp -m tcp ! --sport 1000 ! --dport 80 -j ACCEPT", `
[ meta load l4proto => reg 1 ]
[ cmp eq reg 1 06 ]
[ payload load 2b @ transport header + 0 => reg 1 ]
[ cmp neq reg 1 03e8 ]
[ payload load 2b @ transport header + 2 => reg 1 ]
[ cmp neq reg 1 0050 ]
[ counter pkts 0 bytes 0 ]
[ immediate reg 0 accept ]`, ""},
}

func TestEncodeNativeGolden(t *testing.T) {
	for _, tc := range nativeGolden {
		f := xtables.IPv4
		if tc.v6 {
			f = xtables.IPv6
		}
		r := parseNativeTest(t, f, tc.text)
		nr, err := EncodeNative(f, "FILTERS", r)
		if err != nil {
			t.Errorf("%s: %v", tc.text, err)
			continue
		}
		if got := strings.Join(nr.CompatExts, ","); got != tc.compatExts {
			t.Errorf("%s: compat %q, want %q", tc.text, got, tc.compatExts)
		}
		if got := strings.TrimSpace(Format(nr.Exprs)); tc.exprs != "" && got != strings.TrimSpace(tc.exprs) {
			t.Errorf("%s: expressions\n%s\nwant\n%s", tc.text, got, strings.TrimSpace(tc.exprs))
		}
		// The kernel's view: marshalled and read back; then decoded
		// from it and the userdata to the same rule.
		raw, err := MarshalExprs(FamilyOf(f), nr.Exprs)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeNative(f, "FILTERS", raw, nr.UserData)
		if err != nil {
			t.Errorf("%s: decode: %v", tc.text, err)
			continue
		}
		if !back.SameAs(r) {
			t.Errorf("%s: decodes as %q", tc.text, NativeRuleText(f, "FILTERS", back))
		}
	}
}

// TestDecodeNativeEdited: a rule whose expressions were changed behind
// hostwall's back (nft replace) is foreign, as is one without its text.
func TestDecodeNativeEdited(t *testing.T) {
	f := xtables.IPv4
	r := parseNativeTest(t, f, "-p tcp -m tcp --dport 22 -j ACCEPT")
	nr, err := EncodeNative(f, "FILTERS", r)
	if err != nil {
		t.Fatal(err)
	}
	other, err := EncodeNative(f, "FILTERS", parseNativeTest(t, f, "-p tcp -m tcp --dport 23 -j ACCEPT"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := MarshalExprs(IPv4, other.Exprs)
	if _, err := DecodeNative(f, "FILTERS", raw, nr.UserData); !errors.Is(err, ErrForeign) {
		t.Errorf("edited expressions: %v, want ErrForeign", err)
	}
	raw, _ = MarshalExprs(IPv4, nr.Exprs)
	if _, err := DecodeNative(f, "FILTERS", raw, nil); !errors.Is(err, ErrForeign) {
		t.Errorf("no userdata: %v, want ErrForeign", err)
	}
}

// TestNativeUserDataLimit: a rule whose text does not fit in nf_tables'
// 256 bytes of userdata is refused, not cut.
func TestNativeUserDataLimit(t *testing.T) {
	f := xtables.IPv4
	r := parseNativeTest(t, f, `-m comment --comment "`+strings.Repeat("x", 250)+`" -j ACCEPT`)
	if _, err := EncodeNative(f, "FILTERS", r); !errors.Is(err, ErrNoNativeForm) {
		t.Errorf("long text: %v, want ErrNoNativeForm", err)
	}
	r = parseNativeTest(t, f, `-m comment --comment "`+strings.Repeat("x", 200)+`" -j ACCEPT`)
	nr, err := EncodeNative(f, "FILTERS", r)
	if err != nil {
		t.Fatal(err)
	}
	if len(nr.UserData) > udataMaxLen {
		t.Errorf("userdata %d bytes", len(nr.UserData))
	}
}

func FuzzDecodeNative(f *testing.F) {
	for _, tc := range nativeGolden {
		fam := xtables.IPv4
		if tc.v6 {
			fam = xtables.IPv6
		}
		r := parseNativeTest(f, fam, tc.text)
		nr, err := EncodeNative(fam, "FILTERS", r)
		if err != nil {
			f.Fatal(err)
		}
		raw, _ := MarshalExprs(FamilyOf(fam), nr.Exprs)
		f.Add(tc.v6, raw, nr.UserData)
	}
	f.Fuzz(func(t *testing.T, v6 bool, exprs, ud []byte) {
		fam := xtables.IPv4
		if v6 {
			fam = xtables.IPv6
		}
		r, err := DecodeNative(fam, "FILTERS", exprs, ud)
		if err != nil {
			if !errors.Is(err, ErrForeign) {
				t.Fatalf("error not wrapping ErrForeign: %v", err)
			}
			return
		}
		// Whatever decodes re-encodes to the same kernel rule.
		nr, err := EncodeNative(fam, "FILTERS", r)
		if err != nil {
			t.Fatalf("decoded rule does not encode: %v", err)
		}
		if string(nr.UserData) != string(ud) {
			t.Fatalf("userdata differs")
		}
		got, err := UnmarshalExprs(FamilyOf(fam), exprs)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := MarshalExprs(FamilyOf(fam), nr.Exprs)
		want, _ := UnmarshalExprs(FamilyOf(fam), raw)
		if !sameNativeExprs(got, want) {
			t.Fatalf("expressions differ")
		}
	})
}
