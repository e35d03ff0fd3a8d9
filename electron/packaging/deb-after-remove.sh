#!/bin/sh
# deb postrm: remove the udev rules we installed (only on remove/purge, not on upgrade).
case "$1" in
  remove|purge)
    rm -f /etc/udev/rules.d/99-linestation-particle.rules
    command -v udevadm >/dev/null 2>&1 && udevadm control --reload-rules || true
    rm -f /usr/bin/linestation-desktop
    ;;
esac
exit 0
