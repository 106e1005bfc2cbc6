package nft

import (
	"encoding/binary"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/xtables"
)

// Batch is one nf_tables transaction being built: its messages are sent
// together between BATCH_BEGIN and BATCH_END and the kernel applies all
// of them or none. Each message may carry what a caller wants told back
// when the kernel refuses it (Refused).
type Batch struct {
	msgs []netlink.Message
	// what[i] describes msgs[i] for error messages, or where[i] does
	// (NewRule.Where); ref[i] is the caller's own reference to it
	// (NewRule.Ref), nil for most.
	what  []string
	where []fmt.Stringer
	ref   []any
	// nextID numbers rules created in the batch (NFTA_RULE_ID).
	nextID uint32
}

// Len is the number of messages in the batch.
func (b *Batch) Len() int { return len(b.msgs) }

// Empty reports whether the batch holds no message.
func (b *Batch) Empty() bool { return len(b.msgs) == 0 }

func (b *Batch) add(typ uint16, flags netlink.HeaderFlags, family byte, attrs []byte, what string) {
	data := make([]byte, nfgenmsgLen, nfgenmsgLen+len(attrs))
	data[0] = family
	data[1] = nfnetlinkV0
	data = append(data, attrs...)
	b.msgs = append(b.msgs, netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(nftMsgType | typ), Flags: netlink.Request | flags},
		Data:   data,
	})
	b.what = append(b.what, what)
	b.where = append(b.where, nil)
	b.ref = append(b.ref, nil)
}

// describe names message i for an error.
func (b *Batch) describe(i int) string {
	if b.what[i] == "" && b.where[i] != nil {
		return b.where[i].String()
	}
	return b.what[i]
}

func encoder() *netlink.AttributeEncoder {
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	return ae
}

func mustEncode(ae *netlink.AttributeEncoder) []byte {
	b, err := ae.Encode()
	if err != nil {
		// Only attribute values over 64 KiB fail, and none built here
		// can be: names are bounded, expressions are checked by Rule.
		panic(fmt.Sprintf("nft: encode attributes: %v", err))
	}
	return b
}

// AddTable creates a table if it does not exist (NLM_F_CREATE, as
// iptables-nft sends it).
func (b *Batch) AddTable(family byte, name string) {
	ae := encoder()
	ae.String(unix.NFTA_TABLE_NAME, name)
	ae.Uint32(unix.NFTA_TABLE_FLAGS, 0)
	b.add(unix.NFT_MSG_NEWTABLE, netlink.Create, family, mustEncode(ae), "table "+name)
}

// DelTable deletes a table and everything in it.
func (b *Batch) DelTable(family byte, name string) {
	ae := encoder()
	ae.String(unix.NFTA_TABLE_NAME, name)
	b.add(unix.NFT_MSG_DELTABLE, 0, family, mustEncode(ae), "table "+name)
}

// AddChain creates a user chain; it fails if the chain exists
// (NLM_F_EXCL, as iptables-nft -N).
func (b *Batch) AddChain(family byte, table, name string) {
	ae := encoder()
	ae.String(unix.NFTA_CHAIN_TABLE, table)
	ae.String(unix.NFTA_CHAIN_NAME, name)
	b.add(unix.NFT_MSG_NEWCHAIN, netlink.Create|netlink.Excl, family, mustEncode(ae), "chain "+name)
}

// AddBaseChain creates a base chain, or updates its policy and counters
// if it exists (NLM_F_CREATE without EXCL). counters nil sends none: the
// chain then counts nothing, as iptables-nft 1.8.9 creates a builtin on
// -A or -I.
func (b *Batch) AddBaseChain(family byte, table, name string, base BaseChain, counters *xtables.Counters) {
	ae := encoder()
	ae.String(unix.NFTA_CHAIN_TABLE, table)
	ae.String(unix.NFTA_CHAIN_NAME, name)
	ae.Nested(unix.NFTA_CHAIN_HOOK, func(nae *netlink.AttributeEncoder) error {
		nae.Uint32(unix.NFTA_HOOK_HOOKNUM, base.Hook)
		nae.Uint32(unix.NFTA_HOOK_PRIORITY, uint32(base.Priority))
		return nil
	})
	ae.Uint32(unix.NFTA_CHAIN_POLICY, base.Policy)
	ae.String(unix.NFTA_CHAIN_TYPE, base.Type)
	if counters != nil {
		encodeCounters(ae, *counters)
	}
	b.add(unix.NFT_MSG_NEWCHAIN, netlink.Create, family, mustEncode(ae), "chain "+name)
}

// SetChainPolicy updates an existing base chain's policy and, when
// counters is not nil, its counters.
func (b *Batch) SetChainPolicy(family byte, table, name string, policy uint32, counters *xtables.Counters) {
	ae := encoder()
	ae.String(unix.NFTA_CHAIN_TABLE, table)
	ae.String(unix.NFTA_CHAIN_NAME, name)
	ae.Uint32(unix.NFTA_CHAIN_POLICY, policy)
	if counters != nil {
		encodeCounters(ae, *counters)
	}
	b.add(unix.NFT_MSG_NEWCHAIN, netlink.Create, family, mustEncode(ae), "policy of "+name)
}

func encodeCounters(ae *netlink.AttributeEncoder, c xtables.Counters) {
	ae.Nested(unix.NFTA_CHAIN_COUNTERS, func(nae *netlink.AttributeEncoder) error {
		nae.Uint64(unix.NFTA_COUNTER_BYTES, c.Bytes)
		nae.Uint64(unix.NFTA_COUNTER_PACKETS, c.Packets)
		return nil
	})
}

// DelChain deletes an empty, unreferenced chain.
func (b *Batch) DelChain(family byte, table, name string) {
	ae := encoder()
	ae.String(unix.NFTA_CHAIN_TABLE, table)
	ae.String(unix.NFTA_CHAIN_NAME, name)
	b.add(unix.NFT_MSG_DELCHAIN, 0, family, mustEncode(ae), "chain "+name)
}

// FlushChain deletes every rule of a chain (iptables -F).
func (b *Batch) FlushChain(family byte, table, chain string) {
	ae := encoder()
	ae.String(unix.NFTA_RULE_TABLE, table)
	ae.String(unix.NFTA_RULE_CHAIN, chain)
	b.add(unix.NFT_MSG_DELRULE, 0, family, mustEncode(ae), "flush of "+chain)
}

// DelRule deletes one rule by handle.
func (b *Batch) DelRule(family byte, table, chain string, handle uint64, what string) {
	ae := encoder()
	ae.String(unix.NFTA_RULE_TABLE, table)
	ae.String(unix.NFTA_RULE_CHAIN, chain)
	ae.Uint64(unix.NFTA_RULE_HANDLE, handle)
	b.add(unix.NFT_MSG_DELRULE, 0, family, mustEncode(ae), what)
}

// Placement says where a new rule goes in its chain.
type Placement struct {
	// Before and After name an existing rule by handle; at most one is
	// set. Neither: the rule is appended (Append) or put first.
	Before, After uint64
	Append        bool
}

// NewRule is a rule to create.
type NewRule struct {
	Family byte
	Table  string
	Chain  string
	// Exprs is the content of NFTA_RULE_EXPRESSIONS.
	Exprs    []byte
	Compat   Compat
	UserData []byte
	At       Placement
	// What names the rule in an error: where it came from. Where does
	// when What is empty; its String is called only for an error, which
	// spares a restore of many rules a string per rule.
	What  string
	Where fmt.Stringer
	// Ref is the caller's own reference to the rule (where its rules
	// file wrote it, say), handed back as RefusedError.Ref when the
	// kernel refuses it.
	Ref any
}

// AddRule adds a rule. It returns the rule's NFTA_RULE_ID, by which
// later messages of the same batch could refer to it.
//
// Like every attribute built here, the expressions and the userdata must
// fit a netlink attribute's 16-bit length: larger ones panic, as they
// did when an attribute encoder built the rule (MarshalExprs checks
// each expression, not their sum).
func (b *Batch) AddRule(r NewRule) uint32 {
	checkAttrLen("expressions", len(r.Exprs))
	checkAttrLen("userdata", len(r.UserData))
	b.nextID++
	// Written straight into the message: a restore adds every rule of
	// the table here.
	size := nfgenmsgLen + attrSize(len(r.Table)+1) + attrSize(len(r.Chain)+1) + attrSize(len(r.Exprs)) +
		attrHeaderLen + 2*attrSize(4) + attrSize(len(r.UserData)) + attrSize(4) + attrSize(8)
	data := make([]byte, nfgenmsgLen, size)
	data[0] = r.Family
	data[1] = nfnetlinkV0
	data = appendStringAttr(data, unix.NFTA_RULE_TABLE, r.Table)
	data = appendStringAttr(data, unix.NFTA_RULE_CHAIN, r.Chain)
	data = appendBytesAttr(data, unix.NFTA_RULE_EXPRESSIONS|attrNested, r.Exprs)
	data = appendAttrHeader(data, unix.NFTA_RULE_COMPAT|attrNested, attrHeaderLen+2*attrSize(4))
	data = appendU32Attr(data, unix.NFTA_RULE_COMPAT_PROTO, r.Compat.Proto)
	data = appendU32Attr(data, unix.NFTA_RULE_COMPAT_FLAGS, r.Compat.Flags)
	if len(r.UserData) > 0 {
		data = appendBytesAttr(data, unix.NFTA_RULE_USERDATA, r.UserData)
	}
	data = appendU32Attr(data, unix.NFTA_RULE_ID, b.nextID)
	flags := netlink.Create
	switch {
	case r.At.Before != 0:
		data = appendU64Attr(data, unix.NFTA_RULE_POSITION, r.At.Before)
	case r.At.After != 0:
		data = appendU64Attr(data, unix.NFTA_RULE_POSITION, r.At.After)
		flags |= netlink.Append
	case r.At.Append:
		flags |= netlink.Append
	}
	b.msgs = append(b.msgs, netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(nftMsgType | unix.NFT_MSG_NEWRULE), Flags: netlink.Request | flags},
		Data:   data,
	})
	b.what = append(b.what, r.What)
	b.where = append(b.where, r.Where)
	b.ref = append(b.ref, r.Ref)
	return b.nextID
}

// checkAttrLen panics when n bytes of data are too many for one netlink
// attribute, whose length (header included) is 16 bits.
func checkAttrLen(what string, n int) {
	if n > 0xffff-attrHeaderLen {
		panic(fmt.Sprintf("nft: encode attributes: %s of %d bytes are too large to fit in a netlink attribute", what, n))
	}
}

// appendStringAttr appends a NUL-terminated string attribute.
func appendStringAttr(b []byte, typ uint16, s string) []byte {
	b = appendAttrHeader(b, typ, attrHeaderLen+len(s)+1)
	b = append(b, s...)
	return pad(append(b, 0))
}

// appendBytesAttr appends an attribute holding d.
func appendBytesAttr(b []byte, typ uint16, d []byte) []byte {
	b = appendAttrHeader(b, typ, attrHeaderLen+len(d))
	return pad(append(b, d...))
}

// appendU32Attr appends an attribute holding v, big-endian.
func appendU32Attr(b []byte, typ uint16, v uint32) []byte {
	b = appendAttrHeader(b, typ, attrHeaderLen+4)
	return binary.BigEndian.AppendUint32(b, v)
}

// appendU64Attr appends an attribute holding v, big-endian.
func appendU64Attr(b []byte, typ uint16, v uint64) []byte {
	b = appendAttrHeader(b, typ, attrHeaderLen+8)
	return binary.BigEndian.AppendUint64(b, v)
}

// Compat is NFTA_RULE_COMPAT, which iptables-nft sends with every rule:
// the rule's -p protocol and whether it is inverted. nft_compat hands it
// to xtables extensions as ipt_ip.proto and invflags; the kernel never
// dumps it back, so it is recomputed from the rule on every write.
type Compat struct {
	Proto uint32
	Flags uint32 // NFT_RULE_COMPAT_F_INV (2) for "! -p"
}
