package nft

import (
	"os"
	"reflect"
	"testing"

	"github.com/hostwall/hostwall/xtables"
)

// FuzzDecodeRule feeds arbitrary NFTA_RULE_EXPRESSIONS and userdata
// bytes to the decoder. Nothing may panic; a list that unmarshals
// marshals back to the same expressions; a rule that decodes encodes, and
// its encoding is a fixed point: it decodes to the same rule and encodes
// to itself. For iptables-nft's own forms (the seeds, from real rules and
// kernel dumps) the encoding is the input itself, counters aside; other
// writers' forms (nft's, 1.8.10's) re-encode as 1.8.9 writes the rule.
func FuzzDecodeRule(f *testing.F) {
	for _, p := range fixturePaths(f) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		fam := familyOfPath(p)
		for _, tbl := range buildTables(f, fam, p, data) {
			for _, c := range tbl.Chains {
				for i, r := range c.Rules {
					if i > 3 { // a few rules of each chain keep the seed set small
						break
					}
					exprs, _, err := EncodeRule(fam, r)
					if err != nil {
						continue
					}
					b, err := MarshalExprs(FamilyOf(fam), exprs)
					if err != nil {
						f.Fatal(err)
					}
					f.Add(FamilyOf(fam), b, []byte(nil))
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, fam byte, b, userdata []byte) {
		xf := xtables.IPv4
		if fam&1 != 0 {
			xf = xtables.IPv6
		}
		exprs, err := UnmarshalExprs(fam, b)
		if err != nil {
			return
		}
		b2, err := MarshalExprs(fam, exprs)
		if err != nil {
			t.Fatalf("marshal what unmarshalled: %v", err)
		}
		again, err := UnmarshalExprs(fam, b2)
		if err != nil || !reflect.DeepEqual(again, exprs) {
			t.Fatalf("marshal/unmarshal not stable: %v\n%s\n%s", err, Format(exprs), Format(again))
		}
		r, err := DecodeRule(xf, exprs, userdata)
		if err != nil {
			return
		}
		enc, _, err := EncodeRule(xf, r)
		if err != nil {
			t.Fatalf("a decoded rule does not encode: %v\n%s", err, Format(exprs))
		}
		back, err := DecodeRule(xf, enc, nil)
		if err != nil || !back.SameAs(r) || back.Counters != r.Counters {
			t.Fatalf("the encoding decodes differently: %v\n%s", err, Format(enc))
		}
		enc2, _, err := EncodeRule(xf, back)
		if err != nil || !reflect.DeepEqual(enc2, enc) {
			t.Fatalf("encoding is not a fixed point: %v\n%s\n%s", err, Format(enc), Format(enc2))
		}
	})
}

// TestOwnFormsReencodeExactly: for every fixture rule, the expressions
// decode and encode back to themselves, the stronger form of
// FuzzDecodeRule's property for iptables-nft's own writing.
func TestOwnFormsReencodeExactly(t *testing.T) {
	for _, p := range fixturePaths(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fam := familyOfPath(p)
		for _, tbl := range buildTables(t, fam, p, data) {
			for _, c := range tbl.Chains {
				for _, r := range c.Rules {
					exprs, _, err := EncodeRule(fam, r)
					if err != nil {
						continue
					}
					d, err := DecodeRule(fam, exprs, nil)
					if err != nil {
						t.Fatal(err)
					}
					again, _, err := EncodeRule(fam, d)
					if err != nil || !reflect.DeepEqual(again, exprs) {
						t.Fatalf("%s: %v\n%s\n%s", tbl.RuleText(c, r, false), err, Format(exprs), Format(again))
					}
				}
			}
		}
	}
}
