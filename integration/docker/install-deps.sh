#!/usr/bin/env bash
# Installs what integration/docker needs from Debian's archive: the
# Docker engine (docker.io: dockerd, containerd, runc, docker-proxy,
# docker-init) and a static busybox for the test's image. Run as root
# after `apt-get update` (it updates the lists itself if an install
# fails without them).
#
# A policy-rc.d that exits 101 keeps the package from starting dockerd
# (and containerd) in the machine's own network namespace while it
# installs: the test starts its own dockerd, in a namespace of its own.
# An existing policy-rc.d is left as it was.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(docker.io busybox-static)

missing=()
for p in "${pkgs[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

prc=/usr/sbin/policy-rc.d
made=
if [ ! -e "$prc" ]; then
  printf '#!/bin/sh\n# integration/docker/install-deps.sh: start no service while installing\nexit 101\n' > "$prc"
  chmod 755 "$prc"
  made=1
fi
cleanup() { if [ -n "$made" ]; then rm -f "$prc"; fi; }
trap cleanup EXIT

install() { apt-get install -y -qq --no-install-recommends --no-upgrade "${missing[@]}" >/dev/null; }
if ! install; then
  apt-get update -qq
  install
fi
