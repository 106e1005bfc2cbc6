#!/usr/bin/env bash
# make vm-test: run the integration suite under a second kernel, Debian
# 12's own (linux-image-amd64), booted by qemu-system-x86_64 from an
# initramfs built here: busybox-static, the kernel's netfilter modules
# (x_tables and nf_tables), iptables-legacy, iptables-nft, nft, ipset and
# ip with their libraries (the oracles), the static
# hostwall and the static integration test binary with its testdata.
# The host's own kernel and firewall are not touched. Exits non-zero
# unless the guest reports PASS.
#
#   VM_TEST_ARGS='-test.run TestApply'  extra flags for the test binary
#   VM_TIMEOUT=1200                     hard limit for the boot, seconds
#   VM_CACHE=DIR                        kernel cache (default bin/vm)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
VMDIR=$ROOT/integration/vm
CACHE=${VM_CACHE:-$ROOT/bin/vm}
TIMEOUT=${VM_TIMEOUT:-1200}
export CGO_ENABLED=0 DEBIAN_FRONTEND=noninteractive
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
log() { printf 'vm-test: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (apt-get, depmod)"

# 1. Host tools, from Debian's archive when missing.
apt_updated=
apt_update() { [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }; }
missing=()
while read -r pkg file; do
  case $pkg in ''|'#'*) continue ;; esac
  [ -e "$file" ] || missing+=("$pkg")
done <"$VMDIR/packages"
# static FILE: true when FILE needs no loader (ldd, from libc-bin, says so).
static() { ! ldd "$1" >/dev/null 2>&1; }
# A dynamically linked busybox (Debian's "busybox") cannot run without libc.
if [ -e /bin/busybox ] && ! static /bin/busybox; then
  missing+=(busybox-static)
fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt_update; apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi
command -v go >/dev/null || die "go not found"

# 2. The guest kernel: linux-image-amd64's current image package, fetched
# with apt-get download and unpacked into the cache (never installed).
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
if [ -z "$kpkg" ]; then
  apt_update
  kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
fi
[ -n "$kpkg" ] || die "cannot resolve linux-image-amd64"
kver=$(apt-cache show --no-all-versions "$kpkg" | awk '/^Version:/{print $2; exit}')
KDIR=$CACHE/${kpkg}_$kver
if [ ! -e "$KDIR/.done" ]; then
  log "fetching $kpkg $kver"
  rm -rf "$KDIR" && mkdir -p "$KDIR"
  (cd "$KDIR" && apt-get download -o APT::Sandbox::User=root "$kpkg" >/dev/null 2>&1) ||
    { apt_update; (cd "$KDIR" && apt-get download -o APT::Sandbox::User=root "$kpkg" >/dev/null); }
  dpkg-deb -x "$KDIR"/"$kpkg"_*.deb "$KDIR/root"
  rm -f "$KDIR"/*.deb
  touch "$KDIR/.done"
  # Older kernels fetched before are not needed any more.
  find "$CACHE" -mindepth 1 -maxdepth 1 -name 'linux-image-*' ! -name "${kpkg}_$kver" -exec rm -rf {} +
fi
KVER=$(ls "$KDIR/root/lib/modules")
VMLINUZ=$KDIR/root/boot/vmlinuz-$KVER
[ -f "$VMLINUZ" ] || die "no kernel image in $kpkg"
[ -f "$KDIR/root/lib/modules/$KVER/modules.dep" ] || depmod -b "$KDIR/root" "$KVER"

# 3. The static binaries.
WORK=$(mktemp -d /var/tmp/hostwall-vm.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
IRD=$WORK/root
log "building hostwall and the integration test binary"
go build -trimpath -o "$WORK/hostwall" ./cmd/hostwall
go test -c -o "$WORK/integration.test" ./integration/
for b in "$WORK/hostwall" "$WORK/integration.test" /bin/busybox; do
  static "$b" || die "$b is not statically linked"
done

# 4. The initramfs: a merged-/usr tree.
mkdir -p "$IRD"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,usr/local/bin,etc,proc,sys,dev,run,tmp,root,work}
for d in bin sbin lib lib64; do ln -s usr/$d "$IRD/$d"; done
chmod 1777 "$IRD/tmp"

# copy FILE...: each file at its own path, with the shared libraries ldd
# names (and their symlinked sonames resolved to real files).
copy() {
  local f lib
  for f in "$@"; do
    mkdir -p "$IRD$(dirname "$f")"
    cp -L "$f" "$IRD$f"
    ldd "$f" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
      [ -e "$IRD$lib" ] || { mkdir -p "$IRD$(dirname "$lib")"; cp -L "$lib" "$IRD$lib"; }
    done
  done
}
# util-linux's unshare, nsenter, setpriv and script rather than busybox's.
# xtables-nft-multi (iptables-nft, libnftnl, libmnl) and nft (libnftables,
# libjansson, libedit, libgmp...) are the nf_tables backend's oracles.
# nfacct creates the accounting object a fixture's nfacct match names.
copy /usr/sbin/xtables-legacy-multi /usr/sbin/xtables-nft-multi /usr/sbin/nft /usr/sbin/nfacct /usr/sbin/ipset /usr/sbin/ip /usr/bin/kmod \
  /usr/bin/unshare /usr/bin/nsenter /usr/bin/setpriv /usr/bin/script
copy /usr/lib/x86_64-linux-gnu/xtables/*.so
for t in iptables ip6tables; do
  for s in "" -save -restore; do
    ln -sf xtables-legacy-multi "$IRD/usr/sbin/$t-legacy$s"
    # Plain iptables through the alternatives, as Debian links it (the
    # detection follows these links); legacy is the guest's choice.
    ln -sf /etc/alternatives/$t$s "$IRD/usr/sbin/$t$s"
    mkdir -p "$IRD/etc/alternatives"
    ln -sf /usr/sbin/$t-legacy$s "$IRD/etc/alternatives/$t$s"
    ln -sf xtables-nft-multi "$IRD/usr/sbin/$t-nft$s"
  done
done
for t in modprobe insmod rmmod lsmod modinfo depmod; do ln -sf ../bin/kmod "$IRD/usr/sbin/$t"; done
# /bin/sh is dash, as on Debian: busybox's sh runs its own applets in
# preference to PATH, so "ip netns exec" in a test's sh -c would be
# busybox's ip, which has no netns.
# The same for programs that run another by name (timeout, chroot):
# coreutils', as on Debian.
copy /usr/bin/dash /usr/bin/timeout /usr/sbin/chroot
ln -s dash "$IRD/usr/bin/sh"
cp /bin/busybox "$IRD/usr/bin/busybox"
for a in $(/bin/busybox --list); do
  [ -e "$IRD/usr/bin/$a" ] || [ -e "$IRD/usr/sbin/$a" ] || ln -s busybox "$IRD/usr/bin/$a"
done
cp /etc/protocols /etc/services "$IRD/etc/"
# The names iptables' devgroup and realm matches read (iproute2's group,
# rt_realms).
cp -r /etc/iproute2 "$IRD/etc/"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$IRD/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$IRD/etc/group"
: >"$IRD/etc/fstab"

# Kernel modules: netfilter (x_tables, nf_tables, conntrack, nat, ipset), bridge
# netfilter, veth, and the text search algorithms xt_string asks for by
# name (ts_bm, ts_kmp), with every module they depend on.
KMOD=$KDIR/root/lib/modules/$KVER
mods=$(cd "$KMOD" && find kernel/net/netfilter kernel/net/ipv4/netfilter kernel/net/ipv6/netfilter \
  kernel/net/bridge kernel/drivers/net/veth.ko kernel/lib -name '*.ko*' -not -path '*/ipvs/*' \
  \( -path 'kernel/net/*' -o -path 'kernel/drivers/*' -o -name 'ts_*' \) | sort)
# modprobe --show-depends names dependencies and softdeps (libcrc32c
# needs crc32c), as files of the unpacked tree.
deps=$(for m in $mods; do
  modprobe -d "$KDIR/root" -S "$KVER" --show-depends "$(basename "$m" | sed 's/\.ko.*//')"
done | awk '$1 == "insmod" {print $2}' | sed "s|^$KMOD/||" | sort -u)
for m in $mods $deps; do
  mkdir -p "$IRD/lib/modules/$KVER/$(dirname "$m")"
  cp "$KMOD/$m" "$IRD/lib/modules/$KVER/$m"
done
cp "$KMOD"/modules.{order,builtin,builtin.modinfo} "$IRD/lib/modules/$KVER/"
depmod -b "$IRD" "$KVER"
# Loaded at boot (the kernel autoloads the rest through /sbin/modprobe).
for m in $mods; do basename "$m" | sed 's/\.ko.*//'; done |
  grep -E '^(x_tables|ip6?_tables|ip6?table_.*|xt_.*|ipt_.*|ip6t_.*|ip_set.*|nf_conntrack|nf_nat|nf_log_syslog|nfnetlink_(log|queue|acct)|nf_tables|nft_.*|br_netfilter|veth|ts_.*)$' |
  grep -vE '^(xt_LED|xt_ipvs|ipt_CLUSTERIP)$' >"$IRD/etc/vm-modules"

# The suite, laid out as in the repository: the test binary runs in
# /work/integration and finds testdata/ and ../xtables/testdata/.
cp "$WORK/hostwall" "$IRD/usr/local/bin/hostwall"
mkdir -p "$IRD/work/integration" "$IRD/work/xtables"
cp "$WORK/integration.test" "$IRD/work/integration/"
cp -r integration/testdata "$IRD/work/integration/"
cp -r xtables/testdata "$IRD/work/xtables/"
# TestDifferential checks hostwall's option parser against
# iptables-legacy-restore --test variant by variant: parser work, which the
# host runs in every make test; under emulation it would cost two minutes.
printf '%s\n' "${VM_TEST_ARGS:--test.skip ^TestDifferential\$}" >"$IRD/etc/vm-test-args"
install -m 755 "$VMDIR/init" "$IRD/init"

(cd "$IRD" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$WORK/initramfs.gz"
log "initramfs $(du -h "$WORK/initramfs.gz" | cut -f1), kernel $KVER"

# 5. Boot, by software emulation (TCG, one host thread per vCPU): KVM
# is not usable on the machines this runs on. The default CPU model
# (qemu64) runs the suite faster under TCG than -cpu max; so does a
# kernel without the CPU vulnerability mitigations (a throwaway guest).
OUT=$CACHE/vm-test.log
mkdir -p "$CACHE"
log "booting $KVER under qemu (log: ${OUT#"$ROOT"/})"
start=$(date +%s)
set +e
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -nographic -no-reboot -m 2048 -smp 2 \
  -nic none -kernel "$VMLINUZ" -initrd "$WORK/initramfs.gz" \
  -append "console=ttyS0 panic=-1 quiet mitigations=off" </dev/null 2>&1 | stdbuf -oL tr -d '\r' | tee "$OUT"
rc=${PIPESTATUS[0]}
set -e
secs=$(( $(date +%s) - start ))
[ "$rc" = 124 ] && die "FAIL: timed out after ${TIMEOUT}s"
if ! grep -q '^HOSTWALL-VM-RESULT: PASS' "$OUT"; then
  die "FAIL on $KVER after ${secs}s (qemu exit $rc; no PASS from the guest)"
fi
if grep -qE '^(\s*--- FAIL|FAIL\b|panic:)' "$OUT"; then
  die "FAIL on $KVER after ${secs}s (a test failed)"
fi
log "PASS on $KVER in ${secs}s"
