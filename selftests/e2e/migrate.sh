#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# e2e-kernel: 6.12  (make check runs this suite on one kernel: scripts/check.sh)
# e2e-tier: long  (run by E2E_LONG=1 make check, as CI does)
#
# Live migration of a QEMU guest whose virtio-net goes through our vhost
# device (vhostfd=), inside the test VM. Runs as root in the test VM (see
# selftests/vm/modtest.sh e2e-migrate). One L2 guest, four QEMU processes
# in turn, each with its own tap on bridge vhlbr0 (host 10.99.0.1/24, guest
# 10.99.0.2) and its own vhost fd:
#   1. src boots; the guest starts receiving a stream from the host;
#   2. a migration to dst1, throttled, is cancelled halfway: src keeps
#      running (dirty logging must have been on, and off again);
#   3. the stream continues while src migrates to dst2 (part of the stream
#      is written while the migration runs, the rest after it completed);
#      the guest checks the stream's sha256 and sends it back (host checks
#      it);
#   4. dst2 migrates to dst3 while idle; the guest pings the host from
#      there, checks its dmesg and powers off.
# Environment: VHOST_DEV (default /dev/vhost-net-lite), L2_KVER (default
# the installed 6.1 series), E2E_MB (stream MB, default 4), E2E_TIMEOUT
# (seconds, default 500). Output is KTAP; exit 1 on any failure.
set -eu

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VHOST_DEV=${VHOST_DEV:-/dev/vhost-net-lite}
E2E_MB=${E2E_MB:-4}
E2E_TIMEOUT=${E2E_TIMEOUT:-500}
WORK=$(mktemp -d /tmp/e2e-mig.XXXXXX)
QMP=(/usr/bin/python3 "$HERE/qmp.py")
# shellcheck source=selftests/e2e/lib.sh
. "$HERE/lib.sh"

pids=()
cleanup() {
	local p
	kill_tree "${pids[@]+"${pids[@]}"}"
	for p in 0 1 2 3; do
		ip link del "vhlm$p" 2>/dev/null || true
	done
	ip link del vhlbr0 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

prepare() {
	local k=${L2_KVER:-} p
	if [ -z "$k" ]; then
		for p in /lib/modules/6.1.*; do
			[ -d "$p" ] && k=${p##*/} && break
		done
		[ -n "$k" ] || k=$(uname -r)
	fi
	l2_images "$k" "$WORK"
	modprobe tun
	modprobe bridge
	ip link set lo up
	ip link add vhlbr0 type bridge forward_delay 0 stp_state 0
	ip addr add 10.99.0.1/24 dev vhlbr0
	ip link set vhlbr0 up
	for p in 0 1 2 3; do
		ip tuntap add dev "vhlm$p" mode tap vnet_hdr
		ip link set "vhlm$p" master vhlbr0 up
	done
	head -c $((E2E_MB << 20)) /dev/urandom >"$WORK/h2g.data"
	SHA=$(sha256sum <"$WORK/h2g.data" | cut -d' ' -f1)
	echo "# L2 kernel $k, device $VHOST_DEV, ${E2E_MB} MB stream, sha256 $SHA"
}

# start_qemu N [QEMU ARGS...]: QEMU number N on tap vhlmN with its own
# vhost fd; QMP at $WORK/qmp.N, serial log $WORK/serial.N. Sets QPID[N].
declare -A QPID VFD
start_qemu() {
	local n=$1 fd
	shift
	exec {fd}<>"$VHOST_DEV"
	qemu-system-x86_64 -accel tcg -m 256M -cpu max -smp 1 \
		-nographic -nodefaults -no-reboot -bios qboot.rom \
		-serial "file:$WORK/serial.$n" -qmp "unix:$WORK/qmp.$n,server=on,wait=off" \
		-kernel "$L2_VMLINUX" -initrd "$L2_INITRD" \
		-append "console=ttyS0 panic=-1 quiet tsc=reliable cryptomgr.notests mitigations=off e2e_plan=migrate e2e_sha=$SHA" \
		-netdev "tap,id=n0,ifname=vhlm$n,script=no,downscript=no,vhost=on,vhostfd=$fd" \
		-device virtio-net-pci,netdev=n0,mac=52:54:00:99:00:02 \
		"$@" </dev/null >"$WORK/qemu.$n.log" 2>&1 &
	QPID[$n]=$!
	VFD[$n]=$fd
	pids+=($!)
	exec {fd}>&-
	retry 50 test -S "$WORK/qmp.$n"
}

qmp() {
	local n=$1
	shift
	timeout 60 "${QMP[@]}" "$WORK/qmp.$n" "$@"
}

# Value of key $2 on every vhl-vq line of QEMU N's vhost fd, joined.
vq_keys() {
	awk -v key="$2" '$1 ~ /^vhl-vq[0-9]+:$/ {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) printf "%s", kv[2] } }' \
		"/proc/${QPID[$1]}/fdinfo/${VFD[$1]}" 2>/dev/null
}

# wait_log N WANT DEADLINE: until both queues of QEMU N show log=WANT.
wait_log() {
	while [ "$(vq_keys "$1" log)" != "$2$2" ]; do
		[ "$(date +%s)" -lt "$3" ] || return 1
		sleep 0.05
	done
}

# wait_status N WANT DEADLINE: until query-migrate on QEMU N says WANT.
wait_status() {
	while ! qmp "$1" query-migrate | grep -q "\"status\": \"$2\""; do
		[ "$(date +%s)" -lt "$3" ] || return 1
		sleep 0.2
	done
}

# migrate FROM TO: start the migration of QEMU FROM to QEMU TO.
migrate() {
	qmp "$1" migrate "{\"uri\": \"unix:$WORK/mig.$2\"}" >/dev/null
}

check() {
	local name=$1
	shift
	if "$@"; then
		tap_result "$name" PASS ""
	else
		tap_result "$name" FAIL "$*"
	fi
}

run() {
	local deadline t0=$SECONDS st got w
	deadline=$(($(date +%s) + E2E_TIMEOUT))
	mkfifo "$WORK/fifo"
	timeout "$E2E_TIMEOUT" socat -u "OPEN:$WORK/fifo" \
		"TCP-LISTEN:6001,reuseaddr,bind=10.99.0.1" &
	pids+=($!)
	timeout "$E2E_TIMEOUT" socat -u "TCP-LISTEN:6002,reuseaddr,bind=10.99.0.1" \
		"CREATE:$WORK/g2h.data" &
	pids+=($!)
	# The stream: 1/4 now, 1/2 once the migration runs, 1/4 after it.
	(
		dd if="$WORK/h2g.data" bs=256K count=$((E2E_MB)) status=none
		wait_file "$WORK/migrating" "$deadline" || exit 1
		dd if="$WORK/h2g.data" bs=256K skip=$((E2E_MB)) count=$((2 * E2E_MB)) status=none
		wait_file "$WORK/migrated" "$deadline" || exit 1
		dd if="$WORK/h2g.data" bs=256K skip=$((3 * E2E_MB)) status=none
	) >"$WORK/fifo" &
	w=$!
	pids+=("$w")

	start_qemu 0
	if ! wait_serial_in "$WORK/serial.0" E2E-READY "$deadline"; then
		tap_result l2-ready FAIL "the guest never reported E2E-READY"
		return
	fi
	echo "# L2 network up after $((SECONDS - t0)) s"

	# 2. Cancel halfway: throttled to 256 KB/s it cannot finish.
	start_qemu 1 -incoming "unix:$WORK/mig.1"
	qmp 0 migrate-set-parameters '{"max-bandwidth": 262144}' >/dev/null
	migrate 0 1
	check cancel.active wait_status 0 active "$deadline"
	check cancel.dirty-log-on wait_log 0 1 "$deadline"
	qmp 0 migrate_cancel >/dev/null
	check cancel.cancelled wait_status 0 cancelled "$deadline"
	check cancel.dirty-log-off wait_log 0 0 "$deadline"
	wait_pid "${QPID[1]}" $(($(date +%s) + 30)) || true
	st=$(qmp 0 query-status)
	case "$st" in
	*'"running"'*) tap_result cancel.src-running PASS "" ;;
	*) tap_result cancel.src-running FAIL "$st" ;;
	esac

	# 3. Migrate under traffic.
	start_qemu 2 -incoming "unix:$WORK/mig.2"
	qmp 0 migrate-set-parameters '{"max-bandwidth": 1073741824}' >/dev/null
	migrate 0 2
	touch "$WORK/migrating"
	check stream.dirty-log-on wait_log 0 1 "$deadline"
	if wait_status 0 completed "$deadline"; then
		tap_result stream.migrated PASS "after $((SECONDS - t0)) s"
	else
		tap_result stream.migrated FAIL "$(qmp 0 query-migrate)"
	fi
	touch "$WORK/migrated"
	qmp 0 quit >/dev/null || true
	check stream.src-exit wait_pid "${QPID[0]}" $(($(date +%s) + 30))
	if wait_serial_in "$WORK/serial.2" E2E-STREAM-DONE "$deadline"; then
		echo "# stream done after $((SECONDS - t0)) s"
	fi
	wait_pid "$w" $(($(date +%s) + 30)) || true

	# 4. Migrate while idle, then let the guest go on.
	start_qemu 3 -incoming "unix:$WORK/mig.3"
	migrate 2 3
	if wait_status 2 completed "$deadline"; then
		tap_result idle.migrated PASS "after $((SECONDS - t0)) s"
	else
		tap_result idle.migrated FAIL "$(qmp 2 query-migrate)"
	fi
	qmp 2 quit >/dev/null || true
	check idle.src-exit wait_pid "${QPID[2]}" $(($(date +%s) + 30))
	timeout 300 socat -u TCP-LISTEN:6003,reuseaddr,bind=10.99.0.1 /dev/null &
	pids+=($!)
	if wait_serial_in "$WORK/serial.3" E2E-DONE "$deadline"; then
		retry 10 busybox nc -w 5 10.99.0.2 5999 </dev/null 2>/dev/null || true
	fi
	if wait_pid "${QPID[3]}" "$deadline"; then
		tap_result l2-shutdown PASS "after $((SECONDS - t0)) s"
	else
		tap_result l2-shutdown FAIL "QEMU 3 did not exit"
	fi

	got=$( (sha256sum <"$WORK/g2h.data" | cut -d' ' -f1) 2>/dev/null) || got=""
	if [ "$got" = "$SHA" ]; then
		tap_result mig.g2h PASS "$(wc -c <"$WORK/g2h.data") bytes, sha256 $got"
	else
		tap_result mig.g2h FAIL "sha256 ${got:-none}, want $SHA"
	fi
}

# wait_serial_in FILE WHAT DEADLINE: a line starting with WHAT in FILE.
wait_serial_in() {
	while ! grep -aq "^$2" "$1" 2>/dev/null; do
		[ "$(date +%s)" -lt "$3" ] || return 1
		sleep 0.5
	done
}

echo "TAP version 13"
if [ ! -c "$VHOST_DEV" ]; then
	tap_result vhost-device FAIL "$VHOST_DEV is not a character device"
	echo "1..$TAP_COUNT"
	exit 1
fi
prepare
run
cat "$WORK"/serial.* >"$WORK/serial"
guest_results "$WORK/serial" mig.eth-up mig.before.ping-host mig.h2g-stream \
	mig.after-idle.ping-host l2-dmesg
if [ "$TAP_FAILED" -gt 0 ]; then
	for f in "$WORK"/serial.* "$WORK"/qemu.*.log; do
		tr -d '\r' <"$f" | sed "s|^|# ${f##*/}: |"
	done
else
	grep -a -E 'E2E-(READY|STREAM-DONE|DONE)|mig.h2g' "$WORK/serial" | tr -d '\r' | sed 's/^/# l2: /'
fi
echo "1..$TAP_COUNT"
[ "$TAP_FAILED" -eq 0 ]
