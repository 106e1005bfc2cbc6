package ext

import (
	"fmt"
	"strings"
)

// putTruncString stores an XTTYPE_STRING argument into a fixed char array as
// xtopt_parse_string does: anything beyond the array's size minus the NUL
// is silently cut off, so that hostwall builds the very bytes iptables
// does. A NUL inside the argument cannot come from a command line and is
// refused.
func putTruncString(dst []byte, s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return fmt.Errorf("contains a NUL byte")
		}
	}
	if len(s) > len(dst)-1 {
		s = s[:len(dst)-1]
	}
	for i := range dst {
		dst[i] = 0
	}
	copy(dst, s)
	return nil
}

// cStringField returns a NUL-terminated char array's string, failing when
// the array holds no NUL: the kernel refuses such a payload, and printing
// it would mean guessing where it ends.
func cStringField(b []byte, what string) (string, error) {
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), nil
		}
	}
	return "", fmt.Errorf("%s is not NUL terminated", what)
}

// isAbbrevFold reports whether arg is a non-empty prefix of name, ignoring
// ASCII case: the strncasecmp(name, arg, strlen(arg)) abbreviation several
// extensions allow (libxt_conntrack's "est" for ESTABLISHED, libxt_limit's
// "s" for second, REJECT's "tcp" for tcp-reset).
func isAbbrevFold(arg, name string) bool {
	return arg != "" && len(arg) <= len(name) && strings.EqualFold(arg, name[:len(arg)])
}
