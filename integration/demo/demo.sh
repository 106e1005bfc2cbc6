#!/usr/bin/env bash
# make demo: hostwall's main job on a built-in example, in throwaway
# network namespaces. Needs root, Go and iproute2; no iptables binaries.
# Traffic flows only over a veth pair between the demo's own namespaces.
set -euo pipefail
bin=$(realpath "${1:-bin/hostwall}")
here=$(dirname "$(realpath "$0")")
[ "$(id -u)" = 0 ] || { echo "make demo needs root (it makes network namespaces)"; exit 1; }

client=hw-demo-client-$$
hosts=()
work=$(mktemp -d)
export XTABLES_LOCKFILE=$work/xtables.lock
servers=()
cleanup() {
  for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; done
  for ns in "${hosts[@]}" "$client"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
hw() { ip netns exec "$host" "$bin" "$@"; }

go build -o "$work/tcpprobe" "$here/tcpprobe"
ip netns add "$client"
ip -n "$client" link set lo up

# new_host N: a "host" namespace joined to the client by a veth pair,
# 10.253.N.1 <-> 10.253.N.2, serving TCP on 22 and 8000.
new_host() {
  local n=$1
  host=hw-demo-host$n-$$
  hosts+=("$host")
  ip netns add "$host"
  ip link add hw-demo0 netns "$host" type veth peer name hw-democ$n netns "$client"
  ip -n "$host" addr add 10.253.$n.1/30 dev hw-demo0
  ip -n "$client" addr add 10.253.$n.2/30 dev hw-democ$n
  ip -n "$host" link set lo up
  ip -n "$host" link set hw-demo0 up
  ip -n "$client" link set hw-democ$n up
  ip netns exec "$host" "$work/tcpprobe" serve 22 8000 &
  servers+=($!)
  addr=10.253.$n.1
  sleep 0.3
}

probe() {
  local port=$1 result
  result=$(ip netns exec "$client" "$work/tcpprobe" dial "$addr:$port")
  printf '  client -> host:%-5s %s\n' "$port" "$result"
}

# One run per backend: nf_tables as iptables-nft writes it (what Debian
# 11+, Ubuntu 20.04+ and RHEL 8+ use, and hostwall's choice on a fresh
# host), then x_tables as iptables-legacy. apply detects which one the
# host's rules are in; restore and save are told.
demo() {
  local backend=$1 what=$2
  new_host "$3"
  printf '\n\033[1m######## %s ########\033[0m\n' "$what"
  step "1. A Docker host's tables in $what, loaded with 'hostwall restore --backend $backend' (no iptables binary anywhere)"
  hw restore --backend "$backend" -4 "$here/docker-host.v4.rules"
  hw save --backend "$backend" -4 -t filter | grep -v '^#'

  step "2. Before hostwall: everything is open"
  probe 22; probe 8000

  step "3. What 'hostwall apply' would do with the example policy (--dry-run: nothing written; the backend is detected)"
  hw apply -4 "$here/policy.v4" --dry-run

  step "4. hostwall apply: FILTERS created, hooked from INPUT and DOCKER-USER; nothing else touched"
  hw save --backend "$backend" -4 -t filter | grep -v '^#' > "$work/before"
  hw apply -4 "$here/policy.v4"
  hw save --backend "$backend" -4 -t filter | grep -v '^#' > "$work/after"
  echo "  diff of 'hostwall save' before -> after:"
  diff "$work/before" "$work/after" | sed 's/^/    /' || true

  step "5. Real TCP from the client namespace: ssh (22) is allowed, 8000 is refused"
  probe 22; probe 8000

  step "6. The same file again: no write at all"
  hw apply -4 "$here/policy.v4"

  step "7. Allow 8000 too and re-apply: one rule added, counters of the rest kept"
  sed 's/^-A FILTERS -j REJECT$/-A FILTERS -p tcp -m tcp --dport 8000 -j ACCEPT\n-A FILTERS -j REJECT/' "$here/policy.v4" > "$work/policy2.v4"
  hw save --backend "$backend" -4 -c -t filter | grep -v '^#' > "$work/before"
  hw apply -4 "$work/policy2.v4"
  hw save --backend "$backend" -4 -c -t filter | grep -v '^#' > "$work/after"
  echo "  diff of 'hostwall save -c' (with counters) before -> after:"
  diff "$work/before" "$work/after" | sed 's/^/    /' || true
  probe 22; probe 8000
}

demo nft "nf_tables (iptables-nft form)" 0
demo legacy "x_tables (iptables-legacy)" 1
echo
echo "Namespaces ${hosts[*]} and $client removed; the machine's own firewall was never touched."
