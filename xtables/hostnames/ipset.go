package hostnames

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"unsafe"

	"github.com/hostwall/hostwall/xtables/ext"
)

// The set match keeps a set's index, not its name: iptables asks the
// kernel's ipset for the index when it parses a rule and for the name
// when it prints one, through getsockopt(SOL_IP, SO_IP_SET) on a raw
// socket (linux/netfilter/ipset/ip_set.h; libxt_set.h does the same).
// Indexes are per network namespace, like the sets themselves.

var ne = binary.NativeEndian

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

const (
	soIPSet           = 83     // SO_IP_SET
	ipsetOpGetByName  = 0x006  // IP_SET_OP_GET_BYNAME, struct ip_set_req_get_set
	ipsetOpGetByIndex = 0x007  // IP_SET_OP_GET_BYINDEX, struct ip_set_req_get_set
	ipsetOpGetFName   = 0x008  // IP_SET_OP_GET_FNAME, struct ip_set_req_get_set_family
	ipsetOpVersion    = 0x100  // IP_SET_OP_VERSION, struct ip_set_req_version
	ipsetMaxNameLen   = 32     // IPSET_MAXNAMELEN
	ipsetInvalidID    = 0xffff // IPSET_INVALID_ID
)

// KernelIPSets asks the ipset of the calling thread's network namespace
// through getsockopt(SOL_IP, SO_IP_SET) on a raw socket, as libxt_set does.
type KernelIPSets struct{}

// ipsetRequest opens the socket and returns it with the protocol version
// the kernel speaks, which every later request must carry.
func ipsetRequest() (fd int, version uint32, err error) {
	fd, err = syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return -1, 0, fmt.Errorf("ipset: cannot open socket: %w", err)
	}
	syscall.CloseOnExec(fd)
	// struct ip_set_req_version { unsigned op, version; }
	req := make([]byte, 8)
	ne.PutUint32(req, ipsetOpVersion)
	if _, err := ipsetGetsockopt(fd, req); err != nil {
		syscall.Close(fd)
		return -1, 0, fmt.Errorf("ipset: kernel does not answer (is ip_set loaded?): %w", err)
	}
	return fd, ne.Uint32(req[4:]), nil
}

// ipsetGetsockopt runs one request in place and returns the length the
// kernel wrote back.
func ipsetGetsockopt(fd int, buf []byte) (int, error) {
	n := uint32(len(buf))
	_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), syscall.SOL_IP, soIPSet,
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

func (KernelIPSets) Index(name string, fam ext.Family) (uint16, error) {
	if len(name) > ipsetMaxNameLen-1 {
		return 0, fmt.Errorf("set name %q is longer than %d characters", name, ipsetMaxNameLen-1)
	}
	fd, version, err := ipsetRequest()
	if err != nil {
		return 0, err
	}
	defer syscall.Close(fd)
	// struct ip_set_req_get_set_family { unsigned op, version, family;
	// union { char name[32]; __u16 index; } set; }, 44 bytes.
	req := make([]byte, 44)
	ne.PutUint32(req[0:], ipsetOpGetFName)
	ne.PutUint32(req[4:], version)
	copy(req[12:], name)
	n, err := ipsetGetsockopt(fd, req)
	if errors.Is(err, syscall.EBADMSG) {
		// Kernels before GET_FNAME: ask by name only, family unchecked.
		req = make([]byte, 40)
		ne.PutUint32(req[0:], ipsetOpGetByName)
		ne.PutUint32(req[4:], version)
		copy(req[8:], name)
		if n, err = ipsetGetsockopt(fd, req); err == nil && n != len(req) {
			return 0, fmt.Errorf("ipset: kernel answered %d bytes, want %d", n, len(req))
		}
		if err != nil {
			return 0, fmt.Errorf("ipset: looking up set %q: %w", name, err)
		}
		return ipsetIndexResult(name, ne.Uint16(req[8:]))
	}
	if err != nil {
		return 0, fmt.Errorf("ipset: looking up set %q: %w", name, err)
	}
	if n != len(req) {
		return 0, fmt.Errorf("ipset: kernel answered %d bytes, want %d", n, len(req))
	}
	idx, err := ipsetIndexResult(name, ne.Uint16(req[12:]))
	if err != nil {
		return 0, err
	}
	if setFam := ext.Family(ne.Uint32(req[8:])); setFam != fam && setFam != ext.FamilyAny {
		return 0, fmt.Errorf("set %q is of family %s, not applicable to %s rules", name, setFam, fam)
	}
	return idx, nil
}

func ipsetIndexResult(name string, idx uint16) (uint16, error) {
	if idx == ipsetInvalidID {
		return 0, fmt.Errorf("set %q does not exist", name)
	}
	return idx, nil
}

func (KernelIPSets) Name(index uint16) (string, error) {
	fd, version, err := ipsetRequest()
	if err != nil {
		return "", err
	}
	defer syscall.Close(fd)
	// struct ip_set_req_get_set { unsigned op, version; union { char
	// name[32]; __u16 index; } set; }, 40 bytes.
	req := make([]byte, 40)
	ne.PutUint32(req[0:], ipsetOpGetByIndex)
	ne.PutUint32(req[4:], version)
	ne.PutUint16(req[8:], index)
	n, err := ipsetGetsockopt(fd, req)
	if err != nil {
		return "", fmt.Errorf("ipset: looking up set index %d: %w", index, err)
	}
	if n != len(req) {
		return "", fmt.Errorf("ipset: kernel answered %d bytes, want %d", n, len(req))
	}
	name := cString(req[8:])
	if name == "" {
		return "", fmt.Errorf("set with index %d does not exist in the kernel", index)
	}
	return name, nil
}
