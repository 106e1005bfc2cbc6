package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hostwall/hostwall/xtables"
)

// TestKernelCheckRefusesBeforeWriting: rules the kernel refuses for the
// whole table (an extension outside its table or hooks, a loop) are
// refused when the file is read, at the file line and column of the -j
// or -m that is out of place, with how the chain is reached.
func TestKernelCheckRefusesBeforeWriting(t *testing.T) {
	head := "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:FILTERS - [0:0]\n:X - [0:0]\n:DOCKER-USER - [0:0]\n-A INPUT -j FILTERS\n"
	for _, tc := range []struct {
		name, rules string
		fam         *xtables.Family
		want        string // "" accepted; else "LINE:COL: text"
	}{
		{"DNAT in filter", "-A FILTERS -p tcp -j DNAT --to-destination 192.0.2.1\n", xtables.IPv4,
			"9:22: target DNAT is valid only in the nat table, not in filter"},
		{"DNAT in filter, IPv6", "-A FILTERS -p tcp -j DNAT --to-destination 2001:db8::1\n", xtables.IPv6,
			"9:22: target DNAT is valid only in the nat table, not in filter"},
		{"MASQUERADE in filter", "-A FILTERS -j MASQUERADE\n", xtables.IPv4, "9:15: target MASQUERADE is valid only in the nat table"},
		{"CT in filter", "-A FILTERS -j CT --notrack\n", xtables.IPv4, "9:15: target CT is valid only in the raw table"},
		{"owner from INPUT", "-A FILTERS -m owner --uid-owner 0 -j ACCEPT\n", xtables.IPv4,
			"9:15: match owner is valid only in chains reached from OUTPUT, POSTROUTING, not from INPUT; FILTERS is reached from INPUT: INPUT → FILTERS"},
		{"owner through a user chain", "-A FILTERS -j X\n-A X -m owner --uid-owner 0 -j ACCEPT\n", xtables.IPv4,
			"10:9: match owner is valid only in chains reached from OUTPUT, POSTROUTING, not from INPUT; X is reached from INPUT: INPUT → FILTERS → X"},
		{"owner from OUTPUT", "-A OUTPUT -j X\n-A X -m owner --uid-owner 0 -j ACCEPT\n", xtables.IPv4, ""},
		{"owner in an unreached chain", "-A X -m owner --uid-owner 0 -j ACCEPT\n", xtables.IPv4, ""},
		{"mac from DOCKER-USER: Docker's FORWARD", "-A DOCKER-USER -j X\n-A X -m mac --mac-source 00:11:22:33:44:55 -j DROP\n", xtables.IPv4, ""},
		{"owner from DOCKER-USER: Docker's FORWARD", "-A DOCKER-USER -i eth0 -j X\n-A X -m owner --uid-owner 0 -j DROP\n", xtables.IPv4,
			"not from FORWARD; X is reached from FORWARD: FORWARD → DOCKER-USER → X"},
		{"REJECT in filter", "-A FILTERS -j REJECT\n", xtables.IPv6, ""},
		{"policy --dir out from INPUT", "-A FILTERS -m policy --dir out --pol none -j ACCEPT\n", xtables.IPv4,
			"9:15: match policy --dir out is valid only in chains reached from FORWARD, OUTPUT, POSTROUTING, not from INPUT"},
		{"policy --dir in from INPUT", "-A FILTERS -m policy --dir in --pol ipsec -j ACCEPT\n", xtables.IPv6, ""},
		{"addrtype --limit-iface-out from INPUT", "-A FILTERS -m addrtype --dst-type LOCAL --limit-iface-out -j ACCEPT\n", xtables.IPv4,
			"match addrtype --limit-iface-out is valid only"},
		{"physdev-out from OUTPUT", "-A OUTPUT -m physdev --physdev-out eth0 -j ACCEPT\n", xtables.IPv4,
			"9:14: match physdev --physdev-out and --physdev-is-out without --physdev-is-bridged is valid only"},
		{"physdev-out bridged from OUTPUT", "-A OUTPUT -m physdev --physdev-is-bridged --physdev-out eth0 -j ACCEPT\n", xtables.IPv4, ""},
		{"TCPMSS without SYN", "-A FORWARD -p tcp -j TCPMSS --set-mss 1400\n", xtables.IPv4,
			"target TCPMSS works only on TCP SYN packets"},
		{"TCPMSS clamp from INPUT", "-A FILTERS -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\n", xtables.IPv4,
			"9:46: target TCPMSS --clamp-mss-to-pmtu is valid only in chains reached from FORWARD, OUTPUT, POSTROUTING, not from INPUT"},
		{"TCPMSS clamp in FORWARD", "-A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu\n", xtables.IPv6, ""},
		{"SYNPROXY from OUTPUT", "-A OUTPUT -p tcp -j SYNPROXY\n", xtables.IPv4, "target SYNPROXY is valid only in chains reached from INPUT, FORWARD, not from OUTPUT; the rule is in OUTPUT"},
		{"CLASSIFY from INPUT", "-A FILTERS -j CLASSIFY --set-class 1:1\n", xtables.IPv4, "target CLASSIFY is valid only"},
		{"loop", "-A FILTERS -j X\n-A X -g FILTERS\n", xtables.IPv4,
			"10:9: this jump to FILTERS makes a loop (FILTERS → X → FILTERS), which the kernel refuses"},
		{"loop nothing reaches", "-A X -j DOCKER-USER\n-A DOCKER-USER -j X\n-A INPUT -j ACCEPT\n", xtables.IPv4, "makes a loop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := head + tc.rules + "COMMIT\n"
			_, err := ReadDesired("f", []byte(text), DesiredOptions{Family: tc.fam})
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Errorf("accepted, want %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("got  %v\nwant f:%s", err, tc.want)
			}
		})
	}
	// Other tables: each extension where its module allows it.
	for _, tc := range []struct{ text, want string }{
		{"*nat\n:PREROUTING ACCEPT [0:0]\n:FILTERS - [0:0]\n-A PREROUTING -j FILTERS\n-A FILTERS -p tcp -j DNAT --to-destination 192.0.2.1\nCOMMIT\n", ""},
		{"*nat\n:POSTROUTING ACCEPT [0:0]\n:FILTERS - [0:0]\n-A POSTROUTING -j FILTERS\n-A FILTERS -p tcp -j DNAT --to-destination 192.0.2.1\nCOMMIT\n",
			"5:22: target DNAT is valid only in chains reached from PREROUTING, OUTPUT, not from POSTROUTING; FILTERS is reached from POSTROUTING: POSTROUTING → FILTERS"},
		{"*nat\n:FILTERS - [0:0]\n-A POSTROUTING -j FILTERS\n-A FILTERS -j MASQUERADE\nCOMMIT\n", ""},
		{"*raw\n:FILTERS - [0:0]\n-A PREROUTING -j FILTERS\n-A FILTERS -p tcp -j CT --helper ftp\n-A FILTERS -m rpfilter --invert -j DROP\nCOMMIT\n", ""},
		{"*mangle\n:FILTERS - [0:0]\n-A INPUT -j FILTERS\n-A FILTERS -m rpfilter -j DROP\nCOMMIT\n", "match rpfilter is valid only in chains reached from PREROUTING, not from INPUT"},
		{"*filter\n:FILTERS - [0:0]\n-A INPUT -j FILTERS\n-A FILTERS -m rpfilter -j DROP\nCOMMIT\n", "match rpfilter is valid only in the raw or mangle table, not in filter"},
		{"*mangle\n:FILTERS - [0:0]\n-A PREROUTING -j FILTERS\n-A FILTERS -p tcp -j TPROXY --on-port 1 --tproxy-mark 1\n-A FILTERS -j TTL --ttl-set 1\nCOMMIT\n", ""},
		{"*mangle\n:FILTERS - [0:0]\n-A FORWARD -j FILTERS\n-A FILTERS -p tcp -j TPROXY --on-port 1 --tproxy-mark 1\nCOMMIT\n", "not from FORWARD"},
		{"*filter\n:FILTERS - [0:0]\n-A INPUT -j FILTERS\n-A FILTERS -j TTL --ttl-set 1\nCOMMIT\n", "target TTL is valid only in the mangle table, not in filter"},
	} {
		_, err := ReadDesired("f", []byte(tc.text), DesiredOptions{Family: xtables.IPv4})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q refused: %v", tc.text, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: got %v, want %q", tc.text, err, tc.want)
		}
	}
}

// TestKernelCheckSeedFiles: the seed article's files pass.
func TestKernelCheckSeedFiles(t *testing.T) {
	files, _ := filepath.Glob("../integration/testdata/policy/*")
	if len(files) == 0 {
		t.Fatal("no seed files")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fam := xtables.IPv4
		if strings.HasSuffix(f, ".v6") {
			fam = xtables.IPv6
		}
		if _, err := ReadDesired(f, data, DesiredOptions{Family: fam}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestKernelCheckAccepted: the chains of the table the kernel holds
// (Accepted), unchanged and reached from no new hook, are not checked
// again; a chain reached from one more hook is.
func TestKernelCheckAccepted(t *testing.T) {
	build := func(text string) *xtables.Table {
		t.Helper()
		f, err := Parse("f", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		tb, err := Build(f.Tables[0], BuildOptions{Family: xtables.IPv4})
		if err != nil {
			t.Fatal(err)
		}
		return tb
	}
	// The owner match is refused from INPUT; this table has it there
	// (as if the kernel had not known better).
	held := build("*filter\n:X - [0:0]\n:Y - [0:0]\n-A INPUT -j X\n-A X -m owner --uid-owner 0 -j ACCEPT\n-A OUTPUT -j Y\n-A Y -m owner --uid-owner 0 -j ACCEPT\nCOMMIT\n")
	if len(CheckKernel(held, KernelCheckOptions{})) == 0 {
		t.Fatal("owner from INPUT not refused")
	}
	if p := CheckKernel(held, KernelCheckOptions{Accepted: held}); len(p) != 0 {
		t.Errorf("the table held, checked against itself: %v", p)
	}
	// The same rules, Y now reached from INPUT too.
	next := *held
	next.Chains = nil
	for _, c := range held.Chains {
		nc := *c
		if c.Name == "INPUT" {
			nc.Rules = append(append([]*xtables.Rule(nil), c.Rules...), &xtables.Rule{Target: xtables.Target{Chain: "Y"}})
		}
		next.Chains = append(next.Chains, &nc)
	}
	p := CheckKernel(&next, KernelCheckOptions{Accepted: held})
	if len(p) != 1 || p[0].Chain != "Y" {
		t.Errorf("Y reached from INPUT: got %v, want one problem in Y", p)
	}
}
