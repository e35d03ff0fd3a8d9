#!/usr/bin/env bash
# Boots the rig's Debian 13 kernel under QEMU and runs the guest checks (test/usb-rig/guest) against
# emulated Particle devices served through dummy_hcd + configfs + FunctionFS. Prints the guest's
# console and exits with the guest's exit code (0 = every check passed).
#   run.sh [check-name ...]     run only the named checks (default: all)
# Env: LINESTATION_RIG_DIR, RIG_TIMEOUT (s, default 900), RIG_MEM (MiB, 1536), RIG_DEVICES (2),
#      RIG_ENTRY (guest = the checks, bench = bench/usb.ts), RIG_TRACE=1 (log every control
#      transfer the emulated devices see), RIG_BENCH_REPEAT (2),
#      RIG_KVM=1 (only on hosts with real VMX/SVM: PVM-based /dev/kvm hangs a stock kernel).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if reason=$(rig_skip_reason); then echo "skipped: $reason"; exit 0; fi
[ -f "$RIG_DIR/kernel.ver" ] || { echo "usb-rig: no kernel in $RIG_DIR; run scripts/usb-rig/setup.sh first" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "usb-rig: qemu-system-x86_64 missing; run scripts/usb-rig/setup.sh" >&2; exit 2; }
T0=$(date +%s.%N)
NODE=$(rig_node)
"$NODE" "$RIG_SCRIPTS/bundle.mjs" "$RIG_DIR"
OUT=$RIG_DIR/out
rm -rf "$OUT"; mkdir -p "$OUT"
printf '%s\n' "$@" > "$OUT/checks.txt"
ACCEL=(-accel tcg -cpu max)
[ "${RIG_KVM:-0}" = 1 ] && ACCEL=(-accel kvm -cpu host)
rig_log "booting the guest ($(cat "$RIG_DIR/kernel.ver"), ${RIG_DEVICES:-2} emulated devices)"
rc=0
timeout "${RIG_TIMEOUT:-900}" qemu-system-x86_64 "${ACCEL[@]}" -m "${RIG_MEM:-1536}" -smp 2 \
  -nographic -no-reboot -nodefaults -serial stdio \
  -kernel "$RIG_DIR/vmlinuz" -initrd "$RIG_DIR/initramfs.img" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 rigdir=$RIG_DIR stage2=$RIG_SCRIPTS/guest-init.sh repo=$REPO_ROOT node=$NODE devices=${RIG_DEVICES:-2} entry=${RIG_ENTRY:-guest} trace=${RIG_TRACE:-0} repeat=${RIG_BENCH_REPEAT:-2}" \
  -fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
  -device virtio-9p-pci,fsdev=root,mount_tag=hostroot \
  -fsdev local,id=rig,path="$RIG_DIR",security_model=none,multidevs=remap \
  -device virtio-9p-pci,fsdev=rig,mount_tag=rigdir \
  -fsdev local,id=repo,path="$REPO_ROOT",security_model=none,readonly=on,multidevs=remap \
  -device virtio-9p-pci,fsdev=repo,mount_tag=repo </dev/null | tee "$OUT/console.log" || rc=$?
if [ -f "$OUT/guest-rc" ]; then rc=$(cat "$OUT/guest-rc"); elif [ "$rc" = 0 ]; then rc=3; fi
[ "$rc" = 124 ] && rig_log "the guest timed out after ${RIG_TIMEOUT:-900} s"
rig_log "run finished in $(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s, exit $rc"
exit "$rc"
