#!/usr/bin/env bash
# The idle cost of hostwall watch: CPU seconds per hour and RSS of a
# watcher with nothing to do, per backend, each in a throwaway network
# namespace holding a Docker-shaped table. Run by make bench (run.sh);
# alone: integration/bench/idle.sh [BIN]. Writes the "Idle watcher"
# section of integration/bench/results.md.
#   BENCH_IDLE_SECONDS=120  how long each watcher idles (measured after
#                           its first reconcile and a settling second)
# CPU is the sum of every thread's on-CPU time from
# /proc/PID/task/*/schedstat (nanoseconds; /proc/PID/stat's clock ticks
# are too coarse for an idle process); RSS is VmRSS at the end and VmHWM.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "idle.sh needs root (it makes network namespaces)"; exit 1; }
bin=$(realpath "${1:-${HOSTWALL_BIN:-bin/hostwall}}")
secs=${BENCH_IDLE_SECONDS:-120}
results=integration/bench/results.md
work=$(mktemp -d)
declare -a namespaces=() pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for n in "${namespaces[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

oncpu() { # nanoseconds on CPU of every thread of $1
  local sum=0 t
  for t in /proc/"$1"/task/*/schedstat; do
    read -r ns _ < "$t" && sum=$((sum + ns))
  done
  echo "$sum"
}

# case: name backend restore-tool interval
cases=(
  "nft|nft|iptables-nft-restore|2s"
  "native|native|iptables-nft-restore|2s"
  "legacy, --interval 2s (default)|legacy|iptables-legacy-restore|2s"
  "legacy, --interval 10s|legacy|iptables-legacy-restore|10s"
  "legacy, --interval 500ms|legacy|iptables-legacy-restore|500ms"
)
policy=integration/testdata/policy/seed-docker.v4
declare -a names=()
i=0
for c in "${cases[@]}"; do
  IFS='|' read -r name backend restore interval <<< "$c"
  ns=hwidle-$$-$i
  ip netns add "$ns"
  namespaces+=("$ns")
  ip netns exec "$ns" "$restore" -c < integration/testdata/base/docker.v4.rules
  mkdir -p "$work/$i"
  HOSTWALL_RUN_DIR="$work/$i" XTABLES_LOCKFILE="$work/$i/xtables.lock" \
    ip netns exec "$ns" "$bin" watch --backend "$backend" --interval "$interval" -4 "$policy" 2> "$work/$i/log" &
  pids+=($!)
  names+=("$name")
  i=$((i + 1))
done
# First reconciles, then a second to settle.
for j in "${!pids[@]}"; do
  for _ in $(seq 100); do [ -s "$work/$j/watch.json" ] && grep -q '"reconciles": [1-9]' "$work/$j/watch.json" && break; sleep 0.1; done
done
sleep 1
declare -a start=()
for j in "${!pids[@]}"; do start[$j]=$(oncpu "${pids[$j]}"); done
t0=$(date +%s.%N)
sleep "$secs"
t1=$(date +%s.%N)
rows=""
for j in "${!pids[@]}"; do
  p=${pids[$j]}
  end=$(oncpu "$p")
  rss=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' /proc/"$p"/status)
  hwm=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/"$p"/status)
  recon=$(grep -o '"reconciles": [0-9]*' "$work/$j/watch.json" | grep -o '[0-9]*$')
  writes=$(grep -o '"writes": [0-9]*' "$work/$j/watch.json" | grep -o '[0-9]*$')
  perhour=$(awk -v a="${start[$j]}" -v b="$end" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.3f", (b-a)/1e9 * 3600/(t1-t0)}')
  rows+="| ${names[$j]} | $perhour | $rss | $hwm | $recon | $writes |"$'\n'
done
took=$(awk -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.0f", t1-t0}')

section=$(cat <<EOF
<!-- idle section: written by integration/bench/idle.sh (make bench) -->

# Idle watcher

Latest run of integration/bench/idle.sh: \`hostwall watch -4 seed-docker.v4\` per backend, each in its own network namespace holding the Docker-shaped table of integration/testdata/base/docker.v4.rules, idle for ${took} s after its first reconcile. CPU is every thread's on-CPU time (/proc/PID/task/*/schedstat) over the idle period, scaled to an hour; RSS is VmRSS at the end, peak VmHWM. Reconciles and writes count the first one (start).

- date: $(date -u '+%Y-%m-%d %H:%M UTC'); kernel $(uname -r); $(nproc) CPUs; load average before/after the run: see the top section's machine

| backend | CPU s / hour | RSS (MiB) | peak RSS (MiB) | reconciles | writes |
|--|--:|--:|--:|--:|--:|
${rows}
On nf_tables the watcher sleeps in recvmsg on the NFNLGRP_NFTABLES socket, in rtnetlink only where a hook is marked external-interfaces, and in inotify: idle, it costs nothing but memory (target: under 1 CPU-second per hour). On x_tables, which sends no events, it wakes every --interval to read /proc/net/ip_tables_names and one GET_INFO per watched table, and every 30th probe reads and plans the tables (a reconcile that writes nothing); its cost is proportional to 1/interval, and an --interval of 2 s bounds the time to notice a flush to about 2 s.
<!-- end idle section -->
EOF
)
if [ -f "$results" ] && grep -q '<!-- idle section' "$results"; then
  awk -v s="$section" '
    /<!-- idle section/ {print s; skip=1; next}
    /<!-- end idle section -->/ {skip=0; next}
    !skip {print}' "$results" > "$work/results.md"
  cp "$work/results.md" "$results"
else
  printf '\n%s\n' "$section" >> "$results"
fi
echo "$section"
