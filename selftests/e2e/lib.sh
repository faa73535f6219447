#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers sourced by the e2e tests (bash): KTAP result lines, bounded
# retries and waits. Not run directly.

TAP_COUNT=0 TAP_FAILED=0

# tap_result NAME PASS|FAIL|SKIP DETAIL
tap_result() {
	TAP_COUNT=$((TAP_COUNT + 1))
	case "$2" in
	PASS) echo "ok $TAP_COUNT $1" ;;
	SKIP) echo "ok $TAP_COUNT $1 # SKIP $3" ;;
	*) echo "not ok $TAP_COUNT $1"; TAP_FAILED=$((TAP_FAILED + 1)) ;;
	esac
	[ "$2" = SKIP ] || [ -z "${3:-}" ] || printf '%s\n' "$3" | sed 's/^/#   /'
}

# l2_early_panic SERIAL: did the L2 kernel whose console is file SERIAL
# panic in start_kernel, on the boot CPU before any initcall, that is
# before any device (ours included) was probed? Under double emulation the
# guest kernel very rarely takes a double fault there (seen once: in
# SLUB's cmpxchg16b, EFLAGS garbage): an emulator fault, worth one more
# boot. A panic anywhere else is the test's to report.
l2_early_panic() {
	grep -aq 'Kernel panic' "$1" 2>/dev/null &&
		grep -aq ' start_kernel+' "$1" &&
		! grep -aq 'E2E-' "$1"
}

# retry N CMD...: run CMD until it succeeds, at most N tries 1 s apart.
retry() {
	local n=$1
	shift
	until "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 1
	done
}

# kill_tree PID...: SIGKILL each PID and its children first. A child is
# often timeout(1), whose command outlives a SIGKILL of timeout itself and
# keeps the suite's stdout open: modtest.sh would wait for its EOF until
# the VM's time runs out.
kill_tree() {
	local p
	for p in "$@"; do
		pkill -9 -P "$p" 2>/dev/null || true
		kill -9 "$p" 2>/dev/null || true
	done
}

# wait_pid PID DEADLINE: wait for a child until DEADLINE (epoch seconds),
# then kill it and its children; returns its status (255 when killed).
wait_pid() {
	local pid=$1 deadline=$2
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			kill_tree "$pid"
			wait "$pid" 2>/dev/null || true
			return 255
		fi
		sleep 0.2
	done
	wait "$pid"
}

# guest_results SERIAL NAME...: one KTAP line per expected
# "E2E-RESULT NAME PASS|FAIL DETAIL" line of the guest's serial log; a
# missing line is a failure.
guest_results() {
	local serial=$1 name line status detail
	shift
	for name in "$@"; do
		line=$(grep -a -m1 "^E2E-RESULT $name " "$serial" | tr -d '\r') || true
		if [ -z "$line" ]; then
			tap_result "$name" FAIL "guest did not report $name"
		else
			read -r _ _ status detail <<<"$line"
			tap_result "$name" "$status" "$detail"
		fi
	done
}

# check_ring_layout NAME FDINFO WANT: the guest negotiated packed rings
# (VIRTIO_F_RING_PACKED, bit 34 of vhl-features in a device's fdinfo file)
# if WANT is 1, split rings if it is 0. KTAP result NAME.ring-layout.
check_ring_layout() {
	local f got
	f=$(sed -n 's/^vhl-features:[[:space:]]*//p' "$2" 2>/dev/null)
	got=$(( (${f:-0} >> 34) & 1 ))
	if [ -n "$f" ] && [ "$got" -eq "$3" ]; then
		tap_result "$1.ring-layout" PASS "features $f, packed=$got"
	else
		tap_result "$1.ring-layout" FAIL "features ${f:-none}, packed=$got, want $3"
	fi
}

# vq_field FDINFO N KEY: value of KEY on the "vhl-vqN:" line of a device's
# fdinfo file.
vq_field() {
	awk -v vq="vhl-vq$2:" -v key="$3" '$1 == vq {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) print kv[2] } }' "$1"
}

# wait_serial DEADLINE WHAT: wait for a line starting with WHAT in the L2
# guest's serial log $SERIAL until epoch DEADLINE, or until QEMU ($QEMU_PID)
# is gone.
wait_serial() {
	local deadline=$1 what=$2
	while [ "$(date +%s)" -lt "$deadline" ]; do
		grep -aq "^$what" "$SERIAL" 2>/dev/null && return 0
		kill -0 "$QEMU_PID" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}

# l2_images KVER DIR NAME MODULE...: the L2 guest's vmlinux and initramfs
# (init selftests/e2e/l2-init.sh, the MODULEs and what they depend on,
# cached as build/vm/l2-NAME-initramfs-KVER.cpio) copied to DIR (tmpfs:
# QEMU loads them from there in 1 s, from the 9p share in 4-5 s); sets
# L2_VMLINUX and L2_INITRD.
l2_images() {
	local k=$1 dir=$2 name=$3 repo
	shift 3
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	L2_VMLINUX=$("$repo/selftests/vm/mkvmlinux.sh" "$k" "$repo/build/vm")
	L2_INITRD=$repo/build/vm/l2-$name-initramfs-$k.cpio
	"$repo/selftests/vm/mkinitramfs.sh" "$k" "$L2_INITRD" \
		"$repo/selftests/e2e/l2-init.sh" "$@"
	cp "$L2_VMLINUX" "$dir/vmlinux"
	cp "$L2_INITRD" "$dir/initrd"
	L2_VMLINUX=$dir/vmlinux L2_INITRD=$dir/initrd
}

# cpio_with_libs STAGE FILE[:DEST]...: a newc cpio archive on stdout (to
# append to an L2 initramfs) holding each host FILE at DEST (default: its
# own path) and the shared libraries it needs; STAGE is a scratch directory.
cpio_with_libs() {
	local stage=$1 f src dst lib
	shift
	for f in "$@"; do
		src=${f%%:*} dst=${f#*:}
		mkdir -p "$stage$(dirname "$dst")"
		cp "$src" "$stage$dst"
		for lib in $(ldd "$src" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
			mkdir -p "$stage$(dirname "$lib")"
			cp -L "$lib" "$stage$lib"
		done
	done
	(cd "$stage" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0)
}

# wait_file FILE DEADLINE: wait until FILE exists or epoch DEADLINE.
wait_file() {
	while [ ! -e "$1" ]; do
		[ "$(date +%s)" -lt "$2" ] || return 1
		sleep 0.2
	done
}

# fold_ktap PREFIX: re-emit the KTAP on stdin as our own results named
# PREFIX.NAME, or NAME if PREFIX is empty (comment lines pass through;
# plan and header are dropped).
fold_ktap() {
	local prefix=${1:+$1.} line
	while IFS= read -r line; do
		case "$line" in
		"ok "*"# SKIP"*)
			line=${line#ok * }
			tap_result "$prefix${line%% # SKIP*}" SKIP "${line#*# SKIP }" ;;
		"ok "*) tap_result "$prefix${line#ok * }" PASS "" ;;
		"not ok "*) tap_result "$prefix${line#not ok * }" FAIL "" ;;
		"TAP version"*|1..*) ;;
		*) echo "$line" ;;
		esac
	done
}
