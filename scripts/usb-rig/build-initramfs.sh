#!/usr/bin/env bash
# Builds the guest's initramfs: static busybox plus the virtio/9p modules, and an /init that mounts
# the HOST root read-only over virtio-9p (so the guest runs the host's node, dfu-util and the
# checkout unchanged), tmpfs where the guest needs to write, the rig work dir read-write at its host
# path, then switch_roots into the stage2 script named on the kernel command line (stage2=).
#   build-initramfs.sh <extracted-kernel-dir> <kernel-version> <out-dir>
set -euo pipefail
KDIR=$1; KVER=$2; OUT=$3
W=$(mktemp -d "$OUT/initramfs.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$W"/{bin,mods,proc,sys,dev,newroot}
cp /bin/busybox "$W/bin/busybox"
: > "$W/mods/order"
for m in $(modprobe -d "$KDIR" -S "$KVER" --show-depends -a virtio_pci 9pnet_virtio 9p 2>/dev/null |
  awk '$1 == "insmod" && !seen[$2]++ { print $2 }'); do
  b=$(basename "$m"); b=${b%.xz}; b=${b%.zst}
  case $m in
    *.xz) xz -dc "$m" > "$W/mods/$b" ;;
    *.zst) zstd -qdc "$m" > "$W/mods/$b" ;;
    *) cp "$m" "$W/mods/$b" ;;
  esac
  echo "$b" >> "$W/mods/order"
done
[ -s "$W/mods/order" ] || { echo "build-initramfs: no virtio/9p modules in $KDIR" >&2; exit 1; }
cat > "$W/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /mods/order); do insmod "/mods/$m" || echo "initramfs: insmod $m failed"; done
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p" | tail -1; }
O=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$O,ro,cache=loose" hostroot /newroot || { echo "initramfs: 9p root mount failed"; poweroff -f; }
for d in tmp run var/tmp root; do mount -t tmpfs tmpfs "/newroot/$d"; done
RIG=$(arg rigdir); STAGE2=$(arg stage2)
mkdir -p "/newroot$RIG" 2>/dev/null
mount -t 9p -o "$O" rigdir "/newroot$RIG" || echo "initramfs: rig dir mount failed"
# The checkout gets its own share: it may live under a folder the guest mounts a tmpfs on
# (CI clones into a temporary folder), where the host root share would not show it.
REPO=$(arg repo)
mkdir -p "/newroot$REPO" 2>/dev/null
mount -t 9p -o "$O,ro,cache=loose" repo "/newroot$REPO" || echo "initramfs: checkout mount failed"
mount --move /proc /newroot/proc; mount --move /sys /newroot/sys; mount --move /dev /newroot/dev
exec switch_root /newroot "$STAGE2"
INIT
chmod +x "$W/init"
(cd "$W" && find . | cpio -o -H newc --quiet | gzip -1) > "$OUT/initramfs.img"
cp "$KDIR/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
echo "build-initramfs: $OUT/vmlinuz + initramfs.img (modules: $(tr '\n' ' ' < "$W/mods/order"))" >&2
