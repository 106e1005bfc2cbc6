package ext

import "testing"

// Rows were checked against iptables-legacy 1.8.9: the save text is what
// iptables-legacy-save printed and the payload what the kernel returned.
func TestMatchString(t *testing.T) {
	checkTokens(t, Match, "string", 1, []tokenCase{
		{IPv4, 0, []string{"--string", "abc", "--algo", "bm"}, "0000ffff626d z14 616263 z125 03 z11", " --string \"abc\" --algo bm"},
		{IPv4, 0, []string{"--algo", "kmp", "!", "--string", "GET /index.html", "--from", "40", "--to", "1000", "--icase"}, "2800e8036b6d70 z13 474554202f696e6465782e68746d6c z113 0f03 z10", " ! --string \"GET /index.html\" --algo kmp --from 40 --to 1000 --icase"},
		{IPv4, 0, []string{"--string", "a\"b\\c'd", "--algo", "bm"}, "0000ffff626d z14 6122625c632764 z121 07 z11", " --string \"a\\\"b\\\\c'd\" --algo bm"},
		{IPv4, 0, []string{"--string", "ab\\", "--algo", "kmp"}, "0000ffff6b6d70 z13 61625c z125 03 z11", " --hex-string \"|61625c|\" --algo kmp"},
		{IPv4, 0, []string{"--hex-string", "|41 42|c|0d0a|", "--algo", "bm", "--icase"}, "0000ffff626d z14 4142630d0a z123 0502 z10", " --hex-string \"|4142630d0a|\" --algo bm --icase"},
		{IPv4, 0, []string{"--hex-string", "|41||42|", "--algo", "bm"}, "0000ffff626d z14 417c3432 z124 04 z11", " --string \"A|42\" --algo bm"},
		{IPv4, 0, []string{"--hex-string", "a\\|b", "--algo", "bm"}, "0000ffff626d z14 617c62 z125 03 z11", " --string \"a|b\" --algo bm"},
		{IPv4, 0, []string{"!", "--hex-string", "|00ff7f|", "--algo", "bm", "--to", "100"}, "00006400626d z15 ff7f z125 0301 z10", " ! --hex-string \"|00ff7f|\" --algo bm --to 100"},
		{IPv4, 0, []string{"--hex-string", "|7e 20 21|", "--algo", "bm"}, "0000ffff626d z14 7e2021 z125 03 z11", " --string \"~ !\" --algo bm"},
		{IPv4, 0, []string{"--string", "abc", "--algo", "bm", "--from", "10", "--to", "10"}, "0a000a00626d z14 616263 z125 03 z11", " --string \"abc\" --algo bm --from 10 --to 10"},
		{IPv4, 0, []string{"--string", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "--algo", "bm"}, "0000ffff626d z14 787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787880 z11", " --string \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\" --algo bm"},
		{IPv6, 0, []string{"--string", "abc", "--algo", "bm"}, "0000ffff626d z14 616263 z125 03 z11", " --string \"abc\" --algo bm"},
	})
	checkTokenErrors(t, Match, "string", 1, []badTokens{
		{IPv4, []string{"--string", "", "--algo", "bm"}},
		{IPv4, []string{"--string", "abc", "--algo", "bm", "--from", "10", "--to", "5"}},
		{IPv4, []string{"--string", "abc", "--algo", "wrong"}},
		{IPv4, []string{"--string", "abc"}},
		{IPv4, []string{"--algo", "bm"}},
		{IPv4, []string{"--string", "abc", "--hex-string", "|41|", "--algo", "bm"}},
		{IPv4, []string{"--hex-string", "|4|", "--algo", "bm"}},
		{IPv4, []string{"--hex-string", "|41", "--algo", "bm"}},
		{IPv4, []string{"--hex-string", "|4g|", "--algo", "bm"}},
		{IPv4, []string{"--hex-string", "ab\\", "--algo", "bm"}},
		{IPv4, []string{"--string", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "--algo", "bm"}},
	})
}
