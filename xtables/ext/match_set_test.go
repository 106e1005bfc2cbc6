package ext

import (
	"fmt"
	"strings"
	"testing"
)

// fakeIPSets stands in for the kernel: the sets the oracle rows were
// made with, in the order they were created (so with the same indexes).
type fakeIPSets []struct {
	name string
	fam  Family
}

func (f fakeIPSets) Index(name string, fam Family) (uint16, error) {
	for i, s := range f {
		if s.name == name {
			if s.fam != fam && s.fam != FamilyAny {
				return 0, fmt.Errorf("set %q is of family %s", name, s.fam)
			}
			return uint16(i), nil
		}
	}
	return 0, fmt.Errorf("set %q does not exist", name)
}

func (f fakeIPSets) Name(index uint16) (string, error) {
	if int(index) >= len(f) {
		return "", fmt.Errorf("set with index %d does not exist", index)
	}
	return f[index].name, nil
}

// setNames knows the oracle's sets, in their order of creation.
var setNames = testNames.with(fakeIPSets{{"hwtest", IPv4}, {"hw6", IPv6}, {"hwnp", IPv4}, {"hwlist", FamilyAny}})

func TestSetMatch(t *testing.T) {
	z := func(n int) string { return strings.Repeat("00", n) }
	// Revision 4 rows from iptables-legacy 1.8.9 and the kernel, after
	// "ipset create" of hwtest (hash:ip), hw6 (inet6), hwnp (hash:ip,port)
	// and hwlist (list:set) in that order.
	checkExtWith(t, setNames, Match, "set", 4, []extCase{
		{in: "--match-set hwtest src", hex: "00000102" + z(44)},
		{in: "! --match-set hwtest dst", hex: "00000101" + z(44)},
		{in: "--match-set hwnp src,dst --return-nomatch ! --update-counters ! --update-subcounters --packets-eq 5 --bytes-gt 100",
			hex: "02000202 00000000 0500000000000000 0100000000000000 6400000000000000 0400000000000000 98000000 00000000"},
		{in: "--match-set hwnp dst,src ! --packets-eq 3 ! --bytes-eq 7",
			hex: "02000204 00000000 0300000000000000 0200000000000000 0700000000000000 0200000000000000 00000000 00000000"},
		{in: "--match-set hwtest src --packets-lt 3 --bytes-lt 4",
			hex: "00000102 00000000 0300000000000000 0300000000000000 0400000000000000 0300000000000000 00000000 00000000"},
		{in: "--match-set hwtest src --packets-gt 3", hex: "00000102 00000000 0300000000000000 0400000000000000" + z(24)},
		{in: "--match-set hwtest src,dst,src,dst,src,dst", hex: "0000062a" + z(44)},
		{in: "--set hwtest src", save: "--match-set hwtest src", hex: "00000102" + z(44)},
		{in: "--match-set hwtest srcx", save: "--match-set hwtest src", hex: "00000102" + z(44)},
		{in: "--match-set hwtest src --update-counters --update-subcounters", save: "--match-set hwtest src", hex: "00000102" + z(44)},
		{in: "--match-set hwlist src", hex: "03000102" + z(44)},
		{in: "--match-set hwtest src --bytes-eq 18446744073709551615",
			hex: "00000102" + z(20) + "ffffffffffffffff 0100000000000000" + z(8)},
		{family: IPv6, in: "--match-set hw6 dst", hex: "01000100" + z(44)},
		{family: IPv6, in: "--match-set hwlist dst", hex: "03000100" + z(44)},
	})
	checkExtErrorsWith(t, setNames, Match, "set", 4, IPv4, []string{
		"", "--match-set hw6 src", "--match-set nosuch src", "--match-set hwtest foo",
		"--match-set hwtest src,dst,src,dst,src,dst,src", "--match-set hwtest src --match-set hwtest dst",
		"--match-set hwtest src --packets-eq 1 --packets-gt 3", "! --return-nomatch --match-set hwtest src",
		"--match-set hwtest src --bytes-eq 18446744073709551616", "--match-set hwtest src,", "--match-set hwtest ,src",
		"--match-set hwtest -src", "--match-set hwtest src ! --packets-gt 1", "--match-set hwtest src ! --bytes-lt 1",
		"--match-set " + strings.Repeat("x", 32) + " src", "--match-set hwtest",
		"--match-set hwtest src --bytes-gt 1 --bytes-eq 1",
	})

	// Older revisions (iptables picks 4 on any kernel with it): layouts
	// from xt_set.h, unit-tested only.
	checkExtWith(t, setNames, Match, "set", 3, []extCase{
		{in: "! --match-set hwnp dst,src --return-nomatch --packets-lt 9 ! --bytes-eq 1",
			hex: "02000205 00000000 0300000000000000 0900000000000000 0200000000000000 0100000000000000 80000000 00000000"},
	})
	checkExtWith(t, setNames, Match, "set", 2, []extCase{
		{in: "--match-set hwnp src,src --return-nomatch", hex: "02000286 00000000"},
		{in: "! --match-set hwtest dst", hex: "00000101 00000000"},
	})
	checkExtWith(t, setNames, Match, "set", 1, []extCase{
		{in: "! --match-set hwlist src,dst,src", hex: "0300030b 00000000"},
	})
	checkExtErrorsWith(t, setNames, Match, "set", 1, IPv4, []string{"--match-set hwtest src --return-nomatch"})
	checkExtWith(t, setNames, Match, "set", 0, []extCase{
		{in: "! --match-set hwnp src,dst", hex: "02000000 05000000 02000000" + z(20)},
		{in: "--match-set hwtest dst,dst,src,dst,src", hex: "00000000 02000000 02000000 01000000 02000000 01000000 00000000 00000000"},
	})
	checkExtErrorsWith(t, setNames, Match, "set", 0, IPv4, []string{"--match-set hwtest src,src,src,src,src,src"})
	if Lookup(Match, "set", 0, IPv6) != nil {
		t.Error("set revision 0 must be IPv4 only")
	}
}

func TestSetSave(t *testing.T) {
	e := Lookup(Match, "set", 4, IPv4)
	save := func(data []byte) (string, error) {
		_, opts, err := SaveText(e, RuleInfo{Family: IPv4, Names: setNames}, data)
		return opts, err
	}
	data := make([]byte, 48)
	data[0], data[2], data[3] = 9, 1, 2 // no set with index 9
	if _, err := save(data); err == nil {
		t.Error("unknown set index saved without error")
	}
	data[0] = 0
	data[16] = 5 // unknown counter comparison
	if _, err := save(data); err == nil {
		t.Error("unknown counter op saved without error")
	}
	data[16], data[2] = 0, 7
	if _, err := save(data); err == nil {
		t.Error("dimension 7 saved without error")
	}
	// The kernel's compat words at bytes 28-29 of a revision 0 payload
	// do not show.
	e0 := Lookup(Match, "set", 0, IPv4)
	d0 := make([]byte, 32)
	d0[4], d0[28], d0[29] = 1, 1, 2
	if _, opts, err := SaveText(e0, RuleInfo{Family: IPv4, Names: setNames}, d0); err != nil || opts != " --match-set hwtest src" {
		t.Errorf("revision 0 with compat bytes: %q, %v", opts, err)
	}
}
