package nft

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// groupNFTables is NFNLGRP_NFTABLES: the multicast group on which
// nf_tables announces every committed change (what "nft monitor" joins).
const groupNFTables = 7

// Attributes of NFT_MSG_NEWGEN that golang.org/x/sys/unix does not name.
const (
	attrGenProcPID  = 2 // NFTA_GEN_PROC_PID
	attrGenProcName = 3 // NFTA_GEN_PROC_NAME
)

// ErrOverrun means the kernel dropped events because the monitor's
// socket buffer was full (ENOBUFS): what changed is unknown, and only a
// full read is safe.
var ErrOverrun = errors.New("nf_tables events lost (socket buffer overrun)")

// Event is one nf_tables change as the kernel announces it after a
// commit: a table, chain or rule added or deleted, and, closing each
// commit, a new generation naming the process that committed it.
type Event struct {
	// Type is the NFT_MSG_* of the message (NEWRULE, DELCHAIN, NEWGEN…).
	Type   uint16
	Family byte
	// Table and Chain are the object's (Chain empty for a table).
	Table, Chain string
	// Gen, PID and Proc are a NEWGEN's: the generation, and the process
	// that committed (its name cut to 15 bytes by the kernel).
	Gen  uint32
	PID  uint32
	Proc string
}

// Verb names the event's type: "add rule", "delete chain", "new generation".
func (e Event) Verb() string {
	switch e.Type {
	case unix.NFT_MSG_NEWTABLE:
		return "add table"
	case unix.NFT_MSG_DELTABLE:
		return "delete table"
	case unix.NFT_MSG_NEWCHAIN:
		return "add chain"
	case unix.NFT_MSG_DELCHAIN:
		return "delete chain"
	case unix.NFT_MSG_NEWRULE:
		return "add rule"
	case unix.NFT_MSG_DELRULE:
		return "delete rule"
	case unix.NFT_MSG_NEWGEN:
		return "new generation"
	}
	return fmt.Sprintf("message %d", e.Type)
}

// Monitor is a netlink socket subscribed to nf_tables' change events in
// one network namespace. It costs nothing while nothing changes: it
// sleeps in recvmsg.
type Monitor struct {
	nl  *netlink.Conn
	buf []byte
}

// Listen opens a Monitor in the calling thread's network namespace (or
// opt.NetNS).
func Listen(opt Options) (*Monitor, error) {
	nl, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: opt.NetNS})
	if err != nil {
		if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT) {
			return nil, fmt.Errorf("%w: %v", ErrNotSupported, err)
		}
		return nil, fmt.Errorf("open netlink socket to nf_tables: %w", err)
	}
	if err := nl.JoinGroup(groupNFTables); err != nil {
		nl.Close()
		return nil, fmt.Errorf("join nf_tables event group: %w", err)
	}
	// A burst (iptables-nft-restore of a big table) must not overrun it
	// often; an overrun is survivable (ErrOverrun), only dearer.
	_ = nl.SetReadBuffer(1 << 20)
	return &Monitor{nl: nl}, nil
}

// Close closes the socket; a Receive in progress returns an error.
func (m *Monitor) Close() error { return m.nl.Close() }

// Receive waits for the next datagram of events and decodes them; it
// returns ErrOverrun when events were lost. Objects other than tables,
// chains, rules and generations (sets, elements, objects, flowtables)
// are returned with their Type and Family only.
func (m *Monitor) Receive() ([]Event, error) {
	if m.buf == nil {
		m.buf = make([]byte, 64<<10)
	}
	c := &Conn{nl: m.nl}
	msgs, err := c.recvDatagram(m.buf)
	if errors.Is(err, unix.ENOBUFS) {
		return nil, ErrOverrun
	}
	if err != nil {
		return nil, err
	}
	out := make([]Event, 0, len(msgs))
	for _, msg := range msgs {
		if uint16(msg.Header.Type)>>8 != subsysNFTables {
			continue
		}
		ev, err := decodeEvent(msg)
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// decodeEvent reads the names an event carries.
func decodeEvent(m netlink.Message) (Event, error) {
	fam, _, b, err := genmsg(m)
	if err != nil {
		return Event{}, decodeErr("event", err)
	}
	ev := Event{Type: uint16(m.Header.Type) & 0xff, Family: fam}
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return ev, decodeErr("event", err)
	}
	ad.ByteOrder = binary.BigEndian
	for ad.Next() {
		switch ev.Type {
		case unix.NFT_MSG_NEWTABLE, unix.NFT_MSG_DELTABLE:
			if ad.Type() == unix.NFTA_TABLE_NAME {
				ev.Table = ad.String()
			}
		case unix.NFT_MSG_NEWCHAIN, unix.NFT_MSG_DELCHAIN:
			switch ad.Type() {
			case unix.NFTA_CHAIN_TABLE:
				ev.Table = ad.String()
			case unix.NFTA_CHAIN_NAME:
				ev.Chain = ad.String()
			}
		case unix.NFT_MSG_NEWRULE, unix.NFT_MSG_DELRULE:
			switch ad.Type() {
			case unix.NFTA_RULE_TABLE:
				ev.Table = ad.String()
			case unix.NFTA_RULE_CHAIN:
				ev.Chain = ad.String()
			}
		case unix.NFT_MSG_NEWGEN:
			switch ad.Type() {
			case unix.NFTA_GEN_ID:
				ev.Gen = ad.Uint32()
			case attrGenProcPID:
				ev.PID = ad.Uint32()
			case attrGenProcName:
				ev.Proc = ad.String()
			}
		default:
			// Sets, elements, objects: only the table matters, and it
			// is the first attribute of each of them.
			if ad.Type() == 1 && ev.Table == "" {
				ev.Table = ad.String()
			}
		}
	}
	if err := ad.Err(); err != nil {
		return ev, decodeErr("event", err)
	}
	return ev, nil
}
