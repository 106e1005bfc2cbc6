package xtables

// Header flag bits an nf_tables codec needs to read and set, since
// iptables-nft keeps the same rule header in memory as iptables-legacy.

// GotoFlag is the header Flags bit of -g (IPT_F_GOTO or IP6T_F_GOTO).
func (f *Family) GotoFlag() uint8 { return f.gotoFlag }

// FragFlag is the header Flags bit of -f (IPT_F_FRAG); 0 for IPv6,
// which has no -f.
func (f *Family) FragFlag() uint8 {
	if f.addrLen == 4 {
		return flagFrag4
	}
	return 0
}

// ProtoFlag is the header Flags bit ip6tables sets with -p (IP6T_F_PROTO);
// 0 for IPv4, whose header has no such bit.
func (f *Family) ProtoFlag() uint8 {
	if f.addrLen == 16 {
		return flagProto6
	}
	return 0
}
