package xtables

import "testing"

// The numbers are gcc's sizeof/offsetof for the Linux 6.1 UAPI headers
// on amd64 (shared/notes/xtables-abi-and-peers.md §1.3); the Go side
// hand-lays these structs, so every size and offset is pinned here.
func TestStructSizes(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"ipt_getinfo", sizeofGetinfo, 84},
		{"ipt_get_entries", sizeofGetEntries, 40},
		{"ipt_replace", sizeofReplace, 96},
		{"xt_counters_info", sizeofCountersInfo, 40},
		{"xt_counters", sizeofCounters, 16},
		{"xt_entry_match", sizeofEntryHeader, 32},
		{"xt_standard_target", sizeofStandardTgt, 40},
		{"xt_error_target", sizeofErrorTgt, 64},
		{"xt_get_revision", sizeofGetRevision, 30},
		{"ipt_ip", sizeofIPTIP, 84},
		{"ipt_entry", sizeofIPTEntry, 112},
		{"ip6t_ip6", sizeofIP6TIP6, 136},
		{"ip6t_entry", sizeofIP6TEntry, 168},
		{"ipt_entry.target_offset", IPv4.offTargetOffset(), 88},
		{"ipt_entry.next_offset", IPv4.offNextOffset(), 90},
		{"ipt_entry.comefrom", IPv4.offComeFrom(), 92},
		{"ipt_entry.counters", IPv4.offCounters(), 96},
		{"ip6t_entry.target_offset", IPv6.offTargetOffset(), 140},
		{"ip6t_entry.counters", IPv6.offCounters(), 152},
		{"IPTCB_CHAIN_START_SIZE (v4)", IPv4.errorHeadLen, 176},
		{"user chain foot (v4)", IPv4.entrySize + sizeofStandardTgt, 152},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
	if IPv6.revMatch != 68 || IPv6.revTarget != 69 || IPv4.revMatch != 66 || IPv4.revTarget != 67 {
		t.Error("GET_REVISION option numbers: IPv4 66/67, IPv6 68/69")
	}
}
