#!/usr/bin/env bash
# Installs what a make target needs and does not find, so that the
# README's commands work on a fresh Debian 12 machine (root, Go
# installed). The Makefile runs it first; when everything is present it
# only looks (dpkg-query, go version -m) and returns in a fraction of a
# second.
#
#   integration/deps/install.sh GROUP...
#
#   demo         iproute2: the demo's namespaces and veth pair
#   bench        iptables (the seed recipe), iproute2, netbase
#   vm           integration/vm/packages: qemu, the initramfs tools, the oracle
#   docker       docker.io and busybox-static: the real-Docker test
#   boot         mmdebstrap, e2fsprogs, qemu, busybox-static, cpio, kmod: the boot test
#                (integration/boot/run.sh)
#   test         all of the above, nftables, ipset, nfacct, git, groff-base, zsh,
#                and vagrant where the archive has it
#   cross        qemu-user-static: make cross runs the arm64 unit tests under it
#   staticcheck  bin/tools/staticcheck at $STATICCHECK_VERSION (no root needed)
#
# Debian packages are installed only when dpkg-query says they are not;
# `apt-get update` runs only when an install needs it (it fails without
# it). A policy-rc.d that exits 101 keeps docker.io from starting dockerd
# and containerd in the machine's own network namespace while it installs
# (the tests start their own dockerd in a namespace of their own); an
# existing policy-rc.d is left as it was.
set -euo pipefail
cd "$(dirname "$0")/../.."
export DEBIAN_FRONTEND=noninteractive
STATICCHECK_VERSION=v0.8.2
log() { printf 'deps: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# Debian keeps iptables, ipset and ip in /usr/sbin, which a minimal PATH
# (cron, some CI runners, su without -) lacks, and the tests look them up
# on PATH; Go's own tarball installs into /usr/local/go/bin. The Makefile
# adds both.
case ":$PATH:" in
  *:/usr/sbin:*) ;;
  *) die "PATH lacks /usr/sbin, where iptables, ipset and ip are (PATH=\$PATH:/usr/sbin)" ;;
esac
command -v go >/dev/null || die "go not found on PATH (Go's tarball installs into /usr/local/go/bin)"

# Packages per group; "?" marks one installed only where the archive has it.
pkgs_demo=(iproute2)
pkgs_bench=(iptables iproute2 netbase)
pkgs_docker=(docker.io busybox-static)
pkgs_cross=(qemu-user-static)
pkgs_boot=(mmdebstrap e2fsprogs qemu-system-x86 busybox-static cpio kmod)
# iptables: the oracle (iptables-legacy-*, and the -nft variants Docker
# may use); nftables: nft, the oracle of the nf_tables backend; ipset:
# sets for -m set and -j SET; netbase: /etc/protocols and /etc/services as
# iptables reads them; git: make lint lists the Go files with it;
# vagrant: make lint validates the Vagrantfile; groff-base and zsh: the
# man page and the zsh completion are rendered and run (cmd/hostwall).
pkgs_test=(iptables nftables iproute2 ipset nfacct netbase git groff-base zsh "${pkgs_docker[@]}" "${pkgs_boot[@]}" "${pkgs_cross[@]}" vagrant?)

want=() staticcheck=
for group in "$@"; do
  case $group in
    demo) want+=("${pkgs_demo[@]}") ;;
    bench) want+=("${pkgs_bench[@]}") ;;
    docker) want+=("${pkgs_docker[@]}") ;;
    boot) want+=("${pkgs_boot[@]}") ;;
    cross) want+=("${pkgs_cross[@]}") ;;
    vm) want+=($(awk '!/^#/ && NF {print $1}' integration/vm/packages)) ;;
    test) want+=("${pkgs_test[@]}" $(awk '!/^#/ && NF {print $1}' integration/vm/packages)) ;;
    staticcheck) staticcheck=1 ;;
    *) die "unknown group $group" ;;
  esac
done

# Debian packages.
if [ ${#want[@]} -gt 0 ]; then
  declare -A installed=()
  while read -r p status; do
    [ "$status" = "install ok installed" ] && installed[$p]=1
  done < <(dpkg-query -W -f='${Package} ${Status}\n' "${want[@]%\?}" 2>/dev/null || true)
  missing=() optional=()
  declare -A seen=()
  for p in "${want[@]}"; do
    name=${p%\?}
    [ -n "${installed[$name]:-}" ] || [ -n "${seen[$name]:-}" ] && continue
    seen[$name]=1
    if [ "$name" = "$p" ]; then missing+=("$name"); else optional+=("$name"); fi
  done

  updated=
  update() { [ -n "$updated" ] || { log "apt-get update"; apt-get update -qq; updated=1; }; }
  # known PACKAGE: the archive has it (after an update if the lists have never been fetched).
  known() {
    apt-cache show --no-all-versions "$1" >/dev/null 2>&1 && return 0
    if [ -z "$updated" ] && ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
      update
      apt-cache show --no-all-versions "$1" >/dev/null 2>&1 && return 0
    fi
    return 1
  }
  if [ "$(id -u)" != 0 ]; then
    [ ${#missing[@]} -eq 0 ] || die "missing Debian packages ${missing[*]}, and not root to install them (run make as root, or apt-get install them)"
    optional=()
  fi
  for p in "${optional[@]}"; do
    if known "$p"; then missing+=("$p"); else log "$p is not in this machine's archive; skipped"; fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    prc=/usr/sbin/policy-rc.d made=
    if [ ! -e "$prc" ]; then
      printf '#!/bin/sh\n# %s: start no service while installing\nexit 101\n' "$0" >"$prc"
      chmod 755 "$prc"
      made=1
    fi
    trap '[ -z "$made" ] || rm -f "$prc"' EXIT
    log "installing ${missing[*]}"
    apt_install() { apt-get install -y -qq --no-install-recommends --no-upgrade "${missing[@]}" >/dev/null; }
    if ! apt_install; then
      [ -z "$updated" ] || exit 1
      update
      apt_install
    fi
  fi
fi

# staticcheck, pinned and built by this Go into bin/tools, so that make
# lint never depends on what PATH happens to hold.
if [ -n "$staticcheck" ]; then
  sc=bin/tools/staticcheck
  # go version -m prints "PATH: goVERSION" and then "mod MODULE VERSION SUM".
  have=$(go version -m "$sc" 2>/dev/null | awk 'NR==1 {print $2} $1=="mod" {print $3}' | paste -sd' ' || true)
  if [ "$have" != "$(go env GOVERSION) $STATICCHECK_VERSION" ]; then
    log "installing staticcheck $STATICCHECK_VERSION into $sc"
    GOBIN=$PWD/bin/tools CGO_ENABLED=0 go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
  fi
fi
