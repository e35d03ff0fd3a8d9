#!/bin/sh
# PID 1 in the guest (stage2 after the initramfs). Loads the USB host and gadget drivers with one
# dummy_hcd pair per emulated device, starts udevd (so serialport sees VID/PID, as on a station),
# runs the guest checks, records their exit code in $RIG_DIR/out/guest-rc and powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root NODE_DISABLE_COLORS=1 CI=1
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p" | tail -1; }
RIG_DIR=$(arg rigdir); NODE=$(arg node); N=$(arg devices); ENTRY=$(arg entry)
export RIG_DIR LINESTATION_REPO=$(arg repo) LINESTATION_NODE=$NODE LINESTATION_RIG_GUEST=1
OUT=$RIG_DIR/out
# trace=1: the device server logs every control transfer; repeat=N: benchmark repetitions.
[ "$(arg trace)" = 1 ] && export LINESTATION_FFS_TRACE=1
[ -n "$(arg repeat)" ] && export RIG_BENCH_REPEAT="$(arg repeat)"
up() { cut -d' ' -f1 /proc/uptime; }
finish() { echo "$1" > "$OUT/guest-rc"; sync; echo o > /proc/sysrq-trigger; while :; do sleep 1; done; }
echo "[guest $(up)s] $(uname -r) up"
MP="modprobe -d $RIG_DIR/kernel"
# Full speed, as a Particle device: bMaxPacketSize0 64 and 64-byte packets on the wire.
$MP dummy_hcd num="${N:-2}" is_high_speed=0 && $MP libcomposite && $MP usb_f_fs && $MP usb_f_acm && $MP cdc-acm ||
  { echo "[guest] loading USB modules failed"; dmesg | tail -20; finish 90; }
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
/lib/systemd/systemd-udevd --daemon >"$OUT/udevd.log" 2>&1 || echo "[guest] udevd did not start (serial VID/PID unavailable)"
cd "$LINESTATION_REPO"
# entry=guest (the checks) or entry=bench (bench/usb.ts)
"$NODE" --disable-warning=ExperimentalWarning "$RIG_DIR/build/${ENTRY:-guest}.mjs" 2>&1
rc=$?
echo "[guest $(up)s] checks exited $rc"
dmesg > "$OUT/dmesg.log"
finish $rc
