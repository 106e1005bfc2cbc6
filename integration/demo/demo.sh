#!/usr/bin/env bash
# make demo: hostwall's main job on a built-in example, in throwaway
# network namespaces. Needs root, Go and iproute2; no iptables binaries.
# Traffic flows only over a veth pair between the demo's own namespaces.
set -euo pipefail
bin=$(realpath "${1:-bin/hostwall}")
here=$(dirname "$(realpath "$0")")
[ "$(id -u)" = 0 ] || { echo "make demo needs root (it makes network namespaces)"; exit 1; }

host=hw-demo-host-$$ client=hw-demo-client-$$
work=$(mktemp -d)
export XTABLES_LOCKFILE=$work/xtables.lock
server=
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  ip netns del "$host" 2>/dev/null || true
  ip netns del "$client" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
hw() { ip netns exec "$host" "$bin" "$@"; }

go build -o "$work/tcpprobe" "$here/tcpprobe"
ip netns add "$host"
ip netns add "$client"
ip link add hw-demo0 netns "$host" type veth peer name hw-demo1 netns "$client"
ip -n "$host" addr add 10.253.0.1/30 dev hw-demo0
ip -n "$client" addr add 10.253.0.2/30 dev hw-demo1
for ns in "$host" "$client"; do ip -n "$ns" link set lo up; done
ip -n "$host" link set hw-demo0 up
ip -n "$client" link set hw-demo1 up
ip netns exec "$host" "$work/tcpprobe" serve 22 8000 &
server=$!
sleep 0.3

probe() {
  local port=$1 result
  result=$(ip netns exec "$client" "$work/tcpprobe" dial "10.253.0.1:$port")
  printf '  client -> host:%-5s %s\n' "$port" "$result"
}

step "1. A Docker host's tables, loaded with 'hostwall restore' (no iptables binary anywhere)"
hw restore -4 "$here/docker-host.v4.rules"
hw save -4 -t filter | grep -v '^#'

step "2. Before hostwall: everything is open"
probe 22; probe 8000

step "3. What 'hostwall apply' would do with the example policy (--dry-run: nothing written)"
hw apply -4 "$here/policy.v4" --dry-run

step "4. hostwall apply: FILTERS created, hooked from INPUT and DOCKER-USER; nothing else touched"
hw save -4 -t filter | grep -v '^#' > "$work/before"
hw apply -4 "$here/policy.v4"
hw save -4 -t filter | grep -v '^#' > "$work/after"
echo "  diff of 'hostwall save' before -> after:"
diff "$work/before" "$work/after" | sed 's/^/    /' || true

step "5. Real TCP from the client namespace: ssh (22) is allowed, 8000 is refused"
probe 22; probe 8000

step "6. The same file again: no write at all"
hw apply -4 "$here/policy.v4"

step "7. Allow 8000 too and re-apply: one rule added, counters of the rest kept"
sed 's/^-A FILTERS -j REJECT$/-A FILTERS -p tcp -m tcp --dport 8000 -j ACCEPT\n-A FILTERS -j REJECT/' "$here/policy.v4" > "$work/policy2.v4"
hw save -4 -c -t filter | grep -v '^#' > "$work/before"
hw apply -4 "$work/policy2.v4"
hw save -4 -c -t filter | grep -v '^#' > "$work/after"
echo "  diff of 'hostwall save -c' (with counters) before -> after:"
diff "$work/before" "$work/after" | sed 's/^/    /' || true
probe 22; probe 8000

echo
echo "Namespaces $host and $client removed; the machine's own firewall was never touched."
