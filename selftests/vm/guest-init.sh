#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Stage 2 of the test VM (PID 1 on the read-only host root, see run.sh).
# Environment from the kernel command line:
#   vhl_repo=DIR     cwd of the command
#   vhl_run=DIR      run dir on a writable share; holds "cmd" (the command)
#   vhl_cmd_timeout=SEC  bound on the command (its status is then 124)
# Runs "bash $vhl_run/cmd" as root, then the dmesg gate, then reports the
# status through isa-debug-exit (port 0xf4): the command's status (0..124,
# larger ones as 123; the exact one goes to $vhl_run/status),
# 125 when the dmesg gate trips.
set -u

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8
DMESG_BAD='WARNING:|BUG:|Oops|KASAN|kmemleak|lockdep|general protection|Call Trace'

report() {
	echo "VHL-EXIT $1"
	printf "\\$(printf '%03o' "$1")" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
	poweroff -f
}

mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
ln -sf /proc/self/fd /dev/fd
ip link set lo up
hostname vhl-vm

cd "$vhl_repo" || report 126
echo "VHL-START $(cut -d' ' -f1 /proc/uptime)"
timeout -k 5 "$vhl_cmd_timeout" bash "$vhl_run/cmd" </dev/null
status=$?
echo "VHL-CMD-STATUS $status $(cut -d' ' -f1 /proc/uptime)"
echo "$status" >"$vhl_run/status"
[ "$status" -le 124 ] || status=123   # exact value is in $vhl_run/status

if dmesg | grep -E "$DMESG_BAD" >/dev/null; then
	echo "VHL-DMESG-GATE: FAIL: kernel log has lines matching '$DMESG_BAD':"
	dmesg | grep -E -B2 -A20 "$DMESG_BAD" | head -200
	report 125
fi
report "$status"
