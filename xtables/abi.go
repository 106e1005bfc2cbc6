package xtables

import (
	"fmt"

	"github.com/hostwall/hostwall/xtables/ext"
)

// Socket options (linux/netfilter_ipv4/ip_tables.h, ..._ipv6/ip6_tables.h).
const (
	soSetReplace        = 64 // IPT_SO_SET_REPLACE, IP6T_SO_SET_REPLACE
	soSetAddCounters    = 65 // IPT_SO_SET_ADD_COUNTERS
	soGetInfo           = 64 // IPT_SO_GET_INFO
	soGetEntries        = 65 // IPT_SO_GET_ENTRIES
	iptGetRevisionMatch = 66 // IPT_SO_GET_REVISION_MATCH
	iptGetRevisionTgt   = 67 // IPT_SO_GET_REVISION_TARGET
	ip6GetRevisionMatch = 68 // IP6T_SO_GET_REVISION_MATCH: not 66, IPv6 differs
	ip6GetRevisionTgt   = 69 // IP6T_SO_GET_REVISION_TARGET
)

// Sizes of the kernel structs on 64-bit Linux, asserted in abi_test.go
// against the figures gcc gives for the UAPI headers.
const (
	sizeofGetinfo      = 84  // struct ipt_getinfo / ip6t_getinfo
	sizeofGetEntries   = 40  // struct ipt_get_entries (entries follow)
	sizeofReplace      = 96  // struct ipt_replace (entries follow)
	sizeofCountersInfo = 40  // struct xt_counters_info (counters follow)
	sizeofCounters     = 16  // struct xt_counters
	sizeofEntryHeader  = 32  // struct xt_entry_match / xt_entry_target
	sizeofStandardTgt  = 40  // struct xt_standard_target: header + int verdict + pad
	sizeofErrorTgt     = 64  // struct xt_error_target: header + char[30] + pad
	sizeofGetRevision  = 30  // struct xt_get_revision
	tableNameLen       = 32  // XT_TABLE_MAXNAMELEN
	extNameLen         = 29  // XT_EXTENSION_MAXNAMELEN
	errorNameLen       = 30  // XT_FUNCTION_MAXNAMELEN
	ifNameSize         = 16  // IFNAMSIZ
	numHooks           = 5   // NF_INET_NUMHOOKS
	sizeofIPTEntry     = 112 // struct ipt_entry
	sizeofIP6TEntry    = 168 // struct ip6t_entry
	sizeofIPTIP        = 84  // struct ipt_ip
	sizeofIP6TIP6      = 136 // struct ip6t_ip6
)

// MaxChainName is the longest chain name iptables accepts
// (XT_EXTENSION_MAXNAMELEN - 1).
const MaxChainName = 28

// Standard verdicts as the kernel stores them in xt_standard_target:
// -NF_x - 1 for built-in verdicts, a byte offset for a jump.
const (
	VerdictDrop   int32 = -1 // -NF_DROP - 1
	VerdictAccept int32 = -2 // -NF_ACCEPT - 1
	VerdictQueue  int32 = -4 // -NF_QUEUE - 1
	VerdictReturn int32 = -5 // XT_RETURN, -NF_REPEAT - 1
	// VerdictContinue is hostwall's mark for a rule with no target: the
	// kernel gets a jump to the next entry, which libiptc calls FALLTHROUGH.
	VerdictContinue int32 = 1<<31 - 1
)

// Header flags and inversion bits of ipt_ip / ip6t_ip6.
const (
	InvIn    = 0x01 // IPT_INV_VIA_IN
	InvOut   = 0x02 // IPT_INV_VIA_OUT
	InvSrc   = 0x08 // IPT_INV_SRCIP
	InvDst   = 0x10 // IPT_INV_DSTIP
	InvFrag  = 0x20 // IPT_INV_FRAG (IPv4 only)
	InvProto = 0x40 // XT_INV_PROTO

	flagFrag4  = 0x01 // IPT_F_FRAG
	flagGoto4  = 0x02 // IPT_F_GOTO
	flagProto6 = 0x01 // IP6T_F_PROTO: ip6tables-legacy sets it with -p
	flagTOS6   = 0x02 // IP6T_F_TOS
	flagGoto6  = 0x04 // IP6T_F_GOTO
)

// Hooks (NF_INET_*), the order built-in chains take in a table.
const (
	HookPreRouting = iota
	HookInput
	HookForward
	HookOutput
	HookPostRouting
)

var hookNames = [numHooks]string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}

// HookName is the built-in chain name of a hook.
func HookName(h int) string { return hookNames[h] }

// Family selects IPv4 (iptables) or IPv6 (ip6tables): the entry layout,
// the socket and the option numbers differ, the blob format does not.
type Family struct {
	Ext          ext.Family
	Name         string // "IPv4"
	entrySize    int    // sizeof(ipt_entry) or sizeof(ip6t_entry)
	ipSize       int    // sizeof(ipt_ip) or sizeof(ip6t_ip6)
	addrLen      int    // 4 or 16
	level        int    // SOL_IP or SOL_IPV6
	af           int    // AF_INET or AF_INET6
	revMatch     int
	revTarget    int
	gotoFlag     uint8
	tablesNames  string // /proc file listing the loaded tables
	saveProgram  string // as iptables-save names itself in its header
	errorHeadLen int    // entry + error target: a user chain's head
}

// IPv4 and IPv6 are the two families x_tables serves for hostwall.
var (
	IPv4 = &Family{
		Ext: ext.IPv4, Name: "IPv4", entrySize: sizeofIPTEntry, ipSize: sizeofIPTIP, addrLen: 4,
		level: 0 /* SOL_IP */, af: 2 /* AF_INET */, revMatch: iptGetRevisionMatch, revTarget: iptGetRevisionTgt,
		gotoFlag: flagGoto4, tablesNames: "/proc/net/ip_tables_names", saveProgram: "iptables-save",
	}
	IPv6 = &Family{
		Ext: ext.IPv6, Name: "IPv6", entrySize: sizeofIP6TEntry, ipSize: sizeofIP6TIP6, addrLen: 16,
		level: 41 /* SOL_IPV6 */, af: 10 /* AF_INET6 */, revMatch: ip6GetRevisionMatch, revTarget: ip6GetRevisionTgt,
		gotoFlag: flagGoto6, tablesNames: "/proc/net/ip6_tables_names", saveProgram: "ip6tables-save",
	}
)

func init() {
	IPv4.errorHeadLen = IPv4.entrySize + sizeofErrorTgt
	IPv6.errorHeadLen = IPv6.entrySize + sizeofErrorTgt
}

func (f *Family) String() string { return f.Name }

// Entry field offsets. The IP header part differs between families; the
// fields after it keep their order, at offsets relative to ipSize.
func (f *Family) offNFCache() int      { return f.ipSize }
func (f *Family) offTargetOffset() int { return f.ipSize + 4 }
func (f *Family) offNextOffset() int   { return f.ipSize + 6 }
func (f *Family) offComeFrom() int     { return f.ipSize + 8 }
func (f *Family) offCounters() int     { return f.entrySize - sizeofCounters }

// FamilyByName returns IPv4 for "4"/"ipv4" and IPv6 for "6"/"ipv6".
func FamilyByName(s string) (*Family, error) {
	switch s {
	case "4", "ipv4", "IPv4":
		return IPv4, nil
	case "6", "ipv6", "IPv6":
		return IPv6, nil
	}
	return nil, fmt.Errorf("unknown family %q", s)
}

// tableHooks lists the hooks each standard table is registered on; a
// table's valid_hooks must match it exactly on replace.
var tableHooks = map[string][]int{
	"filter":   {HookInput, HookForward, HookOutput},
	"nat":      {HookPreRouting, HookInput, HookOutput, HookPostRouting},
	"mangle":   {HookPreRouting, HookInput, HookForward, HookOutput, HookPostRouting},
	"raw":      {HookPreRouting, HookOutput},
	"security": {HookInput, HookForward, HookOutput},
}

// TableHooks lists the hooks of a standard table, nil for an unknown one.
func TableHooks(table string) []int { return tableHooks[table] }

// IsStandardVerdictName reports whether s is a built-in verdict name.
func IsStandardVerdictName(s string) bool { return verdictByName(s) != 0 }

// BuiltinNames lists the built-in chains of a standard table.
func BuiltinNames(table string) []string {
	var out []string
	for _, h := range tableHooks[table] {
		out = append(out, hookNames[h])
	}
	return out
}

// NativeEndian is the byte order of the kernel's host-order fields.
var NativeEndian = ne
