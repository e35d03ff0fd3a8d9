#!/usr/bin/env bash
# `npm run test:usb`: sets up the rig (cached after the first run) and runs every guest check.
# Where the rig cannot run (not Linux, not root, no apt) it prints "skipped: <reason>" and exits 0.
#   test.sh [check-name ...]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if reason=$(rig_skip_reason); then echo "skipped: $reason"; exit 0; fi
T0=$(date +%s.%N)
"$RIG_SCRIPTS/setup.sh"
T1=$(date +%s.%N)
rc=0
"$RIG_SCRIPTS/run.sh" "$@" || rc=$?
T2=$(date +%s.%N)
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
rig_log "USB rig: setup $(secs "$T0" "$T1") s, run $(secs "$T1" "$T2") s, total $(secs "$T0" "$T2") s, exit $rc"
exit "$rc"
