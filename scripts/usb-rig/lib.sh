# Shared by setup.sh, run.sh and test.sh (sourced, not run).
# The rig writes only under RIG_DIR, never into the checkout or the system's apt configuration.

RIG_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd "$RIG_SCRIPTS/../.." && pwd -P)
RIG_DIR=${LINESTATION_RIG_DIR:-/var/tmp/linestation-usb-rig}
# Debian 13 ships 6.12: FunctionFS there accepts the DFU functional descriptor (6.1 rejects it).
RIG_SUITE=${LINESTATION_RIG_SUITE:-trixie}
# Host packages the rig uses (QEMU, the initramfs tools, and dfu-util for the guest checks).
RIG_PACKAGES="qemu-system-x86 busybox-static dfu-util kmod cpio xz-utils zstd udev"

rig_log() { printf '[usb-rig %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# Prints why the rig cannot run here (and returns 0), or returns 1 when it can.
rig_skip_reason() {
  if [ "$(uname -s)" != Linux ]; then echo "the USB rig needs Linux (this is $(uname -s))"; return 0; fi
  if [ "$(id -u)" != 0 ]; then echo "the USB rig needs root (apt-get, configfs in the guest); run it with sudo"; return 0; fi
  if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
    echo "the USB rig needs a Debian-family host (apt-get, dpkg-deb)"; return 0
  fi
  case "$RIG_DIR" in *' '* | *,*) echo "LINESTATION_RIG_DIR must not contain spaces or commas (QEMU option syntax): $RIG_DIR"; return 0;; esac
  case "$REPO_ROOT" in *' '* | *,*) echo "the checkout path must not contain spaces or commas (QEMU option syntax): $REPO_ROOT"; return 0;; esac
  return 1
}

# The Node 22 the project runs on (node:sqlite); the guest sees the same file over 9p.
rig_node() {
  if [ -x "$REPO_ROOT/node_modules/.bin/node" ]; then echo "$REPO_ROOT/node_modules/.bin/node"; else command -v node; fi
}
