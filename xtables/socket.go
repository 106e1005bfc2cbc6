package xtables

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Conn is a raw socket of one family, the handle the x_tables socket
// options are called on. It needs CAP_NET_ADMIN in the network namespace
// the socket lives in.
type Conn struct {
	fam *Family
	fd  int
}

// Open opens the socket for a family in the calling thread's network
// namespace. Opening it takes CAP_NET_RAW, and every socket option
// CAP_NET_ADMIN; Open checks both, so that a missing capability is
// reported here, by name, rather than by whichever call comes first.
func Open(f *Family) (*Conn, error) {
	c := &Conn{fam: f, fd: -1}
	fd, err := unix.Socket(f.af, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return nil, c.explain("open raw socket", err)
	}
	c.fd = fd
	// Ask for a revision every x_tables kernel has (the ERROR target's
	// first): it reads nothing and loads nothing, but the kernel checks
	// CAP_NET_ADMIN first. Other errors are left to the calls that follow.
	probe := make([]byte, sizeofGetRevision)
	copy(probe, "ERROR")
	if _, err := c.getsockopt(f.revTarget, probe); errors.Is(err, unix.EPERM) {
		c.Close()
		return nil, c.explain("use x_tables", err)
	}
	return c, nil
}

// Close closes the socket.
func (c *Conn) Close() error { return unix.Close(c.fd) }

// Family is the socket's family.
func (c *Conn) Family() *Family { return c.fam }

func (c *Conn) getsockopt(opt int, buf []byte) (int, error) {
	n := uint32(len(buf))
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(c.fd), uintptr(c.fam.level), uintptr(opt),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
	if errno != 0 {
		return int(n), errno
	}
	return int(n), nil
}

func (c *Conn) setsockopt(opt int, buf []byte) error {
	_, _, errno := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(c.fd), uintptr(c.fam.level), uintptr(opt),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// TableNames lists the tables of the family that exist in this network
// namespace. Reading a table that does not exist would make the kernel
// load and create it, so callers list first, as iptables-save does.
//
// The list is the calling thread's network namespace's
// (/proc/thread-self/net), as the socket is: /proc/net is the process's
// main thread's, which differs for a thread locked in another namespace.
func TableNames(f *Family) ([]string, error) {
	data, err := os.ReadFile("/proc/thread-self/net/" + filepath.Base(f.tablesNames))
	if errors.Is(err, os.ErrNotExist) {
		if _, terr := os.Stat("/proc/thread-self"); terr != nil {
			data, err = os.ReadFile(f.tablesNames) // before Linux 3.17
		}
	}
	if errors.Is(err, os.ErrNotExist) {
		if _, perr := os.Stat("/proc/self"); perr != nil {
			return nil, ErrNoProc
		}
		return nil, nil // x_tables not loaded: no tables at all
	}
	if err != nil {
		return nil, fmt.Errorf("list %s tables: %w", f, err)
	}
	return strings.Fields(string(data)), nil
}

// ErrNotSupported means the kernel lacks what was asked for: x_tables
// here (ENOPROTOOPT), nf_tables in package nft, whose ErrNotSupported
// matches it. engine.ErrNotSupported is this error.
var ErrNotSupported = errors.New("not supported")

// notSupported is an error that matches ErrNotSupported as well as what
// it wraps (the errno), with the message of the latter.
type notSupported struct{ error }

func (e notSupported) Unwrap() []error { return []error{e.error, ErrNotSupported} }

// ErrNoProc means /proc is not mounted, so the tables that exist cannot
// be listed without creating the ones that do not.
var ErrNoProc = errors.New("/proc is not mounted: cannot list the tables that exist (name one with -t)")

// Info calls IPT_SO_GET_INFO for a table.
func (c *Conn) Info(table string) (Info, error) {
	var info Info
	if len(table) >= tableNameLen || table == "" {
		return info, fmt.Errorf("bad table name %q", table)
	}
	buf := make([]byte, sizeofGetinfo)
	copy(buf, table)
	if _, err := c.getsockopt(soGetInfo, buf); err != nil {
		return info, c.explain("read info of table "+table, err)
	}
	info, err := UnmarshalInfo(buf)
	if err != nil {
		return info, err
	}
	info.Name = table
	return info, nil
}

// UnmarshalInfo reads a struct ipt_getinfo.
func UnmarshalInfo(buf []byte) (Info, error) {
	var info Info
	if len(buf) != sizeofGetinfo {
		return info, fmt.Errorf("ipt_getinfo is %d bytes, not %d", len(buf), sizeofGetinfo)
	}
	name, err := cName(buf[:tableNameLen])
	if err != nil {
		return info, fmt.Errorf("ipt_getinfo: table %w", err)
	}
	info.Name = name
	info.ValidHooks = ne.Uint32(buf[32:])
	for h := 0; h < numHooks; h++ {
		info.HookEntry[h] = ne.Uint32(buf[36+4*h:])
		info.Underflow[h] = ne.Uint32(buf[56+4*h:])
	}
	info.NumEntries = ne.Uint32(buf[76:])
	info.Size = ne.Uint32(buf[80:])
	return info, nil
}

// Marshal writes the info as a struct ipt_getinfo.
func (info Info) Marshal() []byte {
	buf := make([]byte, sizeofGetinfo)
	copy(buf[:tableNameLen-1], info.Name)
	ne.PutUint32(buf[32:], info.ValidHooks)
	for h := 0; h < numHooks; h++ {
		ne.PutUint32(buf[36+4*h:], info.HookEntry[h])
		ne.PutUint32(buf[56+4*h:], info.Underflow[h])
	}
	ne.PutUint32(buf[76:], info.NumEntries)
	ne.PutUint32(buf[80:], info.Size)
	return buf
}

// maxReadTries bounds the retries when the table changes between
// GET_INFO and GET_ENTRIES (the kernel answers EAGAIN).
const maxReadTries = 10

// ReadRaw reads a table's info and entries blob, retrying while another
// writer changes its size between the two calls.
func (c *Conn) ReadRaw(ctx context.Context, table string) (Info, []byte, error) {
	return c.readRaw(ctx, table, nil)
}

// readRaw is ReadRaw reading into buf when it is large enough.
func (c *Conn) readRaw(ctx context.Context, table string, buf []byte) (Info, []byte, error) {
	return c.readInto(ctx, table, func(n int) []byte {
		if len(buf) >= n {
			// The kernel leaves the bytes after each extension's name
			// as they were: they must be zero, as in a new buffer.
			b := buf[:n]
			clear(b)
			return b
		}
		return makeBlob(n, 0)
	})
}

// readInto is ReadRaw reading into memory from alloc, which must give n
// zero bytes (struct ipt_get_entries and the entries).
func (c *Conn) readInto(ctx context.Context, table string, alloc func(n int) []byte) (Info, []byte, error) {
	for try := 0; ; try++ {
		if err := ctx.Err(); err != nil {
			return Info{}, nil, err
		}
		info, err := c.Info(table)
		if err != nil {
			return info, nil, err
		}
		n := sizeofGetEntries + int(info.Size)
		b := alloc(n)[:n]
		copy(b, table)
		ne.PutUint32(b[tableNameLen:], info.Size)
		_, err = c.getsockopt(soGetEntries, b)
		if errors.Is(err, unix.EAGAIN) && try < maxReadTries {
			time.Sleep(time.Millisecond << try)
			continue
		}
		if err != nil {
			return info, nil, c.explain("read entries of table "+table, err)
		}
		return info, b[sizeofGetEntries:], nil
	}
}

// ReadPartial reads a table as ReadRaw does and decodes the chains sel
// selects (DecodePartial), into memory with room for struct ipt_replace
// before the entries and for some growth after them, so that the
// Partial can EncodeInPlace. A blob DecodePartial refuses is returned
// with its error.
func (c *Conn) ReadPartial(ctx context.Context, table string, sel PartialChains) (*Partial, Info, []byte, error) {
	var whole []byte
	info, blob, err := c.readInto(ctx, table, func(n int) []byte {
		front := sizeofReplace - sizeofGetEntries
		whole = makeBlob(front+n, max(64<<10, n/32))
		return whole[front:]
	})
	if err != nil {
		return nil, info, nil, err
	}
	p, err := DecodePartial(c.fam, info, blob, sel)
	if err != nil {
		return nil, info, blob, err
	}
	p.buf = whole[:cap(whole)]
	return p, info, blob, nil
}

// ReadBack reads table t back after enc, which holds Encode(t), was
// written, and reports whether the kernel holds exactly the entries
// Encode(t) writes, apart from what it keeps for itself in each entry
// (nfcache, comefrom and the counters). It reads into enc's memory, so
// enc is spent afterwards (its Blob is nil). It returns what it read,
// for a closer look when the answer is no.
func (c *Conn) ReadBack(ctx context.Context, t *Table, enc *Encoded) (same bool, info Info, blob []byte, err error) {
	buf, x := enc.buf, enc.x
	enc.buf, enc.Blob, enc.x = nil, nil, nil
	info, blob, err = c.readRaw(ctx, t.Name, buf)
	if err != nil {
		return false, info, nil, err
	}
	if x == nil || x.t != t {
		if x, err = newEncoder(t); err != nil {
			return false, info, blob, nil // t cannot be what was written
		}
	}
	return sameEncoding(x, info, blob), info, blob, nil
}

// Read reads and decodes a table.
func (c *Conn) Read(ctx context.Context, table string) (*Table, error) {
	info, blob, err := c.ReadRaw(ctx, table)
	if err != nil {
		return nil, err
	}
	t, err := Decode(c.fam, info, blob)
	if err != nil {
		return nil, fmt.Errorf("decode %s table %s: %w", c.fam, table, err)
	}
	return t, nil
}

// Counters has the layout of struct xt_counters, so the kernel can write
// an array of them directly.
var _ [sizeofCounters]byte = [unsafe.Sizeof(Counters{})]byte{}

// Replace writes a whole table with IPT_SO_SET_REPLACE. numCounters must
// be the entry count of the table as it was read: the kernel refuses the
// replace with EAGAIN if another writer changed it since. It returns the
// counters the old table held at the moment of the swap, by old index.
func (c *Conn) Replace(enc *Encoded, numCounters uint32) ([]Counters, error) {
	// The kernel writes the old counters, struct xt_counters each, into
	// this array (one element at least, for a valid pointer).
	old := make([]Counters, max(int(numCounters), 1))
	var buf []byte
	if len(enc.Blob) > 0 && len(enc.buf) == sizeofReplace+len(enc.Blob) && &enc.buf[sizeofReplace] == &enc.Blob[0] {
		// Encode left room for the header in front of the blob.
		buf = enc.buf
		clear(buf[:sizeofReplace])
	} else {
		buf = make([]byte, sizeofReplace+len(enc.Blob))
		copy(buf[sizeofReplace:], enc.Blob)
	}
	copy(buf, enc.Info.Name)
	ne.PutUint32(buf[32:], enc.Info.ValidHooks)
	ne.PutUint32(buf[36:], enc.Info.NumEntries)
	ne.PutUint32(buf[40:], enc.Info.Size)
	for h := 0; h < numHooks; h++ {
		ne.PutUint32(buf[44+4*h:], enc.Info.HookEntry[h])
		ne.PutUint32(buf[64+4*h:], enc.Info.Underflow[h])
	}
	ne.PutUint32(buf[84:], numCounters)
	ne.PutUint64(buf[88:], uint64(uintptr(unsafe.Pointer(&old[0]))))
	err := c.setsockopt(soSetReplace, buf)
	// The kernel wrote old through the pointer hidden in buf, which the
	// garbage collector cannot see: keep old alive past the call.
	runtime.KeepAlive(old)
	if err != nil {
		return nil, c.explain("replace table "+enc.Info.Name, err)
	}
	return old[:numCounters], nil
}

// AddCounters adds counts to the entries of a table, by entry index
// (IPT_SO_SET_ADD_COUNTERS); len(add) must be the table's entry count.
func (c *Conn) AddCounters(table string, add []Counters) error {
	buf := make([]byte, sizeofCountersInfo+len(add)*sizeofCounters)
	copy(buf, table)
	ne.PutUint32(buf[32:], uint32(len(add)))
	for i, a := range add {
		ne.PutUint64(buf[sizeofCountersInfo+16*i:], a.Packets)
		ne.PutUint64(buf[sizeofCountersInfo+16*i+8:], a.Bytes)
	}
	if err := c.setsockopt(soSetAddCounters, buf); err != nil {
		return c.explain("add counters to table "+table, err)
	}
	return nil
}

// Revision asks the kernel whether it supports revision rev of a match or
// target (IPT_SO_GET_REVISION_*). It returns false for an unknown name or
// revision, as libxtables' compatible_revision does.
func (c *Conn) Revision(target bool, name string, rev uint8) (bool, error) {
	buf := make([]byte, sizeofGetRevision)
	if len(name) >= extNameLen {
		return false, fmt.Errorf("extension name %q too long", name)
	}
	copy(buf, name)
	buf[extNameLen] = rev
	opt := c.fam.revMatch
	if target {
		opt = c.fam.revTarget
	}
	_, err := c.getsockopt(opt, buf)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.EPROTONOSUPPORT):
		return false, nil
	case errors.Is(err, unix.ENOPROTOOPT):
		return rev == 0, nil // a kernel too old to tell: only revision 0
	}
	return false, c.explain("ask revision of "+name, err)
}

// explain turns errno into the hint iptables gives for it. A refusal
// names the capabilities this process lacks.
func (c *Conn) explain(what string, err error) error {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		hint := CapabilityHint()
		return fmt.Errorf("%s %s: %w (%s)", c.fam, what, err, hint)
	case errors.Is(err, unix.ENOPROTOOPT):
		return notSupported{fmt.Errorf("%s %s: %w (is the kernel built without x_tables legacy support?)", c.fam, what, err)}
	case errors.Is(err, unix.ENOENT):
		return fmt.Errorf("%s %s: %w (table does not exist)", c.fam, what, err)
	}
	return fmt.Errorf("%s %s: %w", c.fam, what, err)
}

// CapabilityHint says why the kernel refused hostwall with EPERM: which
// of CAP_NET_ADMIN and CAP_NET_RAW the process lacks, or that it holds
// them in a user namespace that does not own the network namespace.
func CapabilityHint() string {
	hint := "hostwall needs CAP_NET_ADMIN and CAP_NET_RAW"
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if unix.Capget(&hdr, &data[0]) != nil {
		return hint
	}
	var missing []string
	for _, cp := range []struct {
		bit  uint
		name string
	}{{unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"}, {unix.CAP_NET_RAW, "CAP_NET_RAW"}} {
		if data[cp.bit/32].Effective&(1<<(cp.bit%32)) == 0 {
			missing = append(missing, cp.name)
		}
	}
	switch len(missing) {
	case 0:
		return "CAP_NET_ADMIN and CAP_NET_RAW are held, but not in the user namespace that owns this network namespace, or a security module refused"
	case 1:
		return "missing capability " + missing[0] + "; " + hint
	}
	return "missing capabilities CAP_NET_ADMIN and CAP_NET_RAW; run hostwall as root"
}
