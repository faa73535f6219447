#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the L2 guest of the e2e blk test (blk.sh). Its disks are
# vhost-user-blk-pci devices served by `vhostctl serve-blk` bridges and the
# kernel's vhost_blk_lite; it finds them by serial (GET_ID):
#   e2e-pattern  raw disk, 2 queues     e2e-fs  ext4 disk
#   e2e-full     backing file on a full tmpfs (writes fail)
#   e2e-ro       read-only disk
# Reports on the serial console:
#   E2E-RESULT NAME PASS|FAIL DETAIL   one line per check
#   E2E-SUM NAME SHA256                a checksum the host compares
#   E2E-BUSY / E2E-DONE                phase 1 keeps reading (the host
#                                      kills QEMU) / phase 2 finished
# Plan, from the kernel command line:
#   e2e_phase=1  read the host's pattern, write our own, ext4 mkfs + files
#                + remount, read-only disk, failing disk; then keep I/O in
#                flight until QEMU is killed
#   e2e_phase=2  (a new QEMU on the same bridges) our pattern and files
#                survived, also across a reset of the pattern disk's
#                device; write-zeroes, discard, fstrim; power off
#   e2e_hsha=HEX sha256 of the host's pattern (phase 1)
#   e2e_gsha=HEX sha256 of the pattern phase 1 wrote (phase 2)
#   e2e_rsha=HEX sha256 of the read-only disk
#   e2e_mb=N     size of the pattern disk in MiB

DMESG_BAD='WARNING:|BUG:|Oops|KASAN|kmemleak|lockdep|general protection|Call Trace|hung_task'

result() {
	echo "E2E-RESULT $1 $2 $3"
}

# check NAME DETAIL CMD...: PASS if CMD succeeds.
check() {
	name=$1 detail=$2
	shift 2
	if out=$("$@" 2>&1); then
		result "$name" PASS "$detail"
	else
		result "$name" FAIL "$* failed: $(echo "$out" | tail -2 | tr '\n' ' ')"
	fi
}

# sha256 of the first $2 MiB of device $1, read with O_DIRECT.
dev_sha() {
	dd if="$1" bs=1M count="$2" iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1
}

# Device node with serial $1.
disk() {
	for d in /sys/block/vd*; do
		[ "$(cat "$d/serial" 2>/dev/null)" = "$1" ] && echo "/dev/${d##*/}" && return 0
	done
	return 1
}

find_disks() {
	if P=$(disk e2e-pattern) && F=$(disk e2e-fs) && X=$(disk e2e-full) &&
	   R=$(disk e2e-ro); then
		result "$1" PASS "by serial: pattern=$P fs=$F full=$X ro=$R"
		return 0
	fi
	result "$1" FAIL "serials: $(cat /sys/block/vd*/serial 2>&1 | tr '\n' ' ')"
	return 1
}

# Read the whole pattern disk on both CPUs (so both queues serve), check sum.
read_pattern() {
	name=$1 want=$2
	taskset -c 1 dd if="$P" of=/dev/null bs=64k iflag=direct 2>/dev/null &
	taskset -c 0 dd if="$P" of=/tmp/read bs=1M count="$e2e_mb" iflag=direct 2>/dev/null
	wait
	got=$(sha256sum </tmp/read | cut -d' ' -f1)
	echo "E2E-SUM $name $got"
	if [ "$got" = "$want" ]; then
		result "$name" PASS "sha256 $got"
	else
		result "$name" FAIL "sha256 $got, want $want"
	fi
}

# Write a new pattern, half from each CPU, and read it back: the host's
# random pattern (just read) rotated by 1 MiB, which the host can compute
# too (cheaper than /dev/urandom under double emulation).
write_pattern() {
	half=$((e2e_mb / 2))
	{ dd if=/tmp/read bs=1M skip=1; dd if=/tmp/read bs=1M count=1; } >/tmp/pattern 2>/dev/null
	want=$(sha256sum </tmp/pattern | cut -d' ' -f1)
	taskset -c 0 dd if=/tmp/pattern of="$P" bs=1M count=$half \
		oflag=direct conv=notrunc,fsync 2>/tmp/w0 &
	taskset -c 1 dd if=/tmp/pattern of="$P" bs=1M skip=$half seek=$half \
		oflag=direct conv=notrunc,fsync 2>/tmp/w1
	rc1=$?
	wait $! && rc0=0 || rc0=$?
	sync
	got=$(dev_sha "$P" "$e2e_mb")
	echo "E2E-SUM pattern.guest-wrote $want"
	if [ "$rc0" -eq 0 ] && [ "$rc1" -eq 0 ] && [ "$got" = "$want" ]; then
		result pattern.write PASS "sha256 $want, read back equal"
	else
		result pattern.write FAIL "dd $rc0/$rc1 $(cat /tmp/w0 /tmp/w1 | tr '\n' ' '), read back $got, want $want"
	fi
}

fs_files() {
	mount -t ext4 "$F" /mnt || return 1
	dd if=/tmp/pattern of=/mnt/data.bin bs=1M count=2 2>/dev/null &&
	cp /bin/busybox /mnt/busybox && mkdir /mnt/dir &&
	for i in $(seq 1 64); do echo "file $i" >"/mnt/dir/f$i" || return 1; done &&
	(cd /mnt && sha256sum data.bin busybox dir/* >/tmp/sums && cp /tmp/sums SUMS) &&
	sync && umount /mnt
}

fs_verify() {
	echo 3 >/proc/sys/vm/drop_caches
	mount -t ext4 "$F" /mnt || return 1
	(cd /mnt && sha256sum -c SUMS >/dev/null) || { umount /mnt; return 1; }
	umount /mnt
}

# Writes to the disk on the full filesystem must fail, fast, and the disk
# must still serve reads afterwards.
full_disk() {
	t=$(cut -d' ' -f1 /proc/uptime)
	if timeout 120 dd if=/dev/urandom of="$X" bs=64k count=64 oflag=direct \
	   conv=notrunc 2>/tmp/full.err; then
		result full.write-error FAIL "the write succeeded"
	elif [ $? -ge 124 ]; then
		result full.write-error FAIL "timed out (hang)"
	else
		result full.write-error PASS "$(grep -m1 -i error /tmp/full.err) after $(awk -v a="$t" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f s", b - a }')"
	fi
	check full.read-after-error "" timeout 60 dd if="$X" of=/dev/null bs=64k count=4 iflag=direct
	if dmesg | grep -q "I/O error, dev ${X#/dev/}"; then
		result full.guest-ioerr PASS "$(dmesg | grep -m1 "I/O error, dev ${X#/dev/}")"
	else
		result full.guest-ioerr FAIL "no I/O error for ${X#/dev/} in dmesg"
	fi
}

read_only() {
	ro=$(cat "/sys/block/${R#/dev/}/ro")
	if [ "$ro" = 1 ]; then
		result ro.flag PASS "/sys/block/${R#/dev/}/ro=1"
	else
		result ro.flag FAIL "/sys/block/${R#/dev/}/ro=$ro"
	fi
	got=$(dev_sha "$R" "$(($(cat "/sys/block/${R#/dev/}/size") / 2048))")
	echo "E2E-SUM ro.read $got"
	if [ "$got" = "$e2e_rsha" ]; then
		result ro.read PASS "sha256 $got"
	else
		result ro.read FAIL "sha256 $got, want $e2e_rsha"
	fi
	blockdev --setrw "$R" 2>/dev/null
	if dd if=/dev/zero of="$R" bs=4k count=1 oflag=direct conv=notrunc 2>/dev/null; then
		result ro.write-refused FAIL "a write to the read-only disk succeeded"
	else
		result ro.write-refused PASS ""
	fi
}

phase1() {
	find_disks blk.disks || return
	n=$(ls -d "/sys/block/${P#/dev/}/mq/"* | wc -l)
	if [ "$n" -eq 2 ]; then
		result pattern.queues PASS "$n blk-mq queues"
	else
		result pattern.queues FAIL "$n blk-mq queues, want 2"
	fi
	size=$(cat "/sys/block/${P#/dev/}/size")
	if [ "$size" -eq $((e2e_mb * 2048)) ]; then
		result pattern.capacity PASS "$size sectors"
	else
		result pattern.capacity FAIL "$size sectors, want $((e2e_mb * 2048))"
	fi
	read_pattern pattern.read-host "$e2e_hsha"
	write_pattern
	check fs.mkfs "ext4" /usr/local/sbin/mke2fs -q -F -t ext4 "$F"
	check fs.write "2 MiB + busybox + 64 files, synced" fs_files
	check fs.remount-verify "sha256sum -c after drop_caches" fs_verify
	echo "E2E-SUM fs.data.bin $(grep data.bin /tmp/sums | cut -d' ' -f1)"
	read_only
	full_disk
}

# Reset the pattern disk's virtio device (driver unbind + bind: QEMU stops
# and restarts the vhost rings) and read the pattern again.
guest_reset() {
	vdev=$(readlink "/sys/block/${P#/dev/}/device")
	vdev=${vdev##*/}
	echo "$vdev" >/sys/bus/virtio/drivers/virtio_blk/unbind &&
	echo "$vdev" >/sys/bus/virtio/drivers/virtio_blk/bind
	n=0
	until P=$(disk e2e-pattern) || [ $n -ge 30 ]; do
		sleep 1
		n=$((n + 1))
	done
	if [ -z "$P" ]; then
		result pattern.guest-reset FAIL "no disk with serial e2e-pattern after rebinding $vdev"
		P=/dev/null
		return
	fi
	result pattern.guest-reset PASS "$vdev unbound and bound again: $P"
	read_pattern pattern.after-reset "$e2e_gsha"
}

phase2() {
	find_disks reconnect.disks || return
	read_pattern pattern.reconnect-read "$e2e_gsha"
	guest_reset
	check fs.reconnect-verify "sha256sum -c" fs_verify
	# WRITE_ZEROES over the 2nd MiB; the 3rd keeps the pattern.
	wz=$(cat "/sys/block/${P#/dev/}/queue/write_zeroes_max_bytes")
	before=$(dd if="$P" bs=1M skip=2 count=1 iflag=direct 2>/dev/null | sha256sum)
	zero=$(dd if=/dev/zero bs=1M count=1 2>/dev/null | sha256sum)
	if [ "$wz" -gt 0 ] && /usr/local/sbin/blkdiscard -z -o 1048576 -l 1048576 "$P" &&
	   [ "$(dd if="$P" bs=1M skip=1 count=1 iflag=direct 2>/dev/null | sha256sum)" = "$zero" ] &&
	   [ "$(dd if="$P" bs=1M skip=2 count=1 iflag=direct 2>/dev/null | sha256sum)" = "$before" ]; then
		result pattern.write-zeroes PASS "write_zeroes_max_bytes=$wz"
	else
		result pattern.write-zeroes FAIL "write_zeroes_max_bytes=$wz"
	fi
	dmax=$(cat "/sys/block/${P#/dev/}/queue/discard_max_bytes")
	if [ "$dmax" -gt 0 ] && blkdiscard "$P"; then
		result pattern.discard PASS "discard_max_bytes=$dmax"
	else
		result pattern.discard FAIL "discard_max_bytes=$dmax"
	fi
	# sync: ext4 trims freed blocks only once their transaction committed.
	if mount -t ext4 "$F" /mnt && rm /mnt/data.bin /mnt/busybox && sync &&
	   out=$(fstrim -v /mnt) && umount /mnt; then
		result fs.fstrim PASS "$out"
	else
		result fs.fstrim FAIL "mount/rm/fstrim failed"
	fi
}

mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mkdir -p /mnt
echo "E2E-BOOTED $(cut -d' ' -f1 /proc/uptime)"
while read -r ko; do
	insmod "/lib/modules/$ko" || result insmod FAIL "$ko"
done </modules

if [ "${e2e_phase:-1}" = 1 ]; then
	phase1
else
	phase2
fi
bad=$(dmesg | grep -E "$DMESG_BAD" | head -3 | tr '\n' '|')
if [ -n "$bad" ]; then
	result "l2-dmesg.$e2e_phase" FAIL "$bad"
else
	result "l2-dmesg.$e2e_phase" PASS "clean"
fi
if [ "${e2e_phase:-1}" = 1 ]; then
	# Requests in flight on both queues when the host kills QEMU.
	taskset -c 0 sh -c "while :; do dd if=$P of=/dev/null bs=64k iflag=direct 2>/dev/null; done" &
	taskset -c 1 sh -c "while :; do dd if=$P of=/dev/null bs=64k iflag=direct 2>/dev/null; done" &
	echo "E2E-BUSY $(cut -d' ' -f1 /proc/uptime)"
	sleep 600
else
	echo "E2E-DONE $(cut -d' ' -f1 /proc/uptime)"
fi
poweroff -f
