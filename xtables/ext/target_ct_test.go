package ext

import (
	"strings"
	"testing"
)

func TestCT(t *testing.T) {
	const n = 72
	checkExt(t, Target, "CT", 2, []extCase{
		{in: "--notrack", hex: padHex("0100", n)},
		{proto: 6, in: "--helper ftp", hex: padHex("0000 0000 00000000 00000000 667470", n)},
		{in: "--ctevents new,related,destroy,reply,assured,protoinfo,helper,mark,natseqinfo,secmark", hex: padHex("0000 0000 ff030000", n)},
		{in: "--expevents new --ctevents mark,new", hex: padHex("0000 0000 81000000 01000000", n), save: "--ctevents new,mark --expevents new"},
		{in: "--zone 5", hex: padHex("0000 0500", n)},
		{in: "--zone mark", hex: padHex("1000 0000", n)},
		{in: "--zone-orig 7", hex: padHex("0400 0700", n)},
		{in: "--zone-reply MARK", hex: padHex("1800 0000", n), save: "--zone-reply mark"},
		{in: "--zone-orig 3 --zone-reply 4", hex: padHex("0c00 0400", n), save: "--zone 4"},
		{in: "--notrack --zone 1 --helper x", hex: padHex("0100 0100 00000000 00000000 78", n), save: "--notrack --helper x --zone 1"},
		{proto: 17, in: "--timeout udp-policy --helper tftp", hex: padHex("0000 0000 00000000 00000000 74667470 000000000000000000000000 7564702d706f6c696379", n),
			save: "--helper tftp --timeout udp-policy"},
		{family: IPv6, proto: 17, in: "--helper tftp", hex: padHex("0000 0000 00000000 00000000 74667470", n)},
	})
	checkExtErrors(t, Target, "CT", 2, IPv4, []string{
		"--helper ftp", "--ctevents new,", "--ctevents NEW", "--expevents destroy", "--zone 65536",
		"--zone x", "--notrack --notrack", "--zone 1 --zone 2",
	})
	// iptables keeps the direction of zone 0, but save cannot show it.
	e := Lookup(Target, "CT", 2, IPv4)
	if data, err := ParseOptions(e, RuleInfo{Family: IPv4}, []string{"--zone-orig", "0"}); err != nil || hexString(data) != padHex("0400", n) {
		t.Errorf("--zone-orig 0: payload %x (%v)", data, err)
	}
	if _, opts, err := SaveText(e, RuleInfo{Family: IPv4}, mustHex(t, padHex("0400", n))); err != nil || opts != "" {
		t.Errorf("--zone-orig 0 saved as %q (%v), want nothing", opts, err)
	}
	// ! -p tcp gives the kernel no protocol to look the helper up by.
	if _, err := ParseOptions(e, RuleInfo{Family: IPv4, Proto: 6, ProtoInvert: true}, []string{"--helper", "ftp"}); err == nil {
		t.Error("--helper with ! -p tcp parsed, want an error")
	}
	checkSaveRefused(t, Target, "CT", 2, IPv4,
		padHex("2000", n),               // unknown flag
		padHex("0000 0000 00040000", n), // unknown ct event
		padHex("0000 0000 00000000 02000000", n),
		"0000 0000 00000000 00000000"+strings.Repeat("41", 16)+padHex("", 40),
	)

	checkExt(t, Target, "CT", 1, []extCase{
		{in: "--notrack", hex: padHex("0100", n)},
		{in: "--zone 9 --timeout x", hex: padHex("0000 0900 00000000 00000000 00000000000000000000000000000000 78", n), save: "--timeout x --zone 9"},
	})
	checkExtErrors(t, Target, "CT", 1, IPv4, []string{"--zone mark", "--zone-orig 1"})
	checkSaveRefused(t, Target, "CT", 1, IPv4, padHex("0300", n), padHex("0400", n))

	checkExt(t, Target, "CT", 0, []extCase{
		{in: "--notrack --zone 2", hex: padHex("0100 0200", 40)},
		{proto: 6, in: "--helper ftp --ctevents new", hex: padHex("0000 0000 01000000 00000000 667470", 40)},
	})
	checkExtErrors(t, Target, "CT", 0, IPv4, []string{"--timeout x", "--zone-reply 1"})
}

// TestNotrack checks -j NOTRACK: CT revision 2 with the alias flag, saved
// back under the NOTRACK name with no options.
func TestNotrack(t *testing.T) {
	for _, fam := range []Family{IPv4, IPv6} {
		cands := Candidates(Target, "NOTRACK", fam)
		if len(cands) == 0 || cands[0].KernelName() != "CT" || cands[0].Revision != 2 {
			t.Fatalf("%s: NOTRACK does not resolve to CT revision 2 first", fam)
		}
		data, err := ParseOptions(cands[0], RuleInfo{Family: fam}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := padHex("0300", 72); strings.ReplaceAll(want, " ", "") != hexString(data) {
			t.Errorf("%s: NOTRACK payload %x", fam, data)
		}
		if _, err := ParseOptions(cands[0], RuleInfo{Family: fam}, []string{"--notrack"}); err == nil {
			t.Errorf("%s: NOTRACK --notrack parsed, want an error", fam)
		}
		// Whatever Lookup returns for CT revision 2 must print both forms.
		dec := Lookup(Target, "CT", 2, fam)
		for _, c := range []struct{ hex, name, opts string }{
			{padHex("0300", 72), "NOTRACK", ""},
			{padHex("0100", 72), "CT", " --notrack"},
		} {
			name, opts, err := SaveText(dec, RuleInfo{Family: fam}, mustHex(t, c.hex))
			if err != nil || name != c.name || opts != c.opts {
				t.Errorf("%s: %s saved as %q %q (%v), want %q %q", fam, c.hex, name, opts, err, c.name, c.opts)
			}
		}
	}
	// The kernel's own NOTRACK target (revision 0, no payload), which an
	// older iptables may have used.
	e := Lookup(Target, "NOTRACK", 0, IPv4)
	if e == nil {
		t.Fatal("NOTRACK revision 0 not registered")
	}
	if name, opts, err := SaveText(e, RuleInfo{Family: IPv4}, nil); err != nil || name != "NOTRACK" || opts != "" {
		t.Errorf("NOTRACK rev 0 saved as %q %q (%v)", name, opts, err)
	}
}
