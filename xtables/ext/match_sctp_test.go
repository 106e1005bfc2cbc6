package ext

import (
	"strings"
	"testing"
)

// sctpMap returns the 256-byte chunkmap whose first bytes are prefix (hex).
func sctpMap(prefix string) string {
	return prefix + strings.Repeat("0", 512-len(prefix))
}

// Payload: dpts, spts | chunkmap | match type, flag_info[4], flag_count,
// flags, invflags, padding.
func TestSCTP(t *testing.T) {
	checkExt(t, Match, "sctp", 0, []extCase{
		{family: IPv4, proto: 132, in: `--sport 0:65535 ! --dport 80 --chunk-types any DATA:Ie,INIT,ABORT:t`, hex: "500050000000ffff" + sctpMap("43000000") + "01000000 000809 060001 ff0000 ff0000 02000000 07000000 02000000 00000000"},
		{family: IPv4, proto: 132, in: `! --chunk-types only ALL`, hex: "0000000000000000" + strings.Repeat("ff", 256) + "04000000 ff0000 ff0000 ff0000 ff0000 00000000 04000000 04000000 00000000"},
		{family: IPv4, proto: 132, in: `--chunk-types all none`, hex: "0000000000000000" + sctpMap("") + "02000000 ff0000 ff0000 ff0000 ff0000 00000000 04000000 00000000 00000000", save: `--chunk-types all NONE`},
		{family: IPv4, proto: 132, in: `--chunk-types all I_DATA:I,INIT:-`, hex: "0000000000000000" + sctpMap("020000000000000001000000") + "02000000 0f0808 010080 ff0000 ff0000 02000000 04000000 00000000 00000000", save: `--chunk-types all INIT:-,I_DATA`},
		{family: IPv4, proto: 132, in: `--source-port 5 --destination-port 6:`, hex: "0600ffff05000500" + sctpMap("") + "00000000 ff0000 ff0000 ff0000 ff0000 00000000 03000000 00000000 00000000", save: `--sport 5 --dport 6:65535`},
		{family: IPv4, proto: 132, in: `! --sport :80`, hex: "0000000000005000" + sctpMap("") + "00000000 ff0000 ff0000 ff0000 ff0000 00000000 01000000 01000000 00000000", save: `! --sport 0:80`},
		{family: IPv4, proto: 132, in: `--chunk-types ANY data:iubE,Data:IU,shutdown_complete:T,abort:t,init_ack`, hex: "0000000000000000" + sctpMap("45400000") + "01000000 000d0f 0e0101 060001 ff0000 03000000 04000000 00000000 00000000", save: `--chunk-types any DATA:IUbE,INIT_ACK,ABORT:t,SHUTDOWN_COMPLETE:T`},
		{family: IPv4, proto: 132, in: `--chunk-types only RE_CONFIG,PAD,ASCONF,ASCONF_ACK,FORWARD_TSN,I_FORWARD_TSN,HEARTBEAT`, hex: "0000000000000000" + sctpMap("10000000000000000000000000000000150000000000000007000000") + "04000000 ff0000 ff0000 ff0000 ff0000 00000000 04000000 00000000 00000000", save: `--chunk-types only HEARTBEAT,ASCONF_ACK,RE_CONFIG,PAD,FORWARD_TSN,ASCONF,I_FORWARD_TSN`},
		{family: IPv4, proto: 132, in: ``, hex: "0000000000000000" + sctpMap("") + "00000000 ff0000 ff0000 ff0000 ff0000 00000000 00000000 00000000 00000000"},
		{family: IPv6, proto: 132, in: `--dport 1:2 --chunk-types any COOKIE_ECHO,COOKIE_ACK,ECN_ECNE,ECN_CWR,ERROR,SACK`, hex: "0100020000000000" + sctpMap("083e0000") + "01000000 ff0000 ff0000 ff0000 ff0000 00000000 06000000 00000000 00000000", save: `--dport 1:2 --chunk-types any SACK,ERROR,COOKIE_ECHO,COOKIE_ACK,ECN_ECNE,ECN_CWR`},
	})
	checkExtErrors(t, Match, "sctp", 0, IPv4, []string{
		"--sport 90:80", "--sport 70000", "--dport 1 --destination-port 2", "--chunk-types some DATA",
		"--chunk-types any BOGUS", "--chunk-types any DATA:X", "--chunk-types any INIT:I",
		"--chunk-types any DATA --chunk-types all INIT", "--chunk-types any -DATA", "--chunk-types any",
		"--chunk-types any DATA:I,ABORT:T,SHUTDOWN_COMPLETE:T,I_DATA:I,INIT:-",
	})
	e := Lookup(Match, "sctp", 0, IPv4)
	tail := func(matchType, flagInfo, flagCount string) string {
		return matchType + flagInfo + flagCount + "04000000 00000000 00000000"
	}
	noFlags := "ff0000 ff0000 ff0000 ff0000"
	for _, hx := range []string{
		"00000000 00000000" + sctpMap("") + tail("08000000", noFlags, "00000000"),                           // unknown match type
		"00000000 00000000" + sctpMap("00008000") + tail("01000000", noFlags, "00000000"),                   // chunk 15 has no name
		"00000000 00000000" + sctpMap(strings.Repeat("0", 64)+"01") + tail("01000000", noFlags, "00000000"), // beyond 255
		"00000000 00000000" + sctpMap("01") + tail("01000000", noFlags, "05000000"),                         // flag_count 5
	} {
		if _, _, err := SaveText(e, RuleInfo{Family: IPv4, Proto: 132}, mustHex(t, hx)); err == nil {
			t.Errorf("sctp save %s: want an error", hx)
		}
	}
}
