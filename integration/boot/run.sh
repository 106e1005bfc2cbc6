#!/usr/bin/env bash
# make boot-test: boot a Debian 12 system with systemd and Debian's
# docker.io under qemu and check that cmd/hostwall/systemd's units put
# FILTERS and its hooks in place before Docker starts, that a published
# container port is refused from another interface (and an allowed one
# is open), and that hostwall-watch.service is ready and repairs a hook.
#
# The root filesystem is built with mmdebstrap from Debian's packages
# through this machine's own apt sources (kernel included:
# linux-image-amd64), made into an ext4 image and cached in
# bin/boot/rootfs-KEY, KEY being a hash of the package list and of the
# recipe below. Each run builds hostwall, lays it out with the units, the
# rules files and the guest's test (integration/boot/guest/) in a small
# initramfs that mounts the image (read-write, qemu -snapshot: the cache
# is never written), copies them in and hands over to systemd. The
# guest's network is its own: no NIC, a veth pair to a "client" network
# namespace inside it. Exits non-zero unless the guest reports PASS.
#
#   BOOT_TIMEOUT=900   hard limit for the boot, seconds (about 140 on an idle
#                      2-core machine; a loaded one takes longer)
#   BOOT_CACHE=DIR     rootfs cache (default bin/boot)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/integration/boot
CACHE=${BOOT_CACHE:-$ROOT/bin/boot}
TIMEOUT=${BOOT_TIMEOUT:-900}
export CGO_ENABLED=0 DEBIAN_FRONTEND=noninteractive
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
log() { printf 'boot-test: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap, mke2fs -d of a root-owned tree)"
for t in mmdebstrap mke2fs qemu-system-x86_64 cpio modprobe go; do
  command -v "$t" >/dev/null || die "$t not found (make deps installs it: integration/deps/install.sh boot)"
done
static() { ! ldd "$1" >/dev/null 2>&1; }
static /bin/busybox || die "/bin/busybox is not static (busybox-static)"

# 1. The root filesystem, cached. The guest's packages; every other
# Essential/minbase package comes with them. The kernel boots without
# Debian's initramfs (update-initramfs is diverted to true: this script
# makes its own), and its modules for graphics, media, InfiniBand,
# wireless and sound are left out.
PACKAGES=(systemd-sysv udev kmod iproute2 iptables docker.io busybox-static linux-image-amd64)

# The machine's own apt sources, as files mmdebstrap pastes into the
# chroot, and the Acquire:: settings it runs apt with (a snapshot
# mirror's Check-Valid-Until, a proxy).
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -s "$f" ] && grep -qE '^[[:space:]]*(deb|Types:)' "$f" && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || die "no apt sources on this machine"
aptopts=()
while IFS= read -r l; do aptopts+=(--aptopt="$l"); done < <(
  apt-config dump | grep -E '^Acquire::((https?|ftp)::Proxy|Check-Valid-Until|Check-Date) ' || true)

build_rootfs() { # DIR
  mmdebstrap --variant=minbase --include="$(IFS=,; echo "${PACKAGES[*]}")" \
    "${aptopts[@]}" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/lib/firmware/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/gpu/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/media/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/infiniband/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/net/wireless/*' \
    --dpkgopt='path-exclude=/lib/modules/*/kernel/sound/*' \
    --essential-hook='chroot "$1" dpkg-divert --quiet --local --no-rename --divert /usr/sbin/update-initramfs.real --add /usr/sbin/update-initramfs' \
    --essential-hook='ln -s /bin/true "$1/usr/sbin/update-initramfs"' \
    --customize-hook='echo hostwall-boot >"$1/etc/hostname"' \
    --customize-hook='printf "/dev/vda / ext4 rw,relatime 0 1\n" >"$1/etc/fstab"' \
    --customize-hook='rm -rf "$1"/var/cache/apt/*.bin "$1"/var/lib/apt/lists/*' \
    bookworm "$1" "${sources[@]}"
}
# cache_kernel ROOTFS DIR: the kernel and what the initramfs loads to
# mount the image (virtio's PCI transport, its block driver and ext4,
# with their dependencies, in order) into DIR.
cache_kernel() {
  local kver m
  kver=$(ls "$1/lib/modules")
  cp "$1/boot/vmlinuz-$kver" "$2/vmlinuz"
  mkdir -p "$2/modules"
  modprobe -d "$1" -S "$kver" -a --show-depends virtio_pci virtio_blk ext4 |
    awk '$1 == "insmod" {print $2}' | awk '!seen[$0]++' | while read -r m; do
      cp "$m" "$2/modules/"
      basename "$m" >>"$2/modules/order"
    done
  echo "$kver" >"$2/kver"
}
key=$( { printf '%s\n' "${PACKAGES[@]}" "${aptopts[@]}"; declare -f build_rootfs cache_kernel; cat "${sources[@]}"; } |
  sha256sum | cut -c1-12)
BASE=$CACHE/rootfs-$key
WORK=$(mktemp -d /var/tmp/hostwall-boot.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
if [ ! -e "$BASE/.done" ]; then
  log "building the Debian 12 root filesystem with mmdebstrap (${PACKAGES[*]}); cached in ${BASE#"$ROOT"/}"
  start=$(date +%s)
  rm -rf "$BASE" && mkdir -p "$BASE"
  build_rootfs "$WORK/rootfs" >"$BASE/mmdebstrap.log" 2>&1 || { tail -n 30 "$BASE/mmdebstrap.log" >&2; die "mmdebstrap failed"; }
  cache_kernel "$WORK/rootfs" "$BASE"
  # Room for Docker's image and container layers (sparse file). No
  # dir_index: e2fsprogs 1.47.0's mke2fs -d can write a bad checksum into
  # an htree directory block ("Directory block checksum does not match"
  # on a large directory); e2fsck checks what it wrote.
  size=$(( $(du -sm "$WORK/rootfs" | cut -f1) + 1024 ))
  mke2fs -q -t ext4 -O ^dir_index -L root -d "$WORK/rootfs" "$BASE/rootfs.ext4" "${size}M"
  e2fsck -fn "$BASE/rootfs.ext4" >"$BASE/e2fsck.log" 2>&1 || { tail -n 20 "$BASE/e2fsck.log" >&2; die "the image does not check"; }
  rm -rf "$WORK/rootfs"
  touch "$BASE/.done"
  find "$CACHE" -mindepth 1 -maxdepth 1 -name 'rootfs-*' ! -name "rootfs-$key" -exec rm -rf {} +
  log "root filesystem built in $(( $(date +%s) - start ))s ($(du -sh --apparent-size "$BASE/rootfs.ext4" | cut -f1) image, kernel $(cat "$BASE/kver"))"
fi
KVER=$(cat "$BASE/kver")

# 2. What each run copies in: hostwall and its units as README.md's
# "Install" puts them, the rules files, the guest's test and a busybox
# image tarball for `docker import` (no registry).
log "building hostwall"
P=$WORK/payload
mkdir -p "$P/usr/local/sbin" "$P/usr/local/bin" "$P/etc/systemd/system/multi-user.target.wants" \
  "$P/usr/lib/tmpfiles.d" "$P/etc/iptables" "$P/var/lib/boot-test"
go build -trimpath -o "$P/usr/local/sbin/hostwall" ./cmd/hostwall
static "$P/usr/local/sbin/hostwall" || die "hostwall is not statically linked"
install -m 644 cmd/hostwall/systemd/hostwall.service cmd/hostwall/systemd/hostwall-watch.service \
  "$HERE"/guest/*.service "$P/etc/systemd/system/"
install -m 644 cmd/hostwall/systemd/hostwall.conf "$P/usr/lib/tmpfiles.d/hostwall.conf"
for u in hostwall.service hostwall-watch.service "$HERE"/guest/*.service; do
  u=$(basename "$u")
  ln -s "../$u" "$P/etc/systemd/system/multi-user.target.wants/$u"
done
install -m 644 "$HERE/guest/rules.v4" "$HERE/guest/rules.v6" "$P/etc/iptables/"
install -m 755 "$HERE/guest/check" "$P/usr/local/bin/boot-test"
img=$WORK/image
mkdir -p "$img/bin" "$img/www"
cp /bin/busybox "$img/bin/busybox"
for a in sh httpd; do ln -s busybox "$img/bin/$a"; done
echo "hostwall boot test: published port" >"$img/www/index.html"
tar -C "$img" -cf "$P/var/lib/boot-test/busybox.tar" .

# 3. The initramfs: busybox, the modules, the payload and init.
I=$WORK/initramfs
mkdir -p "$I/bin" "$I/modules" "$I/proc" "$I/sys" "$I/dev" "$I/newroot"
cp /bin/busybox "$I/bin/busybox"
cp "$BASE"/modules/* "$I/modules/"
cp -a "$P" "$I/payload"
install -m 755 "$HERE/init" "$I/init"
(cd "$I" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$WORK/initramfs.gz"

# 4. Boot (TCG, as make vm-test). The verdict comes on the serial console.
# apparmor=0: Debian's kernel enables AppArmor, and dockerd then wants
# apparmor_parser (the apparmor package, which only docker.io's
# Recommends bring) for every container.
OUT=$CACHE/boot-test.log
log "booting Debian 12 ($KVER) with systemd under qemu (log: ${OUT#"$ROOT"/})"
start=$(date +%s)
set +e
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -nographic -no-reboot -m 2048 -smp 2 \
  -nic none -drive "file=$BASE/rootfs.ext4,format=raw,if=virtio,snapshot=on" \
  -kernel "$BASE/vmlinuz" -initrd "$WORK/initramfs.gz" \
  -append "console=ttyS0 panic=-1 quiet apparmor=0 systemd.show_status=error systemd.mask=serial-getty@ttyS0.service systemd.mask=getty@tty1.service systemd.mask=apt-daily.timer systemd.mask=apt-daily-upgrade.timer" \
  </dev/null 2>&1 | stdbuf -oL tr -d '\r' | tee "$OUT"
rc=${PIPESTATUS[0]}
set -e
secs=$(( $(date +%s) - start ))
[ "$rc" = 124 ] && die "FAIL: timed out after ${secs}s"
grep -q '^HOSTWALL-BOOT-RESULT: PASS' "$OUT" || die "FAIL after ${secs}s (qemu exit $rc; no PASS from the guest)"
log "PASS in ${secs}s"
