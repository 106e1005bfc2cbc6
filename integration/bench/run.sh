#!/usr/bin/env bash
# make bench: hostwall against the seed article's iptables recipe and the
# kernel floor, each size in a throwaway network namespace. Needs root,
# Go and Debian's iptables package; never touches the machine's own
# firewall. Prints the table and writes integration/bench/results.md.
#   BENCH_RUNS=21         runs per measurement (median; at least 7)
#   BENCH_ONLY=50000x1000 only these sizes (FOREIGNxPOLICY, comma-separated)
#   BENCH_PROFILE=dir     also profile the library apply at the last size
#   HOSTWALL_BIN=path     measure this binary instead of bin/hostwall
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "make bench needs root (it makes network namespaces)"; exit 1; }
bin=$(realpath "${HOSTWALL_BIN:-bin/hostwall}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/bench" ./integration/bench
args=(-hostwall "$bin" -runs "${BENCH_RUNS:-21}")
if [ -n "${BENCH_ONLY:-}" ]; then
  # A partial run is printed, not committed.
  args+=(-only "$BENCH_ONLY")
else
  args+=(-o integration/bench/results.md)
fi
if [ -n "${BENCH_PROFILE:-}" ]; then
  args+=(-profile "$(realpath -m "$BENCH_PROFILE")")
fi
"$work/bench" "${args[@]}"
