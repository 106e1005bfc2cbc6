package nft

import (
	"encoding/binary"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/xtables"
)

// Attribute numbers of the nf_tables UAPI (include/uapi/linux/netfilter/
// nf_tables.h) that golang.org/x/sys/unix does not name.
const (
	attrTableHandle     = 4  // NFTA_TABLE_HANDLE
	attrChainFlags      = 10 // NFTA_CHAIN_FLAGS
	attrRulePositionID  = 10 // NFTA_RULE_POSITION_ID
	subsysNFTables      = 10 // NFNL_SUBSYS_NFTABLES
	subsysNFTCompat     = 11 // NFNL_SUBSYS_NFT_COMPAT
	msgCompatGet        = 0  // NFNL_MSG_COMPAT_GET
	msgBatchBegin       = 0x10
	msgBatchEnd         = 0x11
	chainFlagBase       = 1 // NFT_CHAIN_BASE
	compatAttrName      = 1 // NFTA_COMPAT_NAME
	compatAttrRev       = 2 // NFTA_COMPAT_REV
	compatAttrType      = 3 // NFTA_COMPAT_TYPE
	nfgenmsgLen         = 4
	nfnetlinkV0         = 0
	nftMsgType          = subsysNFTables << 8
	nftCompatMsgType    = subsysNFTCompat << 8
	familyUnspec        = unix.AF_UNSPEC
	attrNested          = unix.NLA_F_NESTED
	verdictAccept       = 1 // NF_ACCEPT, a base chain's policy
	verdictDrop         = 0 // NF_DROP
	nftRuleCompatInvert = 2 // NFT_RULE_COMPAT_F_INV
)

// Family numbers of the nf_tables tables hostwall reads and writes: the
// NFPROTO values, which are also xtables' ext.Family.
const (
	IPv4 byte = unix.NFPROTO_IPV4
	IPv6 byte = unix.NFPROTO_IPV6
)

// FamilyOf is the nf_tables family of an x_tables family.
func FamilyOf(f *xtables.Family) byte { return byte(f.Ext) }

// Table is an nf_tables table as the kernel reports it.
type Table struct {
	Family byte
	Name   string
	Flags  uint32
	Use    uint32
	Handle uint64
}

// BaseChain is what makes a chain a base chain: its hook, priority, type
// and policy.
type BaseChain struct {
	Hook     uint32
	Priority int32
	Type     string // filter, nat, route
	Policy   uint32 // NF_ACCEPT (1) or NF_DROP (0)
}

// Chain is an nf_tables chain as the kernel reports it.
type Chain struct {
	Family byte
	Table  string
	Name   string
	Handle uint64
	// Use counts the chain's rules plus the references to it (jumps and
	// gotos): the references are Use minus the number of rules.
	Use   uint32
	Flags uint32
	// Base is nil for a user (non-base) chain.
	Base *BaseChain
	// Counters are the base chain's policy counters; nil when the chain
	// counts nothing (iptables-nft 1.8.9 creates some builtins so).
	Counters *xtables.Counters
}

// Rule is an nf_tables rule as the kernel reports it, its expressions
// kept as the kernel's bytes so that a rule hostwall cannot decode is
// still known exactly.
type Rule struct {
	Family byte
	Table  string
	Chain  string
	Handle uint64
	// Position is the handle of the rule before it, 0 for the first.
	Position uint64
	// Exprs is the content of NFTA_RULE_EXPRESSIONS.
	Exprs    []byte
	UserData []byte
}

// DecodeError is a kernel answer hostwall cannot read.
type DecodeError struct {
	What string
	Err  error
}

func (e *DecodeError) Error() string { return fmt.Sprintf("decode %s: %v", e.What, e.Err) }
func (e *DecodeError) Unwrap() error { return e.Err }

func decodeErr(what string, err error) error { return &DecodeError{What: what, Err: err} }

// genmsg splits a reply into its nfgenmsg and attributes.
func genmsg(m netlink.Message) (family byte, resID uint16, attrs []byte, err error) {
	if len(m.Data) < nfgenmsgLen {
		return 0, 0, nil, fmt.Errorf("message of %d bytes has no nfgenmsg", len(m.Data))
	}
	return m.Data[0], binary.BigEndian.Uint16(m.Data[2:4]), m.Data[nfgenmsgLen:], nil
}

func decodeTable(m netlink.Message) (*Table, error) {
	fam, _, b, err := genmsg(m)
	if err != nil {
		return nil, decodeErr("table", err)
	}
	t := &Table{Family: fam}
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return nil, decodeErr("table", err)
	}
	ad.ByteOrder = binary.BigEndian
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_TABLE_NAME:
			t.Name = ad.String()
		case unix.NFTA_TABLE_FLAGS:
			t.Flags = ad.Uint32()
		case unix.NFTA_TABLE_USE:
			t.Use = ad.Uint32()
		case attrTableHandle:
			t.Handle = ad.Uint64()
		}
	}
	if err := ad.Err(); err != nil {
		return nil, decodeErr("table", err)
	}
	if t.Name == "" {
		return nil, decodeErr("table", fmt.Errorf("no name"))
	}
	return t, nil
}

func decodeChain(m netlink.Message) (*Chain, error) {
	fam, _, b, err := genmsg(m)
	if err != nil {
		return nil, decodeErr("chain", err)
	}
	c := &Chain{Family: fam}
	var (
		hook            *BaseChain
		hasHook, hasPol bool
		policy          uint32
		typ             string
	)
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return nil, decodeErr("chain", err)
	}
	ad.ByteOrder = binary.BigEndian
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_CHAIN_TABLE:
			c.Table = ad.String()
		case unix.NFTA_CHAIN_NAME:
			c.Name = ad.String()
		case unix.NFTA_CHAIN_HANDLE:
			c.Handle = ad.Uint64()
		case unix.NFTA_CHAIN_USE:
			c.Use = ad.Uint32()
		case attrChainFlags:
			c.Flags = ad.Uint32()
		case unix.NFTA_CHAIN_TYPE:
			typ = ad.String()
		case unix.NFTA_CHAIN_POLICY:
			policy, hasPol = ad.Uint32(), true
		case unix.NFTA_CHAIN_HOOK:
			hasHook = true
			hook = &BaseChain{}
			ad.Nested(func(nd *netlink.AttributeDecoder) error {
				nd.ByteOrder = binary.BigEndian
				for nd.Next() {
					switch nd.Type() {
					case unix.NFTA_HOOK_HOOKNUM:
						hook.Hook = nd.Uint32()
					case unix.NFTA_HOOK_PRIORITY:
						hook.Priority = int32(nd.Uint32())
					}
				}
				return nil
			})
		case unix.NFTA_CHAIN_COUNTERS:
			var ctr xtables.Counters
			ad.Nested(func(nd *netlink.AttributeDecoder) error {
				nd.ByteOrder = binary.BigEndian
				for nd.Next() {
					switch nd.Type() {
					case unix.NFTA_COUNTER_PACKETS:
						ctr.Packets = nd.Uint64()
					case unix.NFTA_COUNTER_BYTES:
						ctr.Bytes = nd.Uint64()
					}
				}
				return nil
			})
			c.Counters = &ctr
		}
	}
	if err := ad.Err(); err != nil {
		return nil, decodeErr("chain", err)
	}
	if c.Name == "" || c.Table == "" {
		return nil, decodeErr("chain", fmt.Errorf("no table or name"))
	}
	if hasHook {
		hook.Type = typ
		if hasPol {
			hook.Policy = policy
		} else {
			hook.Policy = verdictAccept
		}
		c.Base = hook
	}
	return c, nil
}

func decodeRule(m netlink.Message) (*Rule, error) {
	fam, _, b, err := genmsg(m)
	if err != nil {
		return nil, decodeErr("rule", err)
	}
	r := &Rule{Family: fam}
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return nil, decodeErr("rule", err)
	}
	ad.ByteOrder = binary.BigEndian
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_RULE_TABLE:
			r.Table = ad.String()
		case unix.NFTA_RULE_CHAIN:
			r.Chain = ad.String()
		case unix.NFTA_RULE_HANDLE:
			r.Handle = ad.Uint64()
		case unix.NFTA_RULE_POSITION:
			r.Position = ad.Uint64()
		case unix.NFTA_RULE_EXPRESSIONS:
			r.Exprs = ad.Bytes()
		case unix.NFTA_RULE_USERDATA:
			r.UserData = ad.Bytes()
		}
	}
	if err := ad.Err(); err != nil {
		return nil, decodeErr("rule", err)
	}
	if r.Handle == 0 || r.Table == "" || r.Chain == "" {
		return nil, decodeErr("rule", fmt.Errorf("no handle, table or chain"))
	}
	return r, nil
}
