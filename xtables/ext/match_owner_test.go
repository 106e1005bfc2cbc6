package ext

import "testing"

// ownerNames are small passwd and group files: a user called "500"
// whose uid is 42, to show names win over numbers.
var ownerNames = fakeNames{
	users:         map[string]uint32{"root": 0, "daemon": 1, "500": 42},
	groups:        map[string]uint32{"root": 0, "wheel": 10},
	IPSetResolver: NoNames{},
}

func TestOwnerMatch(t *testing.T) {
	// Payloads and save text from iptables-legacy 1.8.9 (names resolved
	// from the real /etc/passwd there, where root is 0 and daemon is 1).
	checkExtWith(t, ownerNames, Match, "owner", 1, []extCase{
		{in: "--uid-owner 0", hex: "0000000000000000 0000000000000000 0100000000000000"},
		{in: "--uid-owner root", save: "--uid-owner 0", hex: "0000000000000000 0000000000000000 0100000000000000"},
		{in: "--uid-owner daemon", save: "--uid-owner 1", hex: "0100000001000000 0000000000000000 0100000000000000"},
		{in: "! --uid-owner 100-200 --gid-owner 5:6 --suppl-groups", save: "! --uid-owner 100-200 --gid-owner 5-6 --suppl-groups",
			hex: "64000000c8000000 0500000006000000 0b01000000000000"},
		{in: "--socket-exists", hex: "0000000000000000 0000000000000000 0400000000000000"},
		{in: "! --socket-exists --gid-owner root", save: "! --socket-exists --gid-owner 0",
			hex: "0000000000000000 0000000000000000 0604000000000000"},
		{in: "--gid-owner 0x10 ! --uid-owner 0", save: "! --uid-owner 0 --gid-owner 16",
			hex: "0000000000000000 1000000010000000 0301000000000000"},
		{in: "--uid-owner 4294967294", hex: "fefffffffeffffff 0000000000000000 0100000000000000"},
		{in: "--uid-owner 0x5-010", save: "--uid-owner 5-8", hex: "0500000008000000 0000000000000000 0100000000000000"},
		{in: "--uid-owner +5", save: "--uid-owner 5", hex: "0500000005000000 0000000000000000 0100000000000000"},
		// A user called "500" wins over uid 500, as with getpwnam.
		{in: "--uid-owner 500", save: "--uid-owner 42", hex: "2a0000002a000000 0000000000000000 0100000000000000"},
		{in: "--gid-owner 1 --suppl-groups", hex: "0000000000000000 0100000001000000 0a00000000000000"},
		{in: "--gid-owner wheel", save: "--gid-owner 10", hex: "0000000000000000 0a0000000a000000 0200000000000000"},
		{family: IPv6, in: "--uid-owner 5", hex: "0500000005000000 0000000000000000 0100000000000000"},
	})
	checkExtErrorsWith(t, ownerNames, Match, "owner", 1, IPv4, []string{
		"", "--suppl-groups --gid-owner 1", "--uid-owner 4294967295", "--uid-owner 5-3",
		"--uid-owner 0 --uid-owner 1", "! --suppl-groups --gid-owner 1", "--uid-owner nosuchuser",
		"--uid-owner 1-", "--uid-owner 1-2-3", "--uid-owner -1", "--gid-owner alice", "--uid-owner bad",
		"--socket-exists --socket-exists",
	})

	// Revision 0: unit tests only, the kernel no longer has it.
	checkExtWith(t, ownerNames, Match, "owner", 0, []extCase{
		{in: "--uid-owner daemon ! --gid-owner 7 --pid-owner 99 ! --sid-owner 3 --cmd-owner sshd",
			save: "--uid-owner 1 ! --gid-owner 7 --pid-owner 99 ! --sid-owner 3 --cmd-owner sshd",
			hex:  "01000000 07000000 63000000 03000000 73736864000000000000000000000000 1f0a 000000000000"},
		{in: "--cmd-owner abcdefghijklmnopq", save: "--cmd-owner abcdefghijklmno",
			hex: "00000000 00000000 00000000 00000000 6162636465666768696a6b6c6d6e6f00 1000 000000000000"},
		{family: IPv6, in: "--sid-owner 2147483647", hex: "00000000 00000000 00000000 ffffff7f 00000000000000000000000000000000 0800 000000000000"},
	})
	checkExtErrorsWith(t, ownerNames, Match, "owner", 0, IPv4, []string{"", "--uid-owner 1-2", "--pid-owner 2147483648", "--uid-owner 4294967295"})
	checkExtErrorsWith(t, ownerNames, Match, "owner", 0, IPv6, []string{"--cmd-owner sshd"})
}

func TestOwnerSaveRejectsUnknownFlags(t *testing.T) {
	e := Lookup(Match, "owner", 1, IPv4)
	data := make([]byte, 24)
	data[16] = 0x10
	if _, _, err := SaveText(e, RuleInfo{Family: IPv4}, data); err == nil {
		t.Error("owner: unknown match bit saved without error")
	}
}
