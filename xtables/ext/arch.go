package ext

// hostwall builds only for 64-bit little-endian Linux: on anything else
// this import fails first, with one readable error.
import _ "github.com/hostwall/hostwall/xtables/internal/arch"
