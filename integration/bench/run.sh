#!/usr/bin/env bash
# make bench: hostwall against the seed article's iptables recipe and the
# kernel floor, each size in a throwaway network namespace. Needs root,
# Go and Debian's iptables package; never touches the machine's own
# firewall. Prints the tables and writes integration/bench/results.md.
# Rows for three backends: legacy (iptables-legacy), nft (iptables-nft) and
# native (hostwall's own table ip hostwall among foreign nf_tables rules).
#   BENCH_RUNS=21         runs per measurement (median; at least 7)
#   BENCH_ONLY=nft        only these backends (legacy, nft, native) and/or sizes
#                         (FOREIGNxPOLICY), comma-separated: nft,50000x10
#                         A run of one backend at every size rewrites only
#                         that backend's section of results.md; a run
#                         narrowed to some sizes is printed, not written.
#   BENCH_NFT_RUNS_50K=7  runs per nft measurement at 50k foreign rules
#   BENCH_PROFILE=dir     also profile the library apply at the last size
#   HOSTWALL_BIN=path     measure this binary instead of bin/hostwall
#   BENCH_ONLY=idle       only the idle watcher (idle.sh; BENCH_IDLE_SECONDS=120),
#                         which a full run does last
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "make bench needs root (it makes network namespaces)"; exit 1; }
bin=$(realpath "${HOSTWALL_BIN:-bin/hostwall}")
if [ "${BENCH_ONLY:-}" = idle ]; then
  exec ./integration/bench/idle.sh "$bin"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/bench" ./integration/bench
args=(-hostwall "$bin" -runs "${BENCH_RUNS:-21}" -nft-runs-50k "${BENCH_NFT_RUNS_50K:-7}" -o integration/bench/results.md)
if [ -n "${BENCH_ONLY:-}" ]; then
  args+=(-only "$BENCH_ONLY")
fi
if [ -n "${BENCH_PROFILE:-}" ]; then
  args+=(-profile "$(realpath -m "$BENCH_PROFILE")")
fi
"$work/bench" "${args[@]}"
if [ -z "${BENCH_ONLY:-}" ]; then
  ./integration/bench/idle.sh "$bin"
fi
