#!/bin/sh
# deb postinst (electron-builder afterInstall): install the udev rules that give the logged-in
# user access to Particle devices (normal and DFU mode), then make udev apply them to devices
# already plugged in. Failures here must not fail the package install.
set -e
RULES_SRC="/opt/linestation/resources/udev/99-linestation-particle.rules"
RULES_DST="/etc/udev/rules.d/99-linestation-particle.rules"
if [ -f "$RULES_SRC" ]; then
  install -m 0644 "$RULES_SRC" "$RULES_DST"
  if command -v udevadm >/dev/null 2>&1; then
    udevadm control --reload-rules || true
    udevadm trigger --subsystem-match=usb --attr-match=idVendor=2b04 || true
  fi
fi
# electron-builder's default postinst also links the binary and sets chrome-sandbox; keep that.
if [ -f /opt/linestation/chrome-sandbox ]; then
  chmod 4755 /opt/linestation/chrome-sandbox || true
fi
ln -sf /opt/linestation/linestation /usr/bin/linestation-desktop || true
exit 0
