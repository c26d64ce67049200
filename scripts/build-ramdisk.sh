#!/usr/bin/env bash
# Builds the deploy ramdisk (docs/hardware.md, "The deploy ramdisk") from
# Debian packages only: the kernel of Debian's linux-image-amd64 and
# busybox-static, downloaded with `apt-get download` (not installed) into a
# cache outside the work tree, plus cmd/metalplane-agent built static.
#
#   scripts/build-ramdisk.sh [OUT_DIR]      (make ramdisk)
#
# OUT_DIR (default $METALPLANE_RAMDISK_DIR, else
# ${XDG_CACHE_HOME:-~/.cache}/metalplane/ramdisk) receives vmlinuz and
# initrd.gz: give it to `metalplane serve --ramdisk-dir`. The .deb files
# are kept in $METALPLANE_DEB_CACHE (default .../metalplane/debs) and
# reused. MODULES adds kernel modules (names, with their dependencies) to
# the default set of virtual and common NIC and disk drivers.
set -euo pipefail
cd "$(dirname "$0")/.."

cache_root=${XDG_CACHE_HOME:-${HOME:-/var/cache}/.cache}/metalplane
out=${1:-${METALPLANE_RAMDISK_DIR:-$cache_root/ramdisk}}
debs=${METALPLANE_DEB_CACHE:-$cache_root/debs}
# Disk and NIC drivers the Debian kernel has as modules: qemu's virtio and
# e1000, and the AHCI/NVMe/Intel/Broadcom/Mellanox drivers of common
# servers.
modules="virtio_pci virtio_blk virtio_net virtio_scsi e1000 e1000e igb ixgbe i40e ice tg3 bnxt_en mlx5_core ahci ata_piix sd_mod nvme ${MODULES:-}"

# The exact kernel package changes with Debian point releases.
kernel_package() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'; }
kpkg=$(kernel_package)
if [ -z "$kpkg" ] && [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq
  kpkg=$(kernel_package)
fi
if [ -z "$kpkg" ]; then
  echo "build-ramdisk: apt-cache knows no linux-image-amd64 (run apt-get update)" >&2
  exit 1
fi
kver=${kpkg#linux-image-}

mkdir -p "$debs" "$out"
for p in "$kpkg" busybox-static; do
  if ! ls "$debs/${p}"_*.deb >/dev/null 2>&1; then
    (cd "$debs" && apt-get download -q "$p")
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$(ls "$debs/${kpkg}"_*.deb | head -n1)" "$work/kernel"
dpkg-deb -x "$(ls "$debs"/busybox-static_*.deb | head -n1)" "$work/busybox"

root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,etc,lib/modules}
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
for applet in sh mount umount insmod ip udhcpc sleep cat echo ls poweroff reboot sync dmesg; do
  ln -s busybox "$root/bin/$applet"
done

# The modules asked for and their dependencies, dependencies first, in
# the order /init loads them. The package has no modules.dep (depmod makes
# it at install): each module's .modinfo section names its dependencies.
moddir=$work/kernel/lib/modules/$kver
: > "$root/etc/modules"
declare -A loaded=()
add_module() {
  local name=$1 path dep
  [ -n "${loaded[$name]:-}" ] && return 0
  loaded[$name]=1
  if grep -qE "/${name//_/[_-]}\.ko$" "$moddir/modules.builtin"; then
    return 0
  fi
  path=$(grep -E "/${name//_/[_-]}\.ko$" "$moddir/modules.order" | head -n1 || true)
  if [ -z "$path" ] || [ ! -f "$moddir/$path" ]; then
    echo "build-ramdisk: no module $name in $kpkg" >&2
    exit 1
  fi
  for dep in $(tr '\0' '\n' < "$moddir/$path" | sed -n 's/^depends=//p' | tr ',' ' '); do
    add_module "$dep"
  done
  cp "$moddir/$path" "$root/lib/modules/"
  basename "$path" >> "$root/etc/modules"
}
for m in $modules; do add_module "$m"; done

CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$root/bin/metalplane-agent" ./cmd/metalplane-agent

cat > "$root/etc/udhcpc.script" <<'SCRIPT'
#!/bin/sh
# udhcpc's hook: configure the address and the default route it got.
case "$1" in
bound|renew)
  ip addr flush dev "$interface"
  ip addr add "$ip/${mask:-24}" dev "$interface"
  for r in $router; do ip route add default via "$r" dev "$interface"; break; done ;;
esac
SCRIPT
chmod 755 "$root/etc/udhcpc.script"

cat > "$root/init" <<'SCRIPT'
#!/bin/sh
# The deploy ramdisk's init: drivers, network by DHCP, then the agent,
# which powers the machine off when it is done.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /etc/modules); do insmod "/lib/modules/$m" 2>/dev/null; done
ip link set lo up
sleep 1
for dev in /sys/class/net/*; do
  n=${dev##*/}
  [ "$n" = lo ] && continue
  ip link set "$n" up
  if udhcpc -i "$n" -n -q -t 10 -T 1 -s /etc/udhcpc.script >/dev/null 2>&1; then
    echo "metalplane ramdisk: $n configured by DHCP"
    break
  fi
done
exec /bin/metalplane-agent
SCRIPT
chmod 755 "$root/init"

cp "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinuz.new"
# Reproducible: mkinitramfs sorts, zeroes owners and times and numbers
# the entries itself (busybox cpio writes inodes and times).
go run ./internal/tools/mkinitramfs "$root" > "$out/initrd.gz.new"
mv "$out/vmlinuz.new" "$out/vmlinuz"
mv "$out/initrd.gz.new" "$out/initrd.gz"
echo "build-ramdisk: $out/vmlinuz ($kver), $out/initrd.gz ($(du -h "$out/initrd.gz" | cut -f1))"
