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
# 125 when the dmesg gate trips. Where the kernel has kmemleak (the debug
# kernel), what it reports after the command also trips the gate.
set -u

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8
DMESG_BAD='WARNING:|BUG:|Oops|KASAN|UBSAN|kmemleak|lockdep|general protection|Call Trace'
# Start-up lines of the debug kernel's checkers, not reports.
DMESG_OK='kmemleak: Kernel memory leak detector initialized|kmemleak: Automatic memory scanning thread|RCU lockdep checking is enabled'
KMEMLEAK=/sys/kernel/debug/kmemleak

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

# Leak suspects from before the command are not the command's.
if [ -w "$KMEMLEAK" ]; then
	echo scan >"$KMEMLEAK"
	echo clear >"$KMEMLEAK"
fi

cd "$vhl_repo" || report 126
echo "VHL-START $(cut -d' ' -f1 /proc/uptime)"
: >"$vhl_run/started"	# run.sh's boot watchdog stands down
timeout -k 5 "$vhl_cmd_timeout" bash "$vhl_run/cmd" </dev/null
status=$?
echo "VHL-CMD-STATUS $status $(cut -d' ' -f1 /proc/uptime)"
echo "$status" >"$vhl_run/status"
[ "$status" -le 124 ] || status=123   # exact value is in $vhl_run/status

if dmesg | grep -Ev "$DMESG_OK" | grep -E "$DMESG_BAD" >/dev/null; then
	echo "VHL-DMESG-GATE: FAIL: kernel log has lines matching '$DMESG_BAD':"
	dmesg | grep -Ev "$DMESG_OK" | grep -E -B2 -A20 "$DMESG_BAD" | head -200
	report 125
fi
if [ -w "$KMEMLEAK" ]; then
	# kmemleak never reports an object younger than 5 s: wait that out.
	sleep 6
	echo scan >"$KMEMLEAK"
	# debugfs files have size 0: read it, "test -s" would never trip.
	if grep -q . "$KMEMLEAK"; then
		echo "VHL-DMESG-GATE: FAIL: kmemleak reports leaks:"
		head -n 200 "$KMEMLEAK"
		report 125
	fi
	echo "VHL-KMEMLEAK: clean"
fi
report "$status"
