#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# e2e-kernel: 6.1  (make check runs this suite on one kernel: scripts/check.sh)
# e2e-tier: long  (run by E2E_LONG=1 make check, as CI does)
# e2e-long: all-kernels  (E2E_LONG=1 runs it on 6.1 and 6.12)
#
# End-to-end test of vhost_blk_lite through `vhostctl serve-blk`: stock QEMU
# boots an L2 guest whose vhost-user-blk-pci disks are served by bridges
# that hand the rings to /dev/vhost-blk-lite. Runs as root INSIDE the test
# VM with the modules loaded (selftests/vm/modtest.sh e2e-blk MODDIR).
#
# Four bridges, backing files on tmpfs, disks found in the guest by serial:
#   pattern  8 MiB, --queues 2 (L2 has 2 CPUs)
#   fs       16 MiB, ext4, packed=on: the one disk on packed rings
#   full     sparse file on a full 1 MiB tmpfs: writes get ENOSPC
#   ro       4 MiB, --read-only
# Two L2 boots on the same bridges (selftests/e2e/l2-blk-init.sh):
#   1. the guest reads the host's pattern (sha256), writes its own (the
#      host's rotated by 1 MiB; the host checks the file's sha256 against
#      the guest's sum and its own computation), mkfs.ext4 + files + sync + remount
#      + verify (the host runs e2fsck and reads a file back with debugfs),
#      read-only disk, I/O errors from the full disk; then QEMU is killed
#      (SIGKILL) with reads in flight on both queues
#   2. a new QEMU connects to the same sockets: the pattern and the files
#      survived; WRITE_ZEROES; DISCARD of the pattern disk and fstrim of
#      the ext4 disk, which must punch holes in the backing files
# Around the boots: garbage on a socket is refused without harm, each
# bridge is back to its own descriptor and mapping counts after every
# disconnect, the kernel device's per-queue counters moved on both queues,
# the fs disk's kernel device runs packed rings and the pattern disk's split,
# and SIGTERM stops every bridge. Output is KTAP; exit 1 on any failure.
# Environment:
#   VHOST_BLK_DEV  device node (default /dev/vhost-blk-lite)
#   L2_KVER        L2 guest kernel (default: the installed 6.1 series)
#   E2E_TIMEOUT    bound on each L2 boot in seconds (default 500)
set -eu

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VHOST_BLK_DEV=${VHOST_BLK_DEV:-/dev/vhost-blk-lite}
export VHOST_BLK_DEV
E2E_TIMEOUT=${E2E_TIMEOUT:-500}
VHOSTCTL=$REPO/build/vhostctl/vhostctl
WORK=$(mktemp -d /tmp/e2e-blk.XXXXXX)
PATTERN_MB=8
DISKS="pattern fs full ro"
# shellcheck source=selftests/e2e/lib.sh
. "$HERE/lib.sh"

declare -A BRIDGE FDS0 MAPS0
QEMU_PID=""
cleanup() {
	local d
	[ -z "$QEMU_PID" ] || kill -9 "$QEMU_PID" 2>/dev/null || true
	for d in $DISKS; do
		[ -z "${BRIDGE[$d]:-}" ] || kill -9 "${BRIDGE[$d]}" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	umount "$WORK/full" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

# Kernel, initramfs (busybox + modules + e2fsprogs' mke2fs and
# util-linux's blkdiscard for -z, with their libraries), backing files.
prepare() {
	local k=${L2_KVER:-} b lib extra=$WORK/extra
	[ -n "$k" ] || k=$(ls /lib/modules | grep -m1 '^6\.1\.' || uname -r)
	L2_VMLINUX=$("$REPO/selftests/vm/mkvmlinux.sh" "$k" "$REPO/build/vm")
	L2_INITRD=$REPO/build/vm/l2-blk-initramfs-$k.cpio
	"$REPO/selftests/vm/mkinitramfs.sh" "$k" "$L2_INITRD" \
		"$HERE/l2-blk-init.sh" virtio_pci virtio_blk ext4
	mkdir -p "$extra/usr/local/sbin" "$extra/lib64" "$extra/lib/x86_64-linux-gnu"
	for b in /sbin/mke2fs /sbin/blkdiscard; do
		cp "$b" "$extra/usr/local/sbin/"
		for lib in $(ldd "$b" | awk '$3 ~ /^\// { print $3 }'); do
			cp -L "$lib" "$extra/lib/x86_64-linux-gnu/"
		done
	done
	cp -L /lib64/ld-linux-x86-64.so.2 "$extra/lib64/"
	# The kernel unpacks concatenated cpio archives in order.
	cp "$L2_INITRD" "$WORK/initrd"
	(cd "$extra" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >>"$WORK/initrd"
	# QEMU loads a kernel from tmpfs in 1 s, from the 9p share in 4-5 s.
	cp "$L2_VMLINUX" "$WORK/vmlinux"

	make -s -C "$REPO/tools/vhostctl" >/dev/null

	head -c $((PATTERN_MB << 20)) /dev/urandom >"$WORK/pattern.img"
	HOST_SHA=$(sha256sum <"$WORK/pattern.img" | cut -d' ' -f1)
	# What the guest writes: the host's pattern rotated by 1 MiB.
	GUEST_SHA=$({ tail -c +$((1024 * 1024 + 1)) "$WORK/pattern.img"
		head -c $((1024 * 1024)) "$WORK/pattern.img"; } | sha256sum | cut -d' ' -f1)
	# Fully allocated, so the holes discard makes show.
	head -c $((16 << 20)) /dev/zero >"$WORK/fs.img"
	head -c $((4 << 20)) /dev/urandom >"$WORK/ro.img"
	RO_SHA=$(sha256sum <"$WORK/ro.img" | cut -d' ' -f1)
	mkdir "$WORK/full"
	mount -t tmpfs -o size=1M tmpfs "$WORK/full"
	truncate -s 16M "$WORK/full/full.img"
	dd if=/dev/zero of="$WORK/full/filler" bs=64k 2>/dev/null || true
	echo "# L2 kernel $k, device $VHOST_BLK_DEV"
	echo "# host pattern sha256 $HOST_SHA, read-only disk sha256 $RO_SHA"
	echo "# pattern the guest writes (host's rotated by 1 MiB): sha256 $GUEST_SHA"
}

img() {
	if [ "$1" = full ]; then echo "$WORK/full/full.img"; else echo "$WORK/$1.img"; fi
}

fd_count() {
	ls "/proc/$1/fd" | wc -l
}

# Mappings but the heap (malloc creates it on first use, once).
map_count() {
	grep -vc '\[heap\]' "/proc/$1/maps"
}

# Start the bridge of disk $1 with extra options; wait until it listens.
start_bridge() {
	local d=$1 n
	shift
	"$VHOSTCTL" serve-blk --socket "$WORK/$d.sock" --backing "$(img "$d")" \
		--serial "e2e-$d" "$@" </dev/null 2>"$WORK/$d.log" &
	BRIDGE[$d]=$!
	for ((n = 0; n < 100; n++)); do
		grep -q listening "$WORK/$d.log" && [ -S "$WORK/$d.sock" ] && break
		kill -0 "${BRIDGE[$d]}" 2>/dev/null || break
		sleep 0.1
	done
	if grep -q listening "$WORK/$d.log"; then
		FDS0[$d]=$(fd_count "${BRIDGE[$d]}") MAPS0[$d]=$(map_count "${BRIDGE[$d]}")
		tap_result "bridge.$d.start" PASS "$(head -1 "$WORK/$d.log")"
	else
		tap_result "bridge.$d.start" FAIL "$(cat "$WORK/$d.log")"
		return 1
	fi
}

# Wait until bridge $1 has logged $2 disconnections, then check that it is
# back to the descriptors and mappings it had before its first connection.
check_idle() {
	local d=$1 want=$2 tag=$3 n fds maps
	for ((n = 0; n < 300; n++)); do
		[ "$(grep -c disconnected "$WORK/$d.log")" -ge "$want" ] && break
		sleep 0.1
	done
	fds=$(fd_count "${BRIDGE[$d]}") maps=$(map_count "${BRIDGE[$d]}")
	if [ "$(grep -c disconnected "$WORK/$d.log")" -lt "$want" ]; then
		tap_result "bridge.$d.$tag" FAIL "not disconnected: $(tail -3 "$WORK/$d.log" | tr '\n' ' ')"
	elif [ "$fds" -eq "${FDS0[$d]}" ] && [ "$maps" -eq "${MAPS0[$d]}" ]; then
		tap_result "bridge.$d.$tag" PASS "$fds fds, $maps mappings, as before"
	else
		tap_result "bridge.$d.$tag" FAIL "$fds fds (was ${FDS0[$d]}), $maps mappings (was ${MAPS0[$d]})"
	fi
}

# A front end sending garbage or an oversized header is dropped; the
# bridge serves the next connection as if nothing happened.
garbage() {
	local s=$WORK/pattern.sock
	head -c 256 /dev/urandom | timeout 10 socat -u - "UNIX-CONNECT:$s" || true
	# GET_FEATURES, version 1, payload size 0xffffffff.
	printf '\001\000\000\000\001\000\000\000\377\377\377\377' |
		timeout 10 socat -u - "UNIX-CONNECT:$s" || true
	check_idle pattern 2 garbage
}

# Start QEMU for boot $1 with extra -append words; sets QEMU_PID, SERIAL.
start_l2() {
	local boot=$1 d i=0 q opts
	shift
	SERIAL=$WORK/serial.$boot
	: >"$SERIAL"
	local qemu=(qemu-system-x86_64 -accel tcg,thread=multi -m 256M -smp 2 -cpu max
		-object memory-backend-memfd,id=mem,size=256M,share=on
		-machine pc,memory-backend=mem
		-nographic -nodefaults -no-reboot -serial "file:$SERIAL" -bios qboot.rom
		-kernel "$WORK/vmlinux" -initrd "$WORK/initrd"
		-append "console=ttyS0 panic=-1 quiet tsc=reliable cryptomgr.notests mitigations=off e2e_mb=$PATTERN_MB e2e_rsha=$RO_SHA $*")
	for d in $DISKS; do
		q=1 opts=""
		[ "$d" != pattern ] || q=2
		[ "$d" != fs ] || opts=,packed=on
		qemu+=(-chardev "socket,id=c$i,path=$WORK/$d.sock"
			-device "vhost-user-blk-pci,chardev=c$i,num-queues=$q$opts")
		i=$((i + 1))
	done
	"${qemu[@]}" </dev/null >"$WORK/qemu.$boot.log" 2>&1 &
	QEMU_PID=$!
}

# Checksum the guest printed as "E2E-SUM NAME SHA".
guest_sum() {
	grep -a -m1 "^E2E-SUM $1 " "$SERIAL" | tr -d '\r' | cut -d' ' -f3
}

# bridge_fdinfo DISK: the fdinfo file of DISK's bridge's kernel device.
bridge_fdinfo() {
	local f
	for f in /proc/"${BRIDGE[$1]}"/fd/*; do
		[ "$(readlink "$f")" != "$VHOST_BLK_DEV" ] || echo "/proc/${BRIDGE[$1]}/fdinfo/${f##*/}"
	done
}

# The pattern bridge's kernel device served requests on both queues; the
# guest runs the fs disk on packed rings and the pattern disk on split.
check_counters() {
	local info d0 d1
	check_ring_layout fs "$(bridge_fdinfo fs)" 1
	check_ring_layout pattern "$(bridge_fdinfo pattern)" 0
	info=$(bridge_fdinfo pattern)
	if [ -z "$info" ] || ! grep -q '^vhl-vq' "$info"; then
		tap_result pattern.kernel-counters FAIL "no vhl-vq lines for the bridge's $VHOST_BLK_DEV"
		return
	fi
	d0=$(vq_field "$info" 0 descs) d1=$(vq_field "$info" 1 descs)
	if [ "${d0:-0}" -gt 0 ] && [ "${d1:-0}" -gt 0 ]; then
		tap_result pattern.kernel-counters PASS "vq0 descs=$d0, vq1 descs=$d1 ($info)"
	else
		tap_result pattern.kernel-counters FAIL "vq0 descs=${d0:-?}, vq1 descs=${d1:-?}"
	fi
	grep -E '^vhl-(kind|owner|features|mem-|vq[01]:|blk-backend|blk-vq[01]:)' "$info" |
		sed 's/^/#   /'
}

# Compare the sha256 of backing file $2 with the guest's sum $3 (test $1).
host_sum() {
	local got
	got=$(sha256sum <"$2" | cut -d' ' -f1)
	echo "# $1: guest sha256 ${3:-none}, host sha256 $got"
	if [ -n "$3" ] && [ "$got" = "$3" ]; then
		tap_result "$1" PASS "sha256 $got"
	else
		tap_result "$1" FAIL "host sha256 $got, guest ${3:-none}"
	fi
}

alloc_kib() {
	du -k "$1" | cut -f1
}

boot1() {
	local deadline t0=$SECONDS
	start_l2 1 e2e_phase=1 "e2e_hsha=$HOST_SHA"
	deadline=$(($(date +%s) + E2E_TIMEOUT))
	if wait_serial "$deadline" E2E-BUSY; then
		echo "# boot 1: guest checks done after $((SECONDS - t0)) s"
		check_counters
		kill -9 "$QEMU_PID"
		tap_result l2-killed.1 PASS "QEMU killed with reads in flight"
	else
		tap_result l2-killed.1 FAIL "no E2E-BUSY from the guest within ${E2E_TIMEOUT}s"
	fi
	wait_pid "$QEMU_PID" "$deadline" 2>/dev/null || true
	QEMU_PID=""
	guest_results "$SERIAL" blk.disks pattern.queues pattern.capacity \
		pattern.read-host pattern.write fs.mkfs fs.write fs.remount-verify \
		ro.flag ro.read ro.write-refused full.write-error \
		full.read-after-error full.guest-ioerr l2-dmesg.1
}

between() {
	local d sum
	for d in $DISKS; do
		check_idle "$d" "$([ "$d" = pattern ] && echo 3 || echo 1)" after-kill
	done
	sum=$(guest_sum pattern.guest-wrote)
	echo "# host.pattern-sha: the pattern the guest must have written: sha256 $GUEST_SHA"
	[ "$sum" = "$GUEST_SHA" ] || sum="$sum (expected $GUEST_SHA)"
	host_sum host.pattern-sha "$WORK/pattern.img" "$sum"
	if out=$(e2fsck -fn "$WORK/fs.img" 2>&1); then
		tap_result host.fs-fsck PASS "$(echo "$out" | tail -1)"
	else
		tap_result host.fs-fsck FAIL "$(echo "$out" | tail -5 | tr '\n' ' ')"
	fi
	sum=$(guest_sum fs.data.bin)
	debugfs -R "dump /data.bin $WORK/data.bin" "$WORK/fs.img" >/dev/null 2>&1 || true
	host_sum host.fs-data-sha "$WORK/data.bin" "$sum"
	FS_ALLOC1=$(alloc_kib "$WORK/fs.img")
	echo "# fs.img: $FS_ALLOC1 KiB allocated after mkfs (16384 KiB before)"
}

boot2() {
	local deadline rc=0 t0=$SECONDS
	start_l2 2 e2e_phase=2 "e2e_gsha=$(guest_sum pattern.guest-wrote)"
	deadline=$(($(date +%s) + E2E_TIMEOUT))
	wait_serial "$deadline" E2E-DONE || true
	wait_pid "$QEMU_PID" "$deadline" || rc=$?
	QEMU_PID=""
	if [ "$rc" -eq 0 ]; then
		tap_result l2-shutdown.2 PASS "after $((SECONDS - t0)) s"
	else
		tap_result l2-shutdown.2 FAIL "QEMU status $rc (255: killed at the deadline)"
		sed 's/^/# qemu: /' "$WORK/qemu.2.log"
	fi
	# The reset stopped both rings through the bridge (GET_VRING_BASE) and
	# started them again (SET_VRING_BASE, twice per ring) in one connection.
	n=$(awk '/: connected$/ { g = 0; s = 0 } / GET_VRING_BASE / { g++ }
		/ SET_VRING_BASE / { s++ } END { print g, s }' "$WORK/pattern.log")
	if [ "${n% *}" -ge 2 ] && [ "${n#* }" -ge 4 ]; then
		tap_result bridge.pattern.guest-reset PASS "GET_VRING_BASE, SET_VRING_BASE in the last connection: $n"
	else
		tap_result bridge.pattern.guest-reset FAIL "GET_VRING_BASE, SET_VRING_BASE in the last connection: $n"
	fi
	guest_results "$SERIAL" reconnect.disks pattern.reconnect-read \
		pattern.guest-reset pattern.after-reset fs.reconnect-verify pattern.write-zeroes pattern.discard fs.fstrim \
		l2-dmesg.2
}

after() {
	local d a
	for d in $DISKS; do
		check_idle "$d" "$([ "$d" = pattern ] && echo 4 || echo 2)" after-shutdown
	done
	a=$(alloc_kib "$WORK/pattern.img")
	if [ "$a" -le $((PATTERN_MB * 1024 / 16)) ]; then
		tap_result host.pattern-holes PASS "$a KiB of $((PATTERN_MB * 1024)) KiB allocated after discard"
	else
		tap_result host.pattern-holes FAIL "$a KiB of $((PATTERN_MB * 1024)) KiB allocated after discard"
	fi
	a=$(alloc_kib "$WORK/fs.img")
	if [ "$a" -le $((FS_ALLOC1 - 2048)) ]; then
		tap_result host.fs-holes PASS "$FS_ALLOC1 -> $a KiB allocated after fstrim"
	else
		tap_result host.fs-holes FAIL "$FS_ALLOC1 -> $a KiB allocated after fstrim (2 MiB file + busybox freed)"
	fi
	host_sum host.ro-unchanged "$WORK/ro.img" "$RO_SHA"
	for d in $DISKS; do
		kill -TERM "${BRIDGE[$d]}"
		if wait_pid "${BRIDGE[$d]}" $(($(date +%s) + 10)) && [ ! -e "$WORK/$d.sock" ]; then
			tap_result "bridge.$d.stop" PASS "SIGTERM: exit 0, socket removed"
		else
			tap_result "bridge.$d.stop" FAIL "$(tail -3 "$WORK/$d.log" | tr '\n' ' ')"
		fi
		BRIDGE[$d]=""
	done
}

echo "TAP version 13"
if [ ! -c "$VHOST_BLK_DEV" ]; then
	tap_result vhost-blk-device FAIL "$VHOST_BLK_DEV is not a character device"
	echo "1..$TAP_COUNT"
	exit 1
fi
prepare
echo "# $SECONDS s: prepared"
ok=1
for d in $DISKS; do
	opts=()
	[ "$d" != pattern ] || opts=(--queues 2 --verbose)
	[ "$d" != ro ] || opts=(--read-only)
	start_bridge "$d" "${opts[@]+"${opts[@]}"}" || ok=0
done
if [ "$ok" -eq 1 ]; then
	garbage
	echo "# $SECONDS s: boot 1"
	boot1
	echo "# $SECONDS s: between the boots"
	between
	echo "# $SECONDS s: boot 2"
	boot2
	echo "# $SECONDS s: after boot 2"
	after
	echo "# $SECONDS s: done"
fi
if [ "$TAP_FAILED" -gt 0 ]; then
	for f in "$WORK"/serial.*; do
		[ -f "$f" ] && tr -d '\r' <"$f" | sed "s|^|# ${f##*/}: |"
	done
	for d in $DISKS; do
		[ -f "$WORK/$d.log" ] && tail -n 60 "$WORK/$d.log" | sed "s/^/# bridge $d: /"
	done
else
	grep -ah '^E2E-SUM' "$WORK"/serial.* | tr -d '\r' | sed 's/^/# l2: /'
fi
echo "1..$TAP_COUNT"
[ "$TAP_FAILED" -eq 0 ]
