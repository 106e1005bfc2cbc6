package nft

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/xtables"
)

// TestEncodeGolden pins the expressions of representative rules, as
// measured from iptables-nft 1.8.9 (nft --debug=netlink and raw dumps;
// TestNftCodec in integration/ checks them against the kernel).
func TestEncodeGolden(t *testing.T) {
	for _, tc := range []struct {
		f      *xtables.Family
		rule   string
		compat Compat
		want   string
	}{
		{xtables.IPv4, "-i eth0 -p tcp --dport 22 -j ACCEPT", Compat{Proto: 6}, `
[ meta load iifname => reg 1 ]
[ cmp eq reg 1 6574683000 ]
[ meta load l4proto => reg 1 ]
[ cmp eq reg 1 06 ]
[ payload load 2b @ transport header + 2 => reg 1 ]
[ cmp eq reg 1 0016 ]
[ counter pkts 0 bytes 0 ]
[ immediate reg 0 accept ]`},
		{xtables.IPv4, "! -i + ! -o veth+ ! -p udp -s 10.0.0.0/8 -d 192.168.0.0/20 -f -c 10 20 -g B", Compat{Proto: 17, Flags: 2}, `
[ meta load iifname => reg 1 ]
[ cmp eq reg 1 494e56414c2f4400 ]
[ meta load oifname => reg 1 ]
[ cmp neq reg 1 76657468 ]
[ meta load l4proto => reg 1 ]
[ cmp neq reg 1 11 ]
[ payload load 1b @ network header + 12 => reg 1 ]
[ cmp eq reg 1 0a ]
[ payload load 4b @ network header + 16 => reg 1 ]
[ bitwise reg 1 = (reg 1 & fffff000) ^ 00000000 ]
[ cmp eq reg 1 c0a80000 ]
[ payload load 2b @ network header + 6 => reg 1 ]
[ bitwise reg 1 = (reg 1 & 1fff) ^ 0000 ]
[ cmp neq reg 1 0000 ]
[ counter pkts 10 bytes 20 ]
[ immediate reg 0 goto -> B ]`},
		{xtables.IPv4, "-i + -p tcp ! --sport 1000 ! --dport 80 --syn", Compat{Proto: 6}, `
[ meta load iifname => reg 1 ]
[ meta load l4proto => reg 1 ]
[ cmp eq reg 1 06 ]
[ payload load 1b @ transport header + 13 => reg 1 ]
[ bitwise reg 1 = (reg 1 & 17) ^ 00 ]
[ cmp eq reg 1 02 ]
[ payload load 4b @ transport header + 0 => reg 1 ]
[ cmp neq reg 1 03e80050 ]
[ counter pkts 0 bytes 0 ]`},
		{xtables.IPv4, "-p udp --sport 1024:65535 --dport 0:53 -m limit --limit 5/min --limit-burst 10 -m mark --mark 0x1/0xff -j RETURN", Compat{Proto: 17}, `
[ meta load l4proto => reg 1 ]
[ cmp eq reg 1 11 ]
[ payload load 2b @ transport header + 0 => reg 1 ]
[ range eq reg 1 0400 ffff ]
[ payload load 2b @ transport header + 2 => reg 1 ]
[ cmp lte reg 1 0035 ]
[ limit rate 5/60 burst 10 type 0 flags 0x0 ]
[ meta load mark => reg 1 ]
[ bitwise reg 1 = (reg 1 & ff000000) ^ 00000000 ]
[ cmp eq reg 1 01000000 ]
[ counter pkts 0 bytes 0 ]
[ immediate reg 0 return ]`},
		{xtables.IPv4, "-m comment --comment hi -j NFLOG --nflog-group 5 --nflog-prefix foo --nflog-size 9 --nflog-threshold 2", Compat{}, `
[ match name comment rev 0 (256 B) ` + "6869" + strings.Repeat("00", 254) + ` ]
[ counter pkts 0 bytes 0 ]
[ log prefix "foo" group 5 snaplen 9 qthreshold 2 ]`},
		{xtables.IPv4, "-p tcp -j REJECT --reject-with tcp-reset", Compat{Proto: 6}, `
[ meta load l4proto => reg 1 ]
[ cmp eq reg 1 06 ]
[ counter pkts 0 bytes 0 ]
[ target name REJECT rev 0 (8 B) 0700000000000000 ]`},
		{xtables.IPv6, "-s 2001:db8::/32 -d fe80::/10 -p ipv6-icmp -j A", Compat{Proto: 58}, `
[ meta load l4proto => reg 1 ]
[ cmp eq reg 1 3a ]
[ payload load 4b @ network header + 8 => reg 1 ]
[ cmp eq reg 1 20010db8 ]
[ payload load 16b @ network header + 24 => reg 1 ]
[ bitwise reg 1 = (reg 1 & ffc00000000000000000000000000000) ^ 00000000000000000000000000000000 ]
[ cmp eq reg 1 fe800000000000000000000000000000 ]
[ counter pkts 0 bytes 0 ]
[ immediate reg 0 jump -> A ]`},
	} {
		r := parseRule(t, tc.f, tc.rule)
		exprs, compat, err := EncodeRule(tc.f, r)
		if err != nil {
			t.Fatalf("%s: %v", tc.rule, err)
		}
		if got := Format(exprs); strings.TrimSpace(got) != strings.TrimSpace(tc.want) {
			t.Errorf("%s (%s):\n%s\nwant\n%s", tc.rule, tc.f, got, strings.TrimSpace(tc.want))
		}
		if compat != tc.compat {
			t.Errorf("%s: compat %+v, want %+v", tc.rule, compat, tc.compat)
		}
		roundTrip(t, tc.f, r, tc.rule)
	}
}

// TestEncodeMarshalBytes pins the wire bytes of one short rule, as the
// kernel accepts them (attribute order as libnftnl sends).
func TestEncodeMarshalBytes(t *testing.T) {
	r := parseRule(t, xtables.IPv4, "-p tcp -j DROP")
	exprs, _, err := EncodeRule(xtables.IPv4, r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := MarshalExprs(unix.NFPROTO_IPV4, exprs)
	if err != nil {
		t.Fatal(err)
	}
	// meta{key l4proto, dreg 1}, cmp{sreg 1, eq, 06}, counter{0,0},
	// immediate{dreg 0, verdict drop}.
	const want = "24000180" + "090001006d65746100000000" + "14000280" + "0800020000000010" + "0800010000000001" +
		"2c000180" + "08000100636d7000" + "20000280" + "0800010000000001" + "0800020000000000" + "0c000380" + "0500010006000000" +
		"2c000180" + "0c000100636f756e74657200" + "1c000280" + "0c0001000000000000000000" + "0c0002000000000000000000" +
		"30000180" + "0e000100696d6d656469617465000000" + "1c000280" + "0800010000000000" + "10000280" + "0c000280" + "0800010000000000"
	if got := hexOf(b); got != want {
		t.Errorf("bytes\n%s\nwant\n%s", got, want)
	}
}

// TestDecodeOtherWriters: forms iptables-nft 1.8.9 reads from writers
// other than itself.
func TestDecodeOtherWriters(t *testing.T) {
	reg1 := uint32(unix.NFT_REG_1)
	accept := &Immediate{Verdict: 1}
	for _, tc := range []struct {
		name     string
		f        *xtables.Family
		exprs    []Expr
		userdata []byte
		want     string // the iptables text hostwall parses to the same rule
	}{
		{"1.8.10 -p as a payload", xtables.IPv4, []Expr{
			&Payload{Base: unix.NFT_PAYLOAD_NETWORK_HEADER, Offset: 9, Len: 1, Reg: reg1},
			&Cmp{Op: unix.NFT_CMP_EQ, Reg: reg1, Data: []byte{6}},
			&Counter{}, accept,
		}, nil, "-p tcp -j ACCEPT"},
		{"nft tcp dport with a userdata comment", xtables.IPv4, []Expr{
			&Meta{Key: unix.NFT_META_IIFNAME, Reg: reg1},
			&Cmp{Op: unix.NFT_CMP_EQ, Reg: reg1, Data: []byte("eth0\x00")},
			&Meta{Key: unix.NFT_META_L4PROTO, Reg: reg1},
			&Cmp{Op: unix.NFT_CMP_EQ, Reg: reg1, Data: []byte{6}},
			&Payload{Base: unix.NFT_PAYLOAD_TRANSPORT_HEADER, Offset: 2, Len: 2, Reg: reg1},
			&Cmp{Op: unix.NFT_CMP_EQ, Reg: reg1, Data: []byte{0, 22}},
			&Counter{}, accept,
		}, []byte("\x00\x07ssh in\x00"), `-i eth0 -p tcp -m tcp --dport 22 -m comment --comment "ssh in" -j ACCEPT`},
		{"nft port bounds, ttl, pkttype, icmp", xtables.IPv4, []Expr{
			&Meta{Key: unix.NFT_META_L4PROTO, Reg: reg1},
			&Cmp{Op: unix.NFT_CMP_EQ, Reg: reg1, Data: []byte{17}},
			&Payload{Base: unix.NFT_PAYLOAD_TRANSPORT_HEADER, Offset: 2, Len: 2, Reg: reg1},
			&Cmp{Op: unix.NFT_CMP_GTE, Reg: reg1, Data: []byte{0x03, 0xe8}},
			&Payload{Base: unix.NFT_PAYLOAD_TRANSPORT_HEADER, Offset: 2, Len: 2, Reg: reg1},
			&Cmp{Op: unix.NFT_CMP_LT, Reg: reg1, Data: []byte{0x07, 0xd0}},
			&Payload{Base: unix.NFT_PAYLOAD_NETWORK_HEADER, Offset: 8, Len: 1, Reg: reg1},
			&Cmp{Op: unix.NFT_CMP_LTE, Reg: reg1, Data: []byte{5}},
			&Meta{Key: unix.NFT_META_PKTTYPE, Reg: reg1},
			&Cmp{Op: unix.NFT_CMP_NEQ, Reg: reg1, Data: []byte{1}},
		}, nil, "-p udp -m udp --dport 1000:1999 -m ttl --ttl-lt 6 -m pkttype ! --pkt-type broadcast"},
		{"nft icmp type", xtables.IPv4, []Expr{
			&Meta{Key: unix.NFT_META_L4PROTO, Reg: reg1},
			&Cmp{Op: unix.NFT_CMP_EQ, Reg: reg1, Data: []byte{1}},
			&Payload{Base: unix.NFT_PAYLOAD_TRANSPORT_HEADER, Offset: 0, Len: 1, Reg: reg1},
			&Cmp{Op: unix.NFT_CMP_EQ, Reg: reg1, Data: []byte{8}},
			&Limit{Rate: 10, Unit: 1, Burst: 5},
			accept,
		}, nil, "-p icmp -m icmp --icmp-type 8 -m limit --limit 10/sec -j ACCEPT"},
		{"nft ip6 hoplimit", xtables.IPv6, []Expr{
			&Payload{Base: unix.NFT_PAYLOAD_NETWORK_HEADER, Offset: 7, Len: 1, Reg: reg1},
			&Cmp{Op: unix.NFT_CMP_EQ, Reg: reg1, Data: []byte{255}},
			accept,
		}, nil, "-m hl --hl-eq 255 -j ACCEPT"},
	} {
		got, err := DecodeRule(tc.f, tc.exprs, tc.userdata)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if want := parseRule(t, tc.f, tc.want); !got.SameAs(want) {
			t.Errorf("%s: decodes differently from %q", tc.name, tc.want)
		}
		// Whatever decodes encodes, and that encoding decodes the same.
		roundTrip(t, tc.f, got, tc.name)
	}
}

// TestDecodeForeign: rules iptables-nft 1.8.9 calls incompatible,
// misreads or drops are ErrForeign.
func TestDecodeForeign(t *testing.T) {
	reg1 := uint32(unix.NFT_REG_1)
	l4 := func(p byte) []Expr {
		return []Expr{&Meta{Key: unix.NFT_META_L4PROTO, Reg: reg1}, &Cmp{Reg: reg1, Data: []byte{p}}}
	}
	th := &Payload{Base: unix.NFT_PAYLOAD_TRANSPORT_HEADER, Offset: 2, Len: 2, Reg: reg1}
	for _, tc := range []struct {
		name     string
		exprs    []Expr
		userdata []byte
	}{
		{"ct state", []Expr{&Unknown{Name: "ct", Data: []byte{8, 0, 2, 0, 0, 0, 0, 0}}, &Immediate{Verdict: 1}}, nil},
		{"reject", []Expr{&Unknown{Name: "reject", Data: []byte{}}}, nil},
		{"anonymous set", append(l4(6), th, &Lookup{Set: "__set0", SReg: 1}, &Immediate{Verdict: 1}), nil},
		{"meta mark set", []Expr{&Immediate{Reg: 1, Data: []byte{1, 0, 0, 0}}, &Meta{Key: unix.NFT_META_MARK, Reg: 1, Set: true}}, nil},
		{"plain log", []Expr{&Log{HasPrefix: true, Prefix: "x"}}, nil},
		{"limit bytes", []Expr{&Limit{Rate: 1, Unit: 1, Burst: 1, Type: 1}}, nil},
		{"port without -p", []Expr{th, &Cmp{Reg: 1, Data: []byte{0, 22}}}, nil},
		{"port twice", append(l4(6), th, &Cmp{Reg: 1, Data: []byte{0, 22}}, th, &Cmp{Reg: 1, Data: []byte{0, 23}}), nil},
		{"port under bitwise", append(l4(6), th, &Bitwise{SReg: 1, DReg: 1, Len: 2, Mask: []byte{0xff, 0}, Xor: []byte{0, 0}}, &Cmp{Reg: 1, Data: []byte{0, 22}}), nil},
		{"unread load", []Expr{th, &Counter{}}, nil},
		{"expression after verdict", []Expr{&Immediate{Verdict: 1}, &Counter{}}, nil},
		{"verdict continue", []Expr{&Immediate{Verdict: -1}}, nil},
		{"iif by index", []Expr{&Meta{Key: unix.NFT_META_IIF, Reg: 1}, &Cmp{Reg: 1, Data: []byte{1, 0, 0, 0}}}, nil},
		{"ip6 nexthdr", []Expr{&Payload{Base: unix.NFT_PAYLOAD_NETWORK_HEADER, Offset: 6, Len: 1, Reg: 1}, &Cmp{Reg: 1, Data: []byte{6}}}, nil},
		{"bad userdata", nil, []byte{0, 5, 'a'}},
		{"userdata of another type", nil, []byte{3, 1, 0}},
	} {
		f := xtables.IPv4
		if tc.name == "ip6 nexthdr" {
			f = xtables.IPv6
		}
		if _, err := DecodeRule(f, tc.exprs, tc.userdata); !errors.Is(err, ErrForeign) {
			t.Errorf("%s: %v, want ErrForeign", tc.name, err)
		}
	}
}

func TestEncodeUnrepresentable(t *testing.T) {
	for _, tc := range []struct {
		f    *xtables.Family
		rule string
	}{
		{xtables.IPv4, "! -s 0.0.0.0/0"},
		{xtables.IPv6, "-p all"},
		{xtables.IPv4, "-j QUEUE"},
	} {
		if _, _, err := EncodeRule(tc.f, parseRule(t, tc.f, tc.rule)); !errors.Is(err, ErrUnrepresentable) {
			t.Errorf("%s: %v, want ErrUnrepresentable", tc.rule, err)
		}
	}
}

func TestUnmarshalStrict(t *testing.T) {
	good, err := MarshalExprs(2, []Expr{&Counter{Packets: 1, Bytes: 2}, &Immediate{Verdict: -3, Chain: "X"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnmarshalExprs(2, good); err != nil {
		t.Fatal(err)
	}
	first := int(good[0]) | int(good[1])<<8 // the first NFTA_LIST_ELEM's length
	for i := 1; i < len(good); i++ {
		if _, err := UnmarshalExprs(2, good[:i]); err == nil && i != first {
			t.Errorf("truncated to %d bytes: no error", i)
		}
	}
	// An attribute outside the model keeps the expression as Unknown.
	ae := exprEncoder()
	ae.Uint32(unix.NFTA_PAYLOAD_SREG, 1)
	ae.Uint32(unix.NFTA_PAYLOAD_BASE, 1)
	d, _ := ae.Encode()
	b, _ := MarshalExprs(2, []Expr{&Unknown{Name: "payload", Data: d}})
	exprs, err := UnmarshalExprs(2, b)
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := exprs[0].(*Unknown); !ok || u.Name != "payload" || hexOf(u.Data) != hexOf(d) {
		t.Errorf("payload write: %#v", exprs[0])
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
