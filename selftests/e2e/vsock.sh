#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# e2e-kernel: 6.12  (make check runs this suite on one kernel: scripts/check.sh)
# e2e-long: all-kernels  (E2E_LONG=1 runs it on 6.1 and 6.12)
#
# End-to-end test of a vhost-vsock device with a QEMU "L2" guest. Runs as
# root INSIDE the test VM with the modules loaded (modtest.sh e2e-vsock):
# one L2 guest boot (busybox initramfs, /init = l2-vsock-init.sh, socat and
# vsock_test copied in) with
#   -device vhost-vsock-pci,guest-cid=3,vhostfd=N   N open on $VHOST_VSOCK_DEV
#                                        (,packed=on with VSOCK_PACKED=1)
#   -netdev user (slirp)                             vsock_test's control link
# Checks (KTAP): the host connects to the guest and sends E2E_MB MB (the
# guest checks the sha256), the guest connects back and returns them (the
# host checks), 32 concurrent guest connections to a host echo server; the
# kernel's vsock_test suite of this kernel's series (build/vsock_test/,
# `make vsock-test`), server here and client in the guest, one KTAP line
# per test case; the device's fdinfo counters and ring layout; the guest's
# dmesg; then
# QEMU is killed (SIGKILL) under an open connection: the host socket must
# be reset, the device released and the module unload; the module and the
# in-tree vhost_vsock must exclude each other, and standard_names=1 must
# give /dev/vhost-vsock (10:241); the module is loaded again for
# modtest.sh, which unloads it (run.sh checks dmesg).
# Environment:
#   VHOST_VSOCK_DEV  device under test (default /dev/vhost-vsock-lite)
#   L2_KVER          L2 guest kernel (default: the running kernel, whose
#                    series the vsock_test suite must match)
#   E2E_MB           MB per direction (default 4)
#   E2E_TIMEOUT      bound on the L2 guest run in seconds (default 420)
#   VSOCK_TEST       1 (default) runs vsock_test, 0 skips it
#   VSOCK_TEST_SKIP  vsock_test case ids to skip on both sides (default:
#                    none; every skip is reported as a KTAP SKIP)
#   VSOCK_PACKED     1: packed virtqueues (packed=on), 0: split (default:
#                    1 on a 6.1 kernel, 0 elsewhere, so that E2E_LONG=1,
#                    which runs the suite on both, covers both layouts)
#   VSOCK_KO         the module, reloaded by the checks above (default:
#                    build/KVER/vhost_vsock_lite/vhost_vsock_lite.ko)
set -eu

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=$REPO/build/e2e
VHOST_VSOCK_DEV=${VHOST_VSOCK_DEV:-/dev/vhost-vsock-lite}
E2E_MB=${E2E_MB:-4}
E2E_TIMEOUT=${E2E_TIMEOUT:-420}
VSOCK_TEST=${VSOCK_TEST:-1}
VSOCK_TEST_SKIP=${VSOCK_TEST_SKIP:-}
case "$(uname -r)" in
6.1.*|6.1-*) VSOCK_PACKED=${VSOCK_PACKED:-1} ;;
*) VSOCK_PACKED=${VSOCK_PACKED:-0} ;;
esac
GUEST_CID=3
WORK=$(mktemp -d /tmp/e2e-vsock.XXXXXX)
SERIAL=$WORK/serial
: >"$SERIAL"
# shellcheck source=selftests/e2e/lib.sh
. "$HERE/lib.sh"

pids=()
cleanup() {
	kill_tree "${pids[@]+"${pids[@]}"}"
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

# bg CMD...: run CMD in the background, bounded by E2E_TIMEOUT.
bg() {
	timeout -k 5 "$E2E_TIMEOUT" "$@" </dev/null &
	pids+=($!)
}

# A cpio archive (appended to the initramfs) with socat, vsock_test and
# the shared libraries they need.
extra_cpio() {
	cpio_with_libs "$WORK/extra" /usr/bin/socat "$OUT/vsock_conc:/vsock_conc" \
		${VT:+"$VT:/vsock_test"}
}

prepare() {
	local k=${L2_KVER:-$(uname -r)} series
	series=$(uname -r | cut -d. -f1-2)
	VT=""
	if [ "$VSOCK_TEST" = 1 ]; then
		VT=$REPO/build/vsock_test/$series/vsock_test
		[ -x "$VT" ] || VT=""
	fi
	mkdir -p "$OUT"
	if ! [ "$OUT/vsock_conc" -nt "$HERE/vsock_conc.c" ]; then
		cc -O2 -Wall -static -o "$OUT/vsock_conc" "$HERE/vsock_conc.c"
	fi
	L2_VMLINUX=$("$REPO/selftests/vm/mkvmlinux.sh" "$k" "$REPO/build/vm")
	L2_INITRD=$REPO/build/vm/l2-vsock-initramfs-$k.cpio
	"$REPO/selftests/vm/mkinitramfs.sh" "$k" "$L2_INITRD" \
		"$HERE/l2-vsock-init.sh" virtio_pci virtio_net \
		vmw_vsock_virtio_transport
	# QEMU loads a kernel from tmpfs in 1 s, from the 9p share in 4-5 s.
	cp "$L2_VMLINUX" "$WORK/vmlinux"
	{ cat "$L2_INITRD"; extra_cpio; } >"$WORK/initrd"
	head -c $((E2E_MB << 20)) /dev/urandom >"$WORK/h2g.data"
	H2G_SHA=$(sha256sum <"$WORK/h2g.data" | cut -d' ' -f1)
	modprobe vsock_diag 2>/dev/null || true
	ip link set lo up
	echo "# L2 kernel $k, device $VHOST_VSOCK_DEV, guest CID $GUEST_CID, $E2E_MB MB per direction, vsock_test ${VT:-not run}"
}

# Host side of vsock_test: server, with the case list and skips.
start_vsock_test() {
	local id skip=()
	VT_CASES=$WORK/vt.cases
	"$VT" --list 2>/dev/null | awk -F '\t' '$1 ~ /^[0-9]+$/' >"$VT_CASES" || true
	for id in $VSOCK_TEST_SKIP; do
		skip+=("--skip=$id")
	done
	VT_ARGS="${skip[*]+"${skip[*]}"}"
	bg "$VT" --mode=server --control-port=1234 --peer-cid=$GUEST_CID \
		"${skip[@]+"${skip[@]}"}" >"$WORK/vt.server" 2>&1
	VT_PID=$!
}

start_l2() {
	local fd append
	local qemu=(qemu-system-x86_64 -accel "tcg,thread=multi" -m 512M -cpu max
		-smp 2 -nographic -nodefaults -no-reboot -serial "file:$SERIAL"
		-bios qboot.rom -kernel "$WORK/vmlinux" -initrd "$WORK/initrd"
		-netdev "user,id=c0"
		-device "virtio-net-pci,netdev=c0,mac=52:54:00:99:10:02")
	exec {fd}<>"$VHOST_VSOCK_DEV"
	VHOST_FD=$fd
	qemu+=(-device "vhost-vsock-pci,guest-cid=$GUEST_CID,vhostfd=$fd$([ "$VSOCK_PACKED" != 1 ] || echo ,packed=on)")
	append="console=ttyS0 panic=-1 quiet tsc=reliable cryptomgr.notests mitigations=off"
	append="$append e2e_sha=$H2G_SHA e2e_vt=$([ -n "$VT" ] && echo 1 || echo 0)"
	[ -z "$VT_ARGS" ] || append="$append e2e_vt_args=${VT_ARGS// /,}"
	qemu+=(-append "$append")
	"${qemu[@]}" </dev/null >"$WORK/qemu.log" 2>&1 &
	QEMU_PID=$!
	pids+=($!)
	exec {fd}>&-
}

# Wait for a line starting with $2 in the serial log until epoch $1, or
# until QEMU is gone.
wait_serial() {
	local deadline=$1 what=$2
	while [ "$(date +%s)" -lt "$deadline" ]; do
		grep -aq "^$what" "$SERIAL" 2>/dev/null && return 0
		kill -0 "$QEMU_PID" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}

h2g_send() {
	timeout 120 socat -u "FILE:$WORK/h2g.data" "VSOCK-CONNECT:$GUEST_CID:5001" 2>/dev/null
}

# Established host connections to the guest's port 5004 (vsock_diag).
conns_to_guest() {
	ss -H --vsock state established 2>/dev/null |
		grep -cE "(^|[[:space:]])$GUEST_CID:5004([[:space:]]|\$)" || true
}

# The vsock_test cases: one KTAP line each, from the client's output.
vt_results() {
	local id name rc
	if [ -z "$VT" ]; then
		tap_result vsock_test SKIP "no build/vsock_test for this series (make vsock-test)"
		return
	fi
	wait_pid "$VT_PID" $(($(date +%s) + 30)) && rc=0 || rc=$?
	while IFS=$'\t' read -r id name; do
		name=$(echo "$name" | tr -c 'A-Za-z0-9_\n' '_')
		if [[ " $VSOCK_TEST_SKIP " = *" $id "* ]]; then
			tap_result "vsock_test.$id.$name" SKIP "skipped on both sides"
		elif tr -d '\r' <"$SERIAL" | grep -aq "^E2E-VT $id - .*\.\.\.ok$"; then
			tap_result "vsock_test.$id.$name" PASS ""
		else
			tap_result "vsock_test.$id.$name" FAIL "$(tr -d '\r' <"$SERIAL" | grep -a "^E2E-VT $id - " | head -1)"
		fi
	done <"$VT_CASES"
	if [ "$rc" -eq 0 ]; then
		tap_result vsock_test.server PASS ""
	else
		tap_result vsock_test.server FAIL "server exit status $rc"
		sed 's/^/# vsock_test server: /' "$WORK/vt.server"
	fi
}

# The device's own counters: both queues moved packets, nothing dropped.
check_counters() {
	local info=/proc/$QEMU_PID/fdinfo/$VHOST_FD rx tx line
	if ! grep -q '^vhl-vsock:' "$info" 2>/dev/null; then
		tap_result vhost-counters FAIL "no vhl-vsock line in $info"
		return
	fi
	rx=$(awk '$1 == "vhl-vq0:" { for (i = 2; i <= NF; i++) if ($i ~ /^packets=/) print substr($i, 9) }' "$info")
	tx=$(awk '$1 == "vhl-vq1:" { for (i = 2; i <= NF; i++) if ($i ~ /^packets=/) print substr($i, 9) }' "$info")
	line=$(grep '^vhl-vsock:' "$info" | cut -f2)
	if [ "${rx:-0}" -gt 0 ] && [ "${tx:-0}" -gt 0 ] &&
	   [[ "$line" = *" malformed=0 misaddressed=0 "* ]]; then
		tap_result vhost-counters PASS "rx packets=$rx tx packets=$tx; $line"
	else
		tap_result vhost-counters FAIL "rx packets=${rx:-?} tx packets=${tx:-?}; $line"
	fi
	check_ring_layout vsock "$info" "$VSOCK_PACKED"
}

# Kill QEMU under an open connection: the host socket is reset.
kill_guest() {
	local hold n=0 rc
	bg socat -u "VSOCK-CONNECT:$GUEST_CID:5004" "CREATE:$WORK/hold" 2>/dev/null
	hold=$!
	while [ "$(conns_to_guest)" -eq 0 ] && [ "$n" -lt 60 ]; do
		kill -0 "$hold" 2>/dev/null || {
			bg socat -u "VSOCK-CONNECT:$GUEST_CID:5004" \
				"CREATE:$WORK/hold" 2>/dev/null
			hold=$!
		}
		sleep 0.5
		n=$((n + 1))
	done
	if [ "$(conns_to_guest)" -eq 0 ]; then
		tap_result kill.connected FAIL "no connection to the guest's port 5004"
	else
		tap_result kill.connected PASS "$(conns_to_guest) connection(s) to CID $GUEST_CID"
	fi
	kill -9 "$QEMU_PID"
	wait_pid "$QEMU_PID" $(($(date +%s) + 30)) || true
	wait_pid "$hold" $(($(date +%s) + 20)) && rc=0 || rc=$?
	if [ "$rc" -ne 255 ]; then
		tap_result kill.host-socket-reset PASS "socat saw its connection end (status $rc)"
	else
		tap_result kill.host-socket-reset FAIL "socat still connected 20 s after QEMU was killed"
	fi
	n=$(conns_to_guest)
	if [ "$n" -eq 0 ]; then
		tap_result kill.no-connections-left PASS ""
	else
		tap_result kill.no-connections-left FAIL "$n established connection(s) to CID $GUEST_CID"
	fi
}

# The module unloads after the kill; it and the in-tree vhost_vsock exclude
# each other (one host-to-guest transport); standard_names=1 gives the
# in-tree node. The module is loaded again at the end, for modtest.sh.
check_module() {
	local ko=${VSOCK_KO:-$REPO/build/$(uname -r)/vhost_vsock_lite/vhost_vsock_lite.ko}
	local node
	if ! retry 10 rmmod vhost_vsock_lite; then
		tap_result module.unload FAIL "rmmod vhost_vsock_lite: $(grep vhost_vsock_lite /proc/modules)"
		return
	fi
	tap_result module.unload PASS "after QEMU was killed"
	if modprobe vhost_vsock; then
		if insmod "$ko" 2>/dev/null; then
			tap_result module.excludes-in-tree FAIL "loaded beside vhost_vsock"
			rmmod vhost_vsock_lite
		elif dmesg | tail -5 | grep -q 'vhost_vsock_lite: cannot register the host-to-guest vsock transport'; then
			tap_result module.excludes-in-tree PASS "$(dmesg | tail -5 | grep -o 'cannot register.*' | head -1)"
		else
			tap_result module.excludes-in-tree FAIL "no message in dmesg"
		fi
		rmmod vhost_vsock || true
	else
		tap_result module.excludes-in-tree SKIP "no in-tree vhost_vsock"
	fi
	if insmod "$ko" standard_names=1; then
		node=$(stat -c '%t:%T' /dev/vhost-vsock 2>/dev/null) || node=none
		if [ "$node" = a:f1 ] && [ ! -e "$VHOST_VSOCK_DEV" ]; then
			tap_result module.standard-names PASS "/dev/vhost-vsock is 10:241"
		else
			tap_result module.standard-names FAIL "/dev/vhost-vsock is $node (hex)"
		fi
		if modprobe vhost_vsock 2>/dev/null; then
			tap_result module.in-tree-excluded FAIL "vhost_vsock loaded beside us"
			rmmod vhost_vsock
		else
			tap_result module.in-tree-excluded PASS "modprobe vhost_vsock refused"
		fi
		rmmod vhost_vsock_lite
	else
		tap_result module.standard-names FAIL "insmod standard_names=1 failed"
	fi
	insmod "$ko" || tap_result module.reload FAIL "insmod $ko"
}

run() {
	local deadline t0=$SECONDS got rc=0
	bg socat -u VSOCK-LISTEN:5002 "CREATE:$WORK/g2h"
	local g2h=$!
	bg "$OUT/vsock_conc" server 5003 32 "$E2E_TIMEOUT" >"$WORK/conc.server" 2>&1
	[ -z "$VT" ] || start_vsock_test
	start_l2
	deadline=$(($(date +%s) + E2E_TIMEOUT))

	if ! wait_serial "$deadline" E2E-READY && l2_early_panic "$SERIAL"; then
		echo "# the L2 kernel panicked in start_kernel, before probing any device; booting it once more:"
		grep -a -A12 'Oops\|Kernel panic' "$SERIAL" | head -n 30 | sed 's/^/#   l2: /'
		wait "$QEMU_PID" 2>/dev/null || true
		mv "$SERIAL" "$SERIAL.panic"
		start_l2
	fi
	if wait_serial "$deadline" E2E-READY; then
		echo "# L2 up after $((SECONDS - t0)) s"
		if retry 60 h2g_send; then
			echo "# host sent $E2E_MB MB to the guest after $((SECONDS - t0)) s"
		else
			tap_result h2g-connect FAIL "cannot connect to CID $GUEST_CID port 5001"
		fi
	fi
	wait_serial "$deadline" "E2E-SENT g2h" || true
	if wait_pid "$g2h" $(($(date +%s) + 30)); then
		got=$(sha256sum <"$WORK/g2h" | cut -d' ' -f1)
		if [ "$got" = "$H2G_SHA" ]; then
			tap_result g2h PASS "$(wc -c <"$WORK/g2h") bytes, sha256 $got"
		else
			tap_result g2h FAIL "sha256 $got, want $H2G_SHA"
		fi
	else
		tap_result g2h FAIL "no data from the guest on port 5002"
	fi
	if wait_serial "$deadline" E2E-DONE; then
		echo "# L2 checks done after $((SECONDS - t0)) s"
		check_counters
		wait_serial "$deadline" E2E-IDLE || true
	fi
	guest_results "$SERIAL" control-net h2g concurrent
	sed 's/^/# echo server: /' "$WORK/conc.server"
	[ -z "$VT" ] || guest_results "$SERIAL" vsock_test
	vt_results
	guest_results "$SERIAL" l2-dmesg
	if kill -0 "$QEMU_PID" 2>/dev/null; then
		kill_guest
	else
		wait "$QEMU_PID" || rc=$?
		tap_result kill.connected FAIL "QEMU exited early (status $rc)"
		sed 's/^/# qemu: /' "$WORK/qemu.log"
	fi
	check_module
	if [ "$TAP_FAILED" -gt 0 ]; then
		tr -d '\r' <"$SERIAL" | sed 's/^/# l2: /'
	else
		grep -a -E 'E2E-(BOOTED|READY|SENT|DONE|IDLE)' "$SERIAL" | tr -d '\r' | sed 's/^/# l2: /'
	fi
	echo "# e2e vsock took $((SECONDS - t0)) s"
}

echo "TAP version 13"
if [ ! -c "$VHOST_VSOCK_DEV" ]; then
	tap_result vhost-device FAIL "$VHOST_VSOCK_DEV is not a character device"
	echo "1..$TAP_COUNT"
	exit 1
fi
prepare
run
echo "1..$TAP_COUNT"
[ "$TAP_FAILED" -eq 0 ]
