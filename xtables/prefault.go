package xtables

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// makeBlob allocates a buffer for a table's bytes and, when it is large,
// has the kernel make its pages present in one call
// (MADV_POPULATE_WRITE, Linux 5.14) rather than one page fault per 4 KiB
// as the buffer is first written: a table of 50k rules is 4,000 faults
// each for the buffer read into and the one written from. Where the
// call is refused the pages fault in as usual.
//
// extra is capacity beyond n, made present only when written to.
func makeBlob(n, extra int) []byte {
	b := make([]byte, n, n+extra)
	if n < 1<<20 {
		return b
	}
	const page = 4096
	start := uintptr(unsafe.Pointer(&b[0]))
	from := (start + page - 1) &^ (page - 1)
	to := (start + uintptr(n)) &^ (page - 1)
	if to > from {
		_ = unix.Madvise(b[from-start:to-start], unix.MADV_POPULATE_WRITE)
	}
	return b
}
