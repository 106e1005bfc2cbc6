package ext

import (
	"strings"
	"testing"
)

func TestLog(t *testing.T) {
	const n = 32
	checkExt(t, Target, "LOG", 0, []extCase{
		{in: "", hex: padHex("04", n), save: ""},
		{in: "--log-level debug --log-prefix x:", hex: padHex("0700 783a", n), save: `--log-prefix "x:" --log-level 7`},
		{in: "--log-level 4 --log-prefix abc", hex: padHex("0400 616263", n), save: "--log-prefix abc"},
		{in: `--log-level panic --log-prefix it"s\`, hex: padHex("0000 697422735c", n), save: `--log-prefix "it\"s\\" --log-level 0`},
		// iptables cuts prefixes to 29 characters.
		{in: "--log-prefix 0123456789012345678901234567890123456789", hex: "0400 3031323334353637383930313233343536373839303132333435363738 00",
			save: "--log-prefix 01234567890123456789012345678"},
		{in: "--log-tcp-sequence --log-tcp-options --log-ip-options --log-uid --log-macdecode --log-level error",
			hex: padHex("032f", n), save: "--log-level 3 --log-tcp-sequence --log-tcp-options --log-ip-options --log-uid --log-macdecode"},
		{in: "--log-macdecode --log-level 0x7", hex: padHex("0720", n), save: "--log-level 7 --log-macdecode"},
		{family: IPv6, in: "--log-prefix v6: --log-level alert --log-uid", hex: padHex("0108 76363a", n), save: `--log-prefix "v6:" --log-level 1 --log-uid`},
	})
	checkExtErrors(t, Target, "LOG", 0, IPv4, []string{
		"--log-level 8", "--log-level Debug", "--log-level -1", "--log-level 1 --log-level 2",
		"--log-prefix a --log-prefix b", "--log-uid --log-uid",
	})
	// An empty prefix (written "") is refused like iptables' minimum
	// length; a newline would break the log line.
	e := Lookup(Target, "LOG", 0, IPv4)
	for _, p := range []string{"", "a\nb"} {
		if _, err := ParseOptions(e, RuleInfo{Family: IPv4}, []string{"--log-prefix", p}); err == nil {
			t.Errorf("--log-prefix %q parsed, want an error", p)
		}
	}
	checkSaveRefused(t, Target, "LOG", 0, IPv4,
		padHex("08", n),                 // level out of range
		padHex("0410", n),               // XT_LOG_NFLOG
		"0400"+strings.Repeat("41", 30), // prefix without NUL
	)
}
