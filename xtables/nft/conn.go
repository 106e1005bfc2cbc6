package nft

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/hostwall/hostwall/xtables"
)

// ErrGenChanged means another writer committed to nf_tables between
// hostwall's read and its write (the kernel answered ERESTART to the
// batch's generation check), or while a read was in progress. Nothing of
// the batch was applied: read again and plan again.
var ErrGenChanged = errors.New("nf_tables changed by another writer since it was read")

// ErrNotSupported means the kernel has no nf_tables (or no nfnetlink).
// It matches xtables.ErrNotSupported (engine.ErrNotSupported) too.
var ErrNotSupported error = &notSupportedError{}

type notSupportedError struct{}

func (*notSupportedError) Error() string { return "the kernel does not support nf_tables" }

// Is makes errors.Is(ErrNotSupported, xtables.ErrNotSupported) true.
func (*notSupportedError) Is(target error) bool { return target == xtables.ErrNotSupported }

// Conn is a netlink socket to nf_tables in one network namespace. It
// serves one request at a time (its receive buffer and sequence numbers
// are its own): not safe for concurrent use.
type Conn struct {
	nl *netlink.Conn
	// rbuf receives every reply to a request (dumpBuffer bytes, made on
	// first use); what is kept of it is copied out, so a read of a few
	// small chains allocates no more than their messages.
	rbuf []byte
	// seq numbers every request sent on the socket (netlink.Conn only
	// numbers those whose number is 0), so that the replies to a batch
	// sent as raw bytes can never be mistaken for another request's.
	seq uint32
}

// next is the sequence number of the next request.
func (c *Conn) next() uint32 {
	c.seq++
	if c.seq == 0 {
		c.seq++
	}
	return c.seq
}

// Options of Dial.
type Options struct {
	// NetNS is a file descriptor of a network namespace; 0 is the
	// calling thread's.
	NetNS int
}

// Dial opens a netlink socket to nf_tables.
func Dial(opt Options) (*Conn, error) {
	nl, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: opt.NetNS})
	if err != nil {
		if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT) {
			return nil, fmt.Errorf("%w: %v", ErrNotSupported, err)
		}
		return nil, fmt.Errorf("open netlink socket to nf_tables: %w", err)
	}
	// Extended acks carry the kernel's reason for refusing a message.
	_ = nl.SetOption(netlink.ExtendedAcknowledge, true)
	// Large dumps of other tools' rules must not overrun the socket.
	_ = nl.SetReadBuffer(4 << 20)
	return &Conn{nl: nl, seq: uint32(time.Now().UnixNano())}, nil
}

// Close closes the socket.
func (c *Conn) Close() error { return c.nl.Close() }

// deadline bounds every exchange with the kernel: the ctx deadline, or
// a generous fixed one, so a lost reply can never hang hostwall.
func (c *Conn) deadline(ctx context.Context) {
	d, ok := ctx.Deadline()
	if !ok {
		d = time.Now().Add(30 * time.Second)
	}
	_ = c.nl.SetDeadline(d)
}

func request(typ uint16, flags netlink.HeaderFlags, family byte, attrs []byte) netlink.Message {
	data := make([]byte, nfgenmsgLen, nfgenmsgLen+len(attrs))
	data[0] = family
	data = append(data, attrs...)
	return netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(nftMsgType | typ), Flags: netlink.Request | flags},
		Data:   data,
	}
}

// exchange sends one request and gathers its replies.
func (c *Conn) exchange(ctx context.Context, m netlink.Message) ([]netlink.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.Header.Sequence = c.next()
	if m.Header.Flags&netlink.Dump != 0 {
		return c.dump(ctx, m)
	}
	c.deadline(ctx)
	sent, err := c.nl.Send(m)
	if err != nil {
		return nil, err
	}
	// A request that is not a dump has one reply: its message, or the
	// NLMSG_ERROR that refuses it.
	for {
		msgs, err := c.recvCopy()
		if err != nil {
			return nil, err
		}
		var out []netlink.Message
		for _, r := range msgs {
			if r.Header.Sequence != sent.Header.Sequence {
				continue
			}
			if err := errnoOf(r); err != nil {
				return nil, err
			}
			if r.Header.Type != netlink.Error {
				out = append(out, r)
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
}

// GenID returns the current nf_tables generation of the namespace: it
// changes with every commit by anyone.
func (c *Conn) GenID(ctx context.Context) (uint32, error) {
	msgs, err := c.exchange(ctx, request(unix.NFT_MSG_GETGEN, 0, familyUnspec, nil))
	if err != nil {
		return 0, fmt.Errorf("read nf_tables generation: %w", c.explain(err))
	}
	for _, m := range msgs {
		if id, ok := genID(m); ok {
			return id, nil
		}
	}
	return 0, decodeErr("generation", fmt.Errorf("no NEWGEN in the reply"))
}

func genID(m netlink.Message) (uint32, bool) {
	if m.Header.Type != netlink.HeaderType(nftMsgType|unix.NFT_MSG_NEWGEN) {
		return 0, false
	}
	_, _, b, err := genmsg(m)
	if err != nil {
		return 0, false
	}
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return 0, false
	}
	ad.ByteOrder = binary.BigEndian
	for ad.Next() {
		if ad.Type() == unix.NFTA_GEN_ID {
			return ad.Uint32(), true
		}
	}
	return 0, false
}

// explain turns the errors a missing nf_tables gives into ErrNotSupported.
func (c *Conn) explain(err error) error {
	switch {
	case errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EOPNOTSUPP):
		return fmt.Errorf("%w: %v", ErrNotSupported, err)
	case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES):
		return fmt.Errorf("%w (%s)", err, xtables.CapabilityHint())
	}
	return err
}

// checkGen makes a dump coherent: every message of it carries the low 16
// bits of the generation it was made in, which must be the one the
// caller planned against.
func checkGen(m netlink.Message, gen uint32) error {
	_, res, _, err := genmsg(m)
	if err != nil {
		return err
	}
	if gen != 0 && res != uint16(gen) {
		return ErrGenChanged
	}
	return nil
}

// Tables lists the tables of a family. gen, when not 0, is the
// generation the caller read before: a dump made in another returns
// ErrGenChanged.
func (c *Conn) Tables(ctx context.Context, family byte, gen uint32) ([]*Table, error) {
	msgs, err := c.exchange(ctx, request(unix.NFT_MSG_GETTABLE, netlink.Dump, family, nil))
	if err != nil {
		return nil, fmt.Errorf("list nf_tables tables: %w", c.explain(err))
	}
	var out []*Table
	for _, m := range msgs {
		if err := checkGen(m, gen); err != nil {
			return nil, err
		}
		t, err := decodeTable(m)
		if err != nil {
			return nil, err
		}
		if family == familyUnspec || t.Family == family {
			out = append(out, t)
		}
	}
	return out, nil
}

// Chain reads one chain by name, nil if it does not exist. It is not a
// dump: a GETCHAIN dump would return every chain of the family.
func (c *Conn) Chain(ctx context.Context, family byte, table, name string) (*Chain, error) {
	ae := encoder()
	ae.String(unix.NFTA_CHAIN_TABLE, table)
	ae.String(unix.NFTA_CHAIN_NAME, name)
	msgs, err := c.exchange(ctx, request(unix.NFT_MSG_GETCHAIN, 0, family, mustEncode(ae)))
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read chain %s: %w", name, c.explain(err))
	}
	for _, m := range msgs {
		if m.Header.Type == netlink.HeaderType(nftMsgType|unix.NFT_MSG_NEWCHAIN) {
			return decodeChain(m)
		}
	}
	return nil, decodeErr("chain "+name, fmt.Errorf("no NEWCHAIN in the reply"))
}

// Chains lists the chains of one table.
func (c *Conn) Chains(ctx context.Context, family byte, table string, gen uint32) ([]*Chain, error) {
	msgs, err := c.exchange(ctx, request(unix.NFT_MSG_GETCHAIN, netlink.Dump, family, nil))
	if err != nil {
		return nil, fmt.Errorf("list chains: %w", c.explain(err))
	}
	var out []*Chain
	for _, m := range msgs {
		if err := checkGen(m, gen); err != nil {
			return nil, err
		}
		ch, err := decodeChain(m)
		if err != nil {
			return nil, err
		}
		if ch.Family == family && ch.Table == table {
			out = append(out, ch)
		}
	}
	return out, nil
}

// Rules reads the rules of one chain, in order; with chain "", of the
// whole table. The kernel filters the dump, so the cost is that of the
// rules asked for, not of the table.
func (c *Conn) Rules(ctx context.Context, family byte, table, chain string, gen uint32) ([]*Rule, error) {
	ae := encoder()
	ae.String(unix.NFTA_RULE_TABLE, table)
	if chain != "" {
		ae.String(unix.NFTA_RULE_CHAIN, chain)
	}
	msgs, err := c.exchange(ctx, request(unix.NFT_MSG_GETRULE, netlink.Dump, family, mustEncode(ae)))
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read rules of %s: %w", chain, c.explain(err))
	}
	out := make([]*Rule, 0, len(msgs))
	for _, m := range msgs {
		if err := checkGen(m, gen); err != nil {
			return nil, err
		}
		r, err := decodeRule(m)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Revision reports whether the kernel has revision rev of an xtables
// match (target false) or target for nft_compat, as iptables-nft probes
// it (NFNL_MSG_COMPAT_GET). Asking may load the extension's module.
func (c *Conn) Revision(ctx context.Context, family byte, target bool, name string, rev uint8) (bool, error) {
	ae := encoder()
	ae.String(compatAttrName, name)
	ae.Uint32(compatAttrRev, uint32(rev))
	typ := uint32(0)
	if target {
		typ = 1
	}
	ae.Uint32(compatAttrType, typ)
	data := append([]byte{family, nfnetlinkV0, 0, 0}, mustEncode(ae)...)
	m := netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(nftCompatMsgType | msgCompatGet), Flags: netlink.Request},
		Data:   data,
	}
	// The kernel answers with one message flagged NLM_F_MULTI and no
	// NLMSG_DONE after it, which netlink.Conn.Receive would wait for;
	// exchange reads it as the one reply to a request that is no dump.
	msgs, err := c.exchange(ctx, m)
	switch {
	case err == nil:
		return msgs[0].Header.Type == m.Header.Type, nil
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.EPROTONOSUPPORT):
		return false, nil
	}
	return false, fmt.Errorf("probe %s revision %d: %w", name, rev, c.explain(err))
}

// dumpBuffer is the buffer a dump is read with. The kernel fills each
// round of a dump up to the largest buffer the reader has offered, and
// nf_tables walks a chain from its first rule again on every round: with
// netlink.Conn's page-sized reads, a 50,000-rule dump took 12 s of
// kernel time; with 1 MiB rounds it takes a few dozen milliseconds.
// The buffer is the Conn's, reused: a fresh one per round cost a
// scoped read of three small chains 8 MiB of zeroed memory and the
// page faults and collections that come with it.
const dumpBuffer = 1 << 20

// recvCopy reads one datagram into the Conn's buffer and returns its
// messages in memory of their own, the size of what was received.
func (c *Conn) recvCopy() ([]netlink.Message, error) {
	if c.rbuf == nil {
		c.rbuf = make([]byte, dumpBuffer)
	}
	n, err := c.recv(c.rbuf)
	if err != nil {
		return nil, err
	}
	return splitMessages(bytes.Clone(c.rbuf[:n]))
}

// dump sends a dump request and gathers its replies until NLMSG_DONE.
func (c *Conn) dump(ctx context.Context, m netlink.Message) ([]netlink.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.deadline(ctx)
	sent, err := c.nl.Send(m)
	if err != nil {
		return nil, err
	}
	var out []netlink.Message
	for {
		msgs, err := c.recvCopy()
		if err != nil {
			return nil, err
		}
		for _, r := range msgs {
			if r.Header.Sequence != sent.Header.Sequence {
				continue
			}
			if err := errnoOf(r); err != nil {
				return nil, err
			}
			if r.Header.Type == netlink.Done {
				return out, nil
			}
			out = append(out, r)
		}
	}
}

// errnoOf is the error an NLMSG_ERROR reports, with the kernel's reason
// from its extended acknowledgement (or the errno a NLMSG_DONE carries);
// nil for any other message or a zero errno. errors.Is finds the errno.
func errnoOf(m netlink.Message) error {
	switch m.Header.Type {
	case netlink.Error:
		if errno, reason := ackError(m); errno != 0 {
			return reasonError(errno, reason)
		}
	case netlink.Done:
		if len(m.Data) >= 4 {
			if e := int32(binary.NativeEndian.Uint32(m.Data)); e < 0 {
				return unix.Errno(-e)
			}
		}
	}
	return nil
}

// recvDatagram reads one datagram into buf and splits it into messages,
// which alias buf.
func (c *Conn) recvDatagram(buf []byte) ([]netlink.Message, error) {
	n, err := c.recv(buf)
	if err != nil {
		return nil, err
	}
	return splitMessages(buf[:n])
}

// recv reads one datagram into buf and returns its length.
func (c *Conn) recv(buf []byte) (int, error) {
	rc, err := c.nl.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		n, _, rerr = unix.Recvfrom(int(fd), buf, 0)
		return rerr != unix.EAGAIN
	}); err != nil {
		return 0, err
	}
	return n, rerr
}

// splitMessages splits a datagram into its messages, which alias it.
func splitMessages(buf []byte) ([]netlink.Message, error) {
	var msgs []netlink.Message
	for b := buf; len(b) >= unix.NLMSG_HDRLEN; {
		l := int(binary.NativeEndian.Uint32(b))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			return nil, decodeErr("netlink message", fmt.Errorf("length %d of %d", l, len(b)))
		}
		var m netlink.Message
		if err := m.UnmarshalBinary(b[:l]); err != nil {
			return nil, decodeErr("netlink message", err)
		}
		msgs = append(msgs, m)
		b = b[min(len(b), (l+3)&^3):]
	}
	return msgs, nil
}

// RefusedError is the kernel refusing one message of a batch; the whole
// batch was then not applied.
type RefusedError struct {
	// What describes the refused message, as its builder named it.
	What string
	// Reason is the kernel's extended-ack message, if any.
	Reason string
	// Ref is the refused message's NewRule.Ref: the caller's own
	// reference to the rule; nil for other messages.
	Ref any
	// Err is the kernel's error: an errno (unix.EINVAL, unix.ENOENT…),
	// or ErrNotSupported for a kernel that lacks the expression.
	Err error
}

func (e *RefusedError) Error() string {
	s := fmt.Sprintf("kernel refused %s: %v", e.What, e.Err)
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	return s
}
func (e *RefusedError) Unwrap() error { return e.Err }

// Commit sends the batch as one transaction, checked against generation
// gen (0: unchecked). It returns ErrGenChanged when another writer
// committed since gen, a *RefusedError naming the first message the
// kernel refused, or nil once the kernel has applied all of it.
func (c *Conn) Commit(ctx context.Context, b *Batch, gen uint32) error {
	if b.Empty() {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c.deadline(ctx)
	begin := encoder()
	begin.Uint32(unix.NFNL_BATCH_GENID, gen)
	beginData := append([]byte{familyUnspec, nfnetlinkV0, 0, subsysNFTables}, mustEncode(begin)...)
	beginMsg := netlink.Message{Header: netlink.Header{Type: msgBatchBegin, Flags: netlink.Request}, Data: beginData}
	endMsg := netlink.Message{
		Header: netlink.Header{Type: msgBatchEnd, Flags: netlink.Request},
		Data:   []byte{familyUnspec, nfnetlinkV0, 0, subsysNFTables},
	}
	// BEGIN, the batch's messages and END are numbered first, first+1…;
	// the next request comes after them all.
	n := len(b.msgs) + 2
	first := c.next()
	c.seq = first + uint32(n-1)
	buf := marshalBatch(first, []netlink.Message{beginMsg}, b.msgs, []netlink.Message{endMsg})
	if err := c.growSendBuffer(len(buf)); err != nil {
		return err
	}
	if err := c.sendRaw(buf); err != nil {
		return fmt.Errorf("send nf_tables batch: %w", c.explain(err))
	}
	// The kernel processes the batch while sendmsg runs and answers only
	// errors. A GETGEN sent after it is answered after them: a barrier
	// that says every error has arrived.
	barrier := request(unix.NFT_MSG_GETGEN, 0, familyUnspec, nil)
	barrier.Header.Sequence = c.next()
	if _, err := c.nl.Send(barrier); err != nil {
		return fmt.Errorf("send nf_tables batch: %w", err)
	}
	var refused error
	firstIdx := n
	for {
		got, err := c.recvCopy()
		if err != nil {
			return fmt.Errorf("nf_tables batch: %w", err)
		}
		for _, m := range got {
			if m.Header.Sequence == barrier.Header.Sequence {
				if m.Header.Type == netlink.Error {
					if errno, reason := ackError(m); errno != 0 {
						return fmt.Errorf("nf_tables batch: generation read after it: %w", reasonError(errno, reason))
					}
				}
				return refused
			}
			if m.Header.Type != netlink.Error {
				continue
			}
			errno, reason := ackError(m)
			if errno == 0 {
				continue
			}
			i := int(m.Header.Sequence - first)
			if m.Header.Sequence-first >= uint32(n) {
				return fmt.Errorf("nf_tables batch: unexpected error for sequence %d: %w", m.Header.Sequence, reasonError(errno, reason))
			}
			if i == 0 && errno == unix.ERESTART {
				refused, firstIdx = ErrGenChanged, 0
				continue
			}
			if i < firstIdx {
				what, ref := "the batch", any(nil)
				if i > 0 && i <= len(b.what) {
					what, ref = b.describe(i-1), b.ref[i-1]
				}
				refused, firstIdx = &RefusedError{What: what, Reason: reason, Ref: ref, Err: c.explain(errno)}, i
			}
		}
	}
}

// marshalBatch lays the messages of parts out, in order, as one
// datagram, numbered from seq on: the batch is built once, in one buffer
// of its final size (netlink.Conn marshals each message apart and then
// copies them all together, which for a 50,000-rule restore is 30 MB
// copied twice).
func marshalBatch(seq uint32, parts ...[]netlink.Message) []byte {
	size := 0
	for _, msgs := range parts {
		for _, m := range msgs {
			size += nlmsgAlign(unix.NLMSG_HDRLEN + len(m.Data))
		}
	}
	buf := make([]byte, size)
	off := 0
	for _, msgs := range parts {
		for _, m := range msgs {
			l := unix.NLMSG_HDRLEN + len(m.Data)
			binary.NativeEndian.PutUint32(buf[off:], uint32(l))
			binary.NativeEndian.PutUint16(buf[off+4:], uint16(m.Header.Type))
			binary.NativeEndian.PutUint16(buf[off+6:], uint16(m.Header.Flags))
			binary.NativeEndian.PutUint32(buf[off+8:], seq)
			copy(buf[off+unix.NLMSG_HDRLEN:], m.Data)
			off += nlmsgAlign(l)
			seq++
		}
	}
	return buf
}

func nlmsgAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// sendRaw sends one datagram to the kernel.
func (c *Conn) sendRaw(buf []byte) error {
	rc, err := c.nl.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Write(func(fd uintptr) bool {
		serr = unix.Sendmsg(int(fd), buf, nil, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}, 0)
		return serr != unix.EAGAIN
	}); err != nil {
		return err
	}
	return serr
}

// ackError reads an NLMSG_ERROR: its errno (0 for an acknowledgement)
// and the reason the kernel gave in its extended acknowledgement.
func ackError(m netlink.Message) (unix.Errno, string) {
	if len(m.Data) < 4 {
		return 0, ""
	}
	e := int32(binary.NativeEndian.Uint32(m.Data))
	if e >= 0 {
		return 0, ""
	}
	errno := unix.Errno(-e)
	const ackTLVs, capped = 0x200, 0x100 // NLM_F_ACK_TLVS, NLM_F_CAPPED
	if m.Header.Flags&ackTLVs == 0 || len(m.Data) < 4+unix.NLMSG_HDRLEN {
		return errno, ""
	}
	// The refused message's header, and its payload unless capped, come
	// before the attributes.
	off := 4 + unix.NLMSG_HDRLEN
	if m.Header.Flags&capped == 0 {
		off = 4 + nlmsgAlign(int(binary.NativeEndian.Uint32(m.Data[4:])))
	}
	if off > len(m.Data) {
		return errno, ""
	}
	ad, err := netlink.NewAttributeDecoder(m.Data[off:])
	if err != nil {
		return errno, ""
	}
	reason := ""
	for ad.Next() {
		if ad.Type() == unix.NLMSGERR_ATTR_MSG {
			reason = ad.String()
		}
	}
	return errno, reason
}

// reasonError is errno with the kernel's reason for it, if any.
func reasonError(errno unix.Errno, reason string) error {
	if reason == "" {
		return errno
	}
	return fmt.Errorf("%w (%s)", errno, reason)
}

// growSendBuffer makes the socket's send buffer hold the whole batch,
// which goes out in one sendmsg: the default (net.core.wmem_default,
// about 208 KiB) holds some 3,000 rules. SO_SNDBUFFORCE passes the
// wmem_max cap, as libmnl does for iptables-nft-restore.
func (c *Conn) growSendBuffer(size int) error {
	if size <= 128<<10 {
		return nil
	}
	rc, err := c.nl.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, size)
		if serr != nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, size)
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("size the netlink send buffer for a %d-byte batch: %w", size, serr)
	}
	return nil
}
