//go:build linux && (amd64 || arm64 || ppc64le || riscv64 || loong64 || mips64le)

// Package arch states the machines hostwall is built for: 64-bit
// little-endian Linux. Its only import is for this check; on any other
// GOOS/GOARCH the package fails to compile with one readable error (see
// unsupported.go), before any package that assumes the layouts does.
//
// What the code assumes:
//
//   - LP64 with 8-byte-aligned 64-bit integers: struct ipt_replace
//     carries an 8-byte counters pointer at offset 88, XT_ALIGN rounds
//     to 8 (ext.Align), and every struct size pinned in
//     xtables/abi_test.go is the 64-bit one. A 32-bit process (386, arm)
//     has other layouts, and on a 64-bit kernel goes through the
//     kernel's compat translation, which hostwall does not speak.
//   - Little-endian host-order fields: they are read with
//     binary.NativeEndian, but the codec's tests hold kernel blobs from
//     little-endian machines and some payloads' bit-field layouts
//     (struct xt_policy_spec aside) were only checked there.
//
// amd64 is tested natively and arm64 under qemu-user (make cross); the
// other little-endian 64-bit targets are built by make cross, not run.
package arch

// Supported is true where the package compiles.
const Supported = true
