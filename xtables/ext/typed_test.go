package ext

import (
	"bytes"
	"structs"
	"testing"
	"unsafe"
)

// C mirrors of the kernel structs the typed values carry, laid out by the
// compiler (amd64/arm64, the only builds), so the sizes below are
// computed from the declarations quoted in each file, not typed twice.
type (
	cXtTCP struct {
		_                                 structs.HostLayout
		spts, dpts                        [2]uint16
		option, flgMask, flgCmp, invflags uint8
	}
	cXtUDP struct {
		_          structs.HostLayout
		spts, dpts [2]uint16
		invflags   uint8
	}
	cXtRateinfo struct {
		_                       structs.HostLayout
		avg, burst              uint32
		prev                    uint64 // unsigned long
		credit, creditCap, cost uint32
		master                  uintptr
	}
	cXtMarkMtinfo1 struct {
		_          structs.HostLayout
		mark, mask uint32
		invert     uint8
	}
	cXtMarkInfo struct {
		_          structs.HostLayout
		mark, mask uint64 // unsigned long
		invert     uint8
	}
	cXtMarkTginfo2 struct {
		_          structs.HostLayout
		mark, mask uint32
	}
	cXtCommentInfo struct {
		_       structs.HostLayout
		comment [256]byte
	}
	cIptICMP struct { // and ip6t_icmp
		_        structs.HostLayout
		typ      uint8
		code     [2]uint8
		invflags uint8
	}
	cXtPkttypeInfo struct {
		_               structs.HostLayout
		pkttype, invert int32
	}
	cIptRejectInfo struct { // and ip6t_reject_info
		_    structs.HostLayout
		with uint32
	}
	cXtLogInfo struct {
		_               structs.HostLayout
		level, logflags uint8
		prefix          [30]byte
	}
	cXtNflogInfo struct {
		_                           structs.HostLayout
		len                         uint32
		group, threshold, flags, pd uint16
		prefix                      [64]byte
	}
	cXtMultiport struct {
		_            structs.HostLayout
		flags, count uint8
		ports        [15]uint16
	}
	cXtMultiportV1 struct {
		_            structs.HostLayout
		flags, count uint8
		ports        [15]uint16
		pflags       [15]uint8
		invert       uint8
	}
	// The three revisions share their first 150 bytes, inline (a
	// nested struct would be padded to 152).
	cXtConntrackMtinfo1 struct {
		_                       structs.HostLayout
		addrs                   [8][16]byte
		expiresMin, expiresMax  uint32
		l4proto                 uint16
		ports                   [4]uint16
		matchFlags, invertFlags uint16
		stateMask, statusMask   uint8
	}
	cXtConntrackMtinfo2 struct {
		_                       structs.HostLayout
		addrs                   [8][16]byte
		expiresMin, expiresMax  uint32
		l4proto                 uint16
		ports                   [4]uint16
		matchFlags, invertFlags uint16
		stateMask, statusMask   uint16
	}
	cXtConntrackMtinfo3 struct {
		_                       structs.HostLayout
		addrs                   [8][16]byte
		expiresMin, expiresMax  uint32
		l4proto                 uint16
		ports                   [4]uint16
		matchFlags, invertFlags uint16
		stateMask, statusMask   uint16
		portsHigh               [4]uint16
	}
	cNfNatIPv4MultiRangeCompat struct {
		_         structs.HostLayout
		rangesize uint32
		flags     uint32
		minIP     uint32
		maxIP     uint32
		min, max  uint16
	}
	cNfNatRange struct {
		_                  structs.HostLayout
		flags              uint32
		minAddr, maxAddr   [16]byte
		minProto, maxProto uint16
	}
	cNfNatRange2 struct {
		_                             structs.HostLayout
		flags                         uint32
		minAddr, maxAddr              [16]byte
		minProto, maxProto, baseProto uint16
	}
)

// TestTypedSizes checks each typed value against the kernel struct it
// stands for: the registered Size is the C size, Marshal writes
// XT_ALIGN(size) bytes, and Unmarshal gives back the value.
func TestTypedSizes(t *testing.T) {
	must := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		kind  Kind
		name  string
		rev   uint8
		fam   Family
		cSize uintptr
		data  []byte
		back  func([]byte) ([]byte, error)
	}{
		{Match, "tcp", 0, FamilyAny, unsafe.Sizeof(cXtTCP{}),
			(&TCP{SrcPorts: [2]uint16{1, 2}, DstPorts: [2]uint16{3, 4}, Option: 5, FlagMask: 6, FlagCmp: 7, InvFlags: 8}).Marshal(),
			func(b []byte) ([]byte, error) { v, err := UnmarshalTCP(b); return mustMarshal(v, err) }},
		{Match, "udp", 0, FamilyAny, unsafe.Sizeof(cXtUDP{}),
			(&UDP{SrcPorts: [2]uint16{1, 2}, DstPorts: [2]uint16{3, 4}, InvFlags: 3}).Marshal(),
			func(b []byte) ([]byte, error) { v, err := UnmarshalUDP(b); return mustMarshal(v, err) }},
		{Match, "limit", 0, FamilyAny, unsafe.Sizeof(cXtRateinfo{}),
			(&RateInfo{Avg: 1234, Burst: 9}).Marshal(),
			func(b []byte) ([]byte, error) { v, err := UnmarshalRateInfo(b); return mustMarshal(v, err) }},
		{Match, "mark", 1, FamilyAny, unsafe.Sizeof(cXtMarkMtinfo1{}),
			(&MarkInfo{Mark: 0x10, Mask: 0xf0, Invert: 1}).Marshal(),
			func(b []byte) ([]byte, error) { v, err := UnmarshalMarkInfo(b); return mustMarshal(v, err) }},
		{Match, "mark", 0, FamilyAny, unsafe.Sizeof(cXtMarkInfo{}),
			(&MarkInfo{Mark: 0x10, Mask: 0xf0, Invert: 1}).marshalRev0(),
			func(b []byte) ([]byte, error) {
				v, err := unmarshalMarkInfoRev0(b)
				return reMarshal(v, err, func(m *MarkInfo) ([]byte, error) { return m.marshalRev0(), nil })
			}},
		{Match, "connmark", 1, FamilyAny, unsafe.Sizeof(cXtMarkMtinfo1{}),
			(&MarkInfo{Mark: 1, Mask: 3}).Marshal(),
			func(b []byte) ([]byte, error) { v, err := UnmarshalMarkInfo(b); return mustMarshal(v, err) }},
		{Target, "MARK", 2, FamilyAny, unsafe.Sizeof(cXtMarkTginfo2{}),
			(&MarkTarget{Mark: 1, Mask: 0xff}).Marshal(),
			func(b []byte) ([]byte, error) { v, err := UnmarshalMarkTarget(b); return mustMarshal(v, err) }},
		{Match, "comment", 0, FamilyAny, unsafe.Sizeof(cXtCommentInfo{}),
			must((&Comment{Text: "ssh"}).Marshal()),
			func(b []byte) ([]byte, error) { return UnmarshalComment(b).Marshal() }},
		{Match, "icmp", 0, IPv4, unsafe.Sizeof(cIptICMP{}),
			(&ICMP{Type: 3, CodeMin: 1, CodeMax: 1, InvFlags: 1}).Marshal(),
			func(b []byte) ([]byte, error) { v, err := UnmarshalICMP(b); return mustMarshal(v, err) }},
		{Match, "icmp6", 0, IPv6, unsafe.Sizeof(cIptICMP{}),
			(&ICMP{Type: 128, CodeMin: 0, CodeMax: 0xff}).Marshal(),
			func(b []byte) ([]byte, error) { v, err := UnmarshalICMP(b); return mustMarshal(v, err) }},
		{Match, "pkttype", 0, FamilyAny, unsafe.Sizeof(cXtPkttypeInfo{}),
			(&PktType{Type: 1, Invert: 1}).Marshal(),
			func(b []byte) ([]byte, error) { v, err := UnmarshalPktType(b); return mustMarshal(v, err) }},
		{Target, "REJECT", 0, IPv4, unsafe.Sizeof(cIptRejectInfo{}),
			(&Reject{With: rejectTCPRst4}).Marshal(),
			func(b []byte) ([]byte, error) { v, err := UnmarshalReject(b); return mustMarshal(v, err) }},
		{Target, "LOG", 0, FamilyAny, unsafe.Sizeof(cXtLogInfo{}),
			must((&Log{Level: 7, Flags: logUID, Prefix: "fw: "}).Marshal()),
			func(b []byte) ([]byte, error) { v, err := UnmarshalLog(b); return reMarshal(v, err, (*Log).Marshal) }},
		{Target, "NFLOG", 0, FamilyAny, unsafe.Sizeof(cXtNflogInfo{}),
			must((&NFLog{Len: 128, Group: 2, Threshold: 3, Flags: NFLogCopyLen, Prefix: "x"}).Marshal()),
			func(b []byte) ([]byte, error) {
				v, err := UnmarshalNFLog(b)
				return reMarshal(v, err, (*NFLog).Marshal)
			}},
		{Match, "multiport", 0, FamilyAny, unsafe.Sizeof(cXtMultiport{}),
			must((&Multiport{Flags: multiportDest, Count: 2, Ports: [15]uint16{22, 80}}).Marshal(0)),
			func(b []byte) ([]byte, error) {
				v, err := UnmarshalMultiport(b, 0)
				return reMarshal(v, err, func(m *Multiport) ([]byte, error) { return m.Marshal(0) })
			}},
		{Match, "multiport", 1, FamilyAny, unsafe.Sizeof(cXtMultiportV1{}),
			must((&Multiport{Flags: multiportDest, Count: 3, Ports: [15]uint16{22, 80, 90}, PFlags: [15]uint8{0, 1}, Invert: 1}).Marshal(1)),
			func(b []byte) ([]byte, error) {
				v, err := UnmarshalMultiport(b, 1)
				return reMarshal(v, err, func(m *Multiport) ([]byte, error) { return m.Marshal(1) })
			}},
	} {
		e := Lookup(c.kind, c.name, c.rev, c.fam)
		if e == nil {
			t.Errorf("%s %s rev %d: not registered", c.kind, c.name, c.rev)
			continue
		}
		if e.Size != int(c.cSize) {
			t.Errorf("%s rev %d: registered size %d, the C struct has %d", c.name, c.rev, e.Size, c.cSize)
		}
		if len(c.data) != Align(int(c.cSize)) {
			t.Errorf("%s rev %d: Marshal wrote %d bytes, want XT_ALIGN(%d)", c.name, c.rev, len(c.data), c.cSize)
		}
		back, err := c.back(c.data)
		if err != nil || !bytes.Equal(back, c.data) {
			t.Errorf("%s rev %d: Unmarshal+Marshal gave %x, %v; want %x", c.name, c.rev, back, err, c.data)
		}
	}

	ct := Conntrack{L4Proto: 6, Port: [4]uint16{0, 8080}, PortHigh: [4]uint16{0, 8081},
		MatchFlags: CTFlagState | CTFlagOrigDstPort, State: ctStateNew}
	for rev, size := range map[uint8]uintptr{1: unsafe.Sizeof(cXtConntrackMtinfo1{}),
		2: unsafe.Sizeof(cXtConntrackMtinfo2{}), 3: unsafe.Sizeof(cXtConntrackMtinfo3{})} {
		want := ct
		if rev < 3 {
			want.PortHigh = [4]uint16{}
		}
		for _, fam := range []Family{IPv4, IPv6} {
			if e := Lookup(Match, "conntrack", rev, fam); e == nil || e.Size != int(size) {
				t.Errorf("conntrack rev %d %v: registered %v, the C struct has %d bytes", rev, fam, e, size)
			}
		}
		data, err := want.Marshal(rev)
		if err != nil || len(data) != Align(int(size)) {
			t.Fatalf("conntrack rev %d: Marshal gave %d bytes, %v; want XT_ALIGN(%d)", rev, len(data), err, size)
		}
		back, err := UnmarshalConntrack(data, rev)
		if err != nil || *back != want {
			t.Errorf("conntrack rev %d: Unmarshal gave %+v, %v; want %+v", rev, back, err, want)
		}
	}

	nat := NATRange{Flags: natMapIPs | natProtoSpecified, MinPort: 80, MaxPort: 80}
	copy(nat.MinAddr[:], []byte{172, 17, 0, 2})
	nat.MaxAddr = nat.MinAddr
	for _, c := range []struct {
		rev   uint8
		fam   Family
		cSize uintptr
	}{
		{0, IPv4, unsafe.Sizeof(cNfNatIPv4MultiRangeCompat{})},
		{2, IPv4, unsafe.Sizeof(cNfNatRange2{})},
		{1, IPv6, unsafe.Sizeof(cNfNatRange{})},
		{2, IPv6, unsafe.Sizeof(cNfNatRange2{})},
	} {
		e := Lookup(Target, "DNAT", c.rev, c.fam)
		if e == nil || e.Size != int(c.cSize) {
			t.Errorf("DNAT rev %d %v: registered %v, the C struct has %d bytes", c.rev, c.fam, e, c.cSize)
			continue
		}
		data := nat.marshal(natLayouts[natKey{"DNAT", c.rev, c.fam}])
		if len(data) != Align(int(c.cSize)) {
			t.Errorf("DNAT rev %d %v: Marshal wrote %d bytes, want XT_ALIGN(%d)", c.rev, c.fam, len(data), c.cSize)
		}
		back, err := UnmarshalNAT("DNAT", c.rev, c.fam, data)
		if err != nil || *back != nat {
			t.Errorf("DNAT rev %d %v: Unmarshal gave %+v, %v; want %+v", c.rev, c.fam, back, err, nat)
		}
	}
	if got := nat.Text(IPv4); got != "172.17.0.2:80" {
		t.Errorf("NATRange.Text = %q, want 172.17.0.2:80", got)
	}
}

// mustMarshal re-marshals a value read back, for the round trips above.
func mustMarshal[T interface{ Marshal() []byte }](v T, err error) ([]byte, error) {
	return reMarshal(v, err, func(v T) ([]byte, error) { return v.Marshal(), nil })
}

// reMarshal is marshal applied to a value read back unless reading it
// failed: the one round trip of every row above, whatever the shape of
// the type's Marshal.
func reMarshal[T any](v T, err error, marshal func(T) ([]byte, error)) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	return marshal(v)
}
