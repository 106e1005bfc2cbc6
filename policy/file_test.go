package policy

import (
	"strings"
	"testing"

	"github.com/hostwall/hostwall/xtables"
)

func TestTokenize(t *testing.T) {
	for in, want := range map[string]string{
		`-A X -m comment --comment "allow ssh" -j ACCEPT`: `-A|X|-m|comment|--comment|allow ssh|-j|ACCEPT`,
		`-A X --comment "a \"b\" c"`:                      `-A|X|--comment|a "b" c`,
		`-A X --comment ""`:                               `-A|X|--comment|`,
		"  -A\tX  ":                                       `-A|X`,
		`-A X --log-prefix "[UFW BLOCK] "`:                `-A|X|--log-prefix|[UFW BLOCK] `,
	} {
		toks, _, err := tokenize(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got := strings.Join(toks, "|"); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
	if _, _, err := tokenize(`-A X --comment "open`); err == nil {
		t.Error("unterminated quote accepted")
	}
}

const seedV4 = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:FILTERS - [0:0]
:DOCKER-USER - [0:0]

# allow forwarding connections
-F FORWARD
-A FORWARD -j ACCEPT
-F INPUT
-A INPUT -j FILTERS
-F DOCKER-USER
-A DOCKER-USER -i eth0 -j FILTERS
-F FILTERS
-A FILTERS -i lo -j ACCEPT
-A FILTERS -m state --state RELATED,ESTABLISHED -j ACCEPT
-A FILTERS -m conntrack --ctstate INVALID -j DROP
-A FILTERS -s 127.0.0.0/8 ! -i lo -j DROP
-A FILTERS -p icmp -j ACCEPT
-A FILTERS -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
-A FILTERS -j REJECT
COMMIT
`

func TestBuildSeed(t *testing.T) {
	f, err := Parse("rules.v4", []byte(seedV4))
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := Build(f.Tables[0], BuildOptions{Family: xtables.IPv4})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := xtables.Save(&b, tbl, xtables.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		":DOCKER-USER - [0:0]\n:FILTERS - [0:0]\n",
		"-A DOCKER-USER -i eth0 -j FILTERS\n",
		"-A FILTERS -m state --state RELATED,ESTABLISHED -j ACCEPT\n",
		"-A FILTERS -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT\n",
		"-A FILTERS -j REJECT --reject-with icmp-port-unreachable\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("built table lacks %q:\n%s", want, b.String())
		}
	}
}

// TestErrors: every malformed file is refused with the file, line and
// column of the mistake and a word on what was expected.
func TestErrors(t *testing.T) {
	head := "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:FILTERS - [0:0]\n"
	for _, c := range []struct{ file, want string }{
		{head + "-A FILTERS -s 10.0.0.0/33 -j DROP\nCOMMIT\n", "f:6:15: -s: invalid prefix length"},
		{head + "-A FILTERS -p tcp --dport 70000 -j DROP\nCOMMIT\n", "f:6:19: match tcp: --dport"},
		{head + "-A FILTERS --bogus 1 -j DROP\nCOMMIT\n", `f:6:12: unknown option "--bogus"`},
		{head + "-A FILTERS -j NOWHERE\nCOMMIT\n", `f:6:15: "NOWHERE" is neither a chain`},
		{head + "-A FILTERS -j ACCEPT\n", "f:1: table filter is never committed"},
		{head + "-A MISSING -j ACCEPT\nCOMMIT\n", "f:6:1: -A MISSING: no chain MISSING"},
		{head + "-A FILTERS -j ACCEPT\x00\nCOMMIT\n", "f:6: NUL byte"},
		{head + "-A FILTERS -m comment --comment " + strings.Repeat("x", 300) + "\nCOMMIT\n", "comment too long"},
		{head + "-A FILTERS -m tcp --dport 22\nCOMMIT\n", `needs "-p tcp"`},
		{head + "-A FILTERS -i " + strings.Repeat("e", 16) + "\nCOMMIT\n", "interface name"},
		{head + ":" + strings.Repeat("C", 29) + " - [0:0]\nCOMMIT\n", "must be 1 to 28 characters"},
		{head + "-A FILTERS -s ! 1.2.3.4\nCOMMIT\n", `"!" goes before the option`},
		{head + "-A FILTERS -m nosuch\nCOMMIT\n", `unknown match "nosuch"`},
		{head + ":INPUT BOGUS [0:0]\nCOMMIT\n", "bad policy"},
		{head + ":FILTERS - [0:0]\nCOMMIT\n", "declared twice"},
		{"-A INPUT -j ACCEPT\n", "f:1: \"-A INPUT -j ACCEPT\" outside a table"},
		{"*nosuchtable\nCOMMIT\n", "f:1:2: unknown table"},
		{head + "-A FILTERS -p tcp --syn --syn\nCOMMIT\n", "can only be used once"},
		{head + "-Q FILTERS\nCOMMIT\n", `unknown command "-Q"`},
		{head + strings.Repeat("x", MaxLine+10) + "\nCOMMIT\n", "line longer than"},
		{head + "[1:x] -A FILTERS\nCOMMIT\n", "bad counters"},
	} {
		err := parseAndBuild("f", c.file)
		if err == nil {
			t.Errorf("accepted %q", clip(c.file[len(head)-min(len(head), len(c.file)):]))
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %q, want it to contain %q", err, c.want)
		}
	}
}

func parseAndBuild(name, data string) error {
	f, err := Parse(name, []byte(data))
	if err != nil {
		return err
	}
	for _, b := range f.Tables {
		if _, err := Build(b, BuildOptions{Family: xtables.IPv4}); err != nil {
			return err
		}
	}
	return nil
}

// FuzzParseFile: no input panics the file parser or the builder.
func FuzzParseFile(f *testing.F) {
	f.Add(seedV4)
	f.Add("*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.1:8080\nCOMMIT\n")
	f.Fuzz(func(t *testing.T, data string) {
		_ = parseAndBuild("fuzz", data)
	})
}
