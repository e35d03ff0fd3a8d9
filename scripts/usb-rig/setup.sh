#!/usr/bin/env bash
# Sets up the USB rig's work dir (default /var/tmp/linestation-usb-rig, or $LINESTATION_RIG_DIR):
#   1. installs the host packages the rig needs (apt-get, only those missing);
#   2. downloads Debian 13's linux-image package through a PRIVATE apt configuration derived from
#      this machine's own sources (the system's sources and lists are never touched);
#   3. extracts the kernel and only the modules the guest needs (USB core/gadget/CDC, 9p, configfs);
#   4. builds a busybox initramfs that mounts the host root read-only over virtio-9p.
# Idempotent and cached: a second run with everything in place does no network I/O and takes ~1 s.
#   --refresh   re-download the package lists and the kernel package
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if reason=$(rig_skip_reason); then echo "skipped: $reason"; exit 0; fi
REFRESH=0; [ "${1:-}" = --refresh ] && REFRESH=1
T0=$(date +%s.%N)
mkdir -p "$RIG_DIR"; cd "$RIG_DIR"
export DEBIAN_FRONTEND=noninteractive

# 1. host packages: the system's own apt configuration, and only when something is missing.
missing=()
for p in $RIG_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  rig_log "installing host packages: ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. the kernel package, through a private apt configuration.
mirror_uri() {
  local f u
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    u=$(awk 'tolower($1)=="uris:" { print $2; exit }' "$f")
    case "$u" in */debian | */debian/) echo "$u"; return;; esac
  done
  if [ -f /etc/apt/sources.list ]; then
    awk '$1=="deb" { sub(/^deb[ \t]+(\[[^]]*\][ \t]+)?/, ""); if ($1 ~ /\/debian\/?$/) { print $1; exit } }' /etc/apt/sources.list
  fi
}
APT_DIR=$RIG_DIR/apt
APT_OPTS=(-o Dir::Etc::sourcelist="$APT_DIR/sources.list" -o Dir::Etc::sourceparts=/nonexistent
  -o Dir::State::Lists="$APT_DIR/lists" -o Dir::Cache="$APT_DIR/cache" -o APT::Sandbox::User=root)
deb=$(ls "$APT_DIR"/debs/linux-image-*-amd64_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ] || [ $REFRESH = 1 ]; then
  mirror=${LINESTATION_RIG_MIRROR:-$(mirror_uri)}
  [ -n "$mirror" ] || { echo "usb-rig setup: no Debian mirror in /etc/apt; set LINESTATION_RIG_MIRROR" >&2; exit 1; }
  mkdir -p "$APT_DIR"/lists/partial "$APT_DIR"/cache/archives/partial "$APT_DIR"/debs
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $RIG_SUITE main" > "$APT_DIR/sources.list"
  rig_log "fetching the $RIG_SUITE package list from $mirror (private apt state in $APT_DIR)"
  apt-get "${APT_OPTS[@]}" update -qq
  pkg=$(apt-cache "${APT_OPTS[@]}" depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
  [ -n "$pkg" ] || { echo "usb-rig setup: linux-image-amd64 has no kernel dependency in $RIG_SUITE" >&2; exit 1; }
  rm -f "$APT_DIR"/debs/linux-image-*.deb
  rig_log "downloading $pkg"
  (cd "$APT_DIR/debs" && apt-get "${APT_OPTS[@]}" download "$pkg" >/dev/null)
  # The package lists are only needed to resolve the name: drop them to keep the work dir small.
  rm -rf "$APT_DIR/lists" "$APT_DIR/cache"
  deb=$(ls "$APT_DIR"/debs/linux-image-*-amd64_*.deb | head -1)
fi

# 3. kernel + the modules the guest loads, with depmod. Cached per package file.
stamp="$(basename "$deb") $(sha256sum "$RIG_SCRIPTS/build-initramfs.sh" | cut -c1-16)"
if [ "$(cat "$RIG_DIR/setup.stamp" 2>/dev/null || true)" = "$stamp" ] && [ -f "$RIG_DIR/kernel.ver" ]; then
  rig_log "cached: $(cat "$RIG_DIR/kernel.ver") in $RIG_DIR"
else
  rm -rf "$RIG_DIR/kernel"; mkdir -p "$RIG_DIR/kernel"
  m='./usr/lib/modules/*/kernel'
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$RIG_DIR/kernel" --wildcards \
    './boot/vmlinuz-*' './usr/lib/modules/*/modules.builtin*' './usr/lib/modules/*/modules.order' \
    "$m/drivers/usb/common/*" "$m/drivers/usb/core/*" "$m/drivers/usb/class/cdc-acm*" \
    "$m/drivers/usb/gadget/*" "$m/fs/9p/*" "$m/net/9p/*" "$m/fs/netfs/*" "$m/fs/configfs/*"
  ln -sfn usr/lib "$RIG_DIR/kernel/lib"
  kver=$(ls "$RIG_DIR/kernel/lib/modules" | head -1)
  depmod -b "$RIG_DIR/kernel" "$kver"
  # 4. the initramfs
  "$RIG_SCRIPTS/build-initramfs.sh" "$RIG_DIR/kernel" "$kver" "$RIG_DIR"
  echo "$kver" > "$RIG_DIR/kernel.ver"
  echo "$stamp" > "$RIG_DIR/setup.stamp"
fi
mkdir -p "$RIG_DIR/out"
rig_log "setup done in $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s (kernel $(cat "$RIG_DIR/kernel.ver"), work dir $RIG_DIR, $(du -sh "$RIG_DIR" | cut -f1))"
