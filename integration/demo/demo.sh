#!/usr/bin/env bash
# make demo: hostwall's main job on a built-in example, in a throwaway
# network namespace. Needs root and iproute2; no iptables binaries.
set -euo pipefail
bin=$(realpath "${1:-bin/hostwall}")
here=$(dirname "$(realpath "$0")")
[ "$(id -u)" = 0 ] || { echo "make demo needs root (it makes a network namespace)"; exit 1; }
ns=hostwall-demo-$$
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
export XTABLES_LOCKFILE=/tmp/$ns.lock
trap 'ip netns del "$ns"; rm -f "$XTABLES_LOCKFILE"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. A Docker host's tables, loaded with 'hostwall restore' into namespace $ns"
ip netns exec "$ns" "$bin" restore -4 "$here/docker-host.v4.rules"
ip netns exec "$ns" "$bin" save -4

step "2. The filter table with counters, straight from the kernel ('hostwall save -c -t filter')"
ip netns exec "$ns" "$bin" save -4 -c -t filter

step "3. The raw kernel view of one table ('hostwall dump -t nat')"
ip netns exec "$ns" "$bin" dump -4 -t nat

echo
echo "Namespace $ns removed; the machine's own firewall was never touched."
