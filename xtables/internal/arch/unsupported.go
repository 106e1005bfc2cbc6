//go:build !(linux && (amd64 || arm64 || ppc64le || riscv64 || loong64 || mips64le))

package arch

// hostwall speaks the kernel's x_tables ABI as 64-bit little-endian
// Linux lays it out (see arch.go). Building for anything else stops
// here, with the name below as the error.
const Supported = hostwall_builds_only_for_64_bit_little_endian_Linux__amd64_arm64_ppc64le_riscv64_loong64_mips64le
