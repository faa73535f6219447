#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# e2e-kernel: 6.12  (make check runs this suite on one kernel: scripts/check.sh)
# e2e-tier: long  (run by E2E_LONG=1 make check, as CI does)
# e2e-long: all-kernels  (E2E_LONG=1 runs it on 6.1 and 6.12)
#
# Live migration of a QEMU guest whose three devices all go through our
# back ends, inside the test VM. Runs as root in the test VM (see
# selftests/vm/modtest.sh e2e-migrate). One L2 guest, four QEMU processes
# N = 0..3 in turn, each with its own
#   virtio-net-pci    tap vhlmN on bridge vhlbr0 (host 10.99.0.1/24, guest
#                     10.99.0.2), vhostfd= on $VHOST_DEV
#   vhost-vsock-pci   guest-cid=3+N, vhostfd= on $VHOST_VSOCK_DEV
#   vhost-user-blk-pci  a `vhostctl serve-blk` bridge of its own (on
#                     /dev/vhost-blk-lite) on one shared 32 MiB disk image
# and shared guest memory (memfd), as vhost-user needs. The plan:
#   1. src boots; the host opens a vsock connection to the guest and holds
#      it; the guest starts receiving a stream from the host and writes
#      random 16 KiB blocks to its disk, one after the other (fsync each),
#      keeping a copy in its RAM;
#   2. a migration to dst1, throttled, is cancelled halfway: src keeps
#      running (dirty logging must have been on, and off again) and the
#      held vsock connection stays up;
#   3. the stream continues while src migrates to dst2 (part of the stream
#      is written while the migration runs, the rest after it completed);
#      the guest checks the stream's sha256 and sends it back (host checks
#      it). The held vsock connection is reset on both ends: the virtio
#      vsock spec resets every connection on migration (QEMU sends the
#      guest VIRTIO_VSOCK_EVENT_TRANSPORT_RESET and the new guest CID).
#      New connections to the new CID carry 1 MiB each way (sha256). The
#      guest stops writing, reads its disk back and compares it with its
#      copy; the host compares the disk image with the guest's sha256 and
#      checks that blocks were written before, during and after the
#      migration;
#   4. dst2 migrates to dst3 while idle; the guest pings the host, reads its
#      disk back once more, connects to the host over vsock, checks its
#      dmesg and powers off.
# Environment: VHOST_DEV (default /dev/vhost-net-lite), VHOST_VSOCK_DEV
# (default /dev/vhost-vsock-lite), L2_KVER (default the installed 6.1
# series), E2E_MB (stream MB, default 4), E2E_TIMEOUT
# (seconds, default 800). Output is KTAP; exit 1 on any failure.
set -eu

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VHOST_DEV=${VHOST_DEV:-/dev/vhost-net-lite}
VHOST_VSOCK_DEV=${VHOST_VSOCK_DEV:-/dev/vhost-vsock-lite}
VHOSTCTL=$REPO/build/vhostctl/vhostctl
BLK_BS=16384
E2E_MB=${E2E_MB:-4}
E2E_TIMEOUT=${E2E_TIMEOUT:-800}
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
	l2_images "$k" "$WORK" migrate virtio_pci virtio_net virtio_blk \
		vmw_vsock_virtio_transport
	cpio_with_libs "$WORK/extra" /usr/bin/socat >>"$L2_INITRD"
	make -s -C "$REPO/tools/vhostctl" >/dev/null
	truncate -s 32M "$WORK/disk.img"
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
	head -c $((1 << 20)) /dev/urandom >"$WORK/vsock.data"
	VSHA=$(sha256sum <"$WORK/vsock.data" | cut -d' ' -f1)
	echo "# L2 kernel $k, devices $VHOST_DEV $VHOST_VSOCK_DEV /dev/vhost-blk-lite"
	echo "# ${E2E_MB} MB net stream sha256 $SHA, 1 MB vsock sha256 $VSHA"
}

# start_bridge N: the serve-blk bridge of QEMU N, on the shared disk.
start_bridge() {
	local n=$1 i
	"$VHOSTCTL" serve-blk --socket "$WORK/blk.$n" --backing "$WORK/disk.img" \
		--serial "e2e-mig-$n" </dev/null 2>"$WORK/bridge.$n.log" &
	pids+=($!)
	for ((i = 0; i < 100; i++)); do
		grep -q listening "$WORK/bridge.$n.log" && [ -S "$WORK/blk.$n" ] && return 0
		sleep 0.1
	done
	echo "# bridge $n did not start: $(cat "$WORK/bridge.$n.log")"
	return 1
}

# blocks_on_disk: how many 16 KiB blocks of the disk image the guest has
# written so far (it writes them in order; random data is never all zero).
blocks_on_disk() {
	python3 -c 'import sys
d = open(sys.argv[1], "rb").read().rstrip(b"\0")
print((len(d) + int(sys.argv[2]) - 1) // int(sys.argv[2]))' "$WORK/disk.img" "$BLK_BS"
}

# start_qemu N [QEMU ARGS...]: QEMU number N on tap vhlmN with its own
# vhost fd; QMP at $WORK/qmp.N, serial log $WORK/serial.N. Sets QPID[N].
declare -A QPID VFD
start_qemu() {
	local n=$1 fd vfd
	shift
	start_bridge "$n" || return 1
	exec {fd}<>"$VHOST_DEV"
	exec {vfd}<>"$VHOST_VSOCK_DEV"
	qemu-system-x86_64 -accel tcg -m 256M -cpu max -smp 1 \
		-object memory-backend-memfd,id=mem,size=256M,share=on \
		-machine pc,memory-backend=mem \
		-nographic -nodefaults -no-reboot -bios qboot.rom \
		-serial "file:$WORK/serial.$n" -qmp "unix:$WORK/qmp.$n,server=on,wait=off" \
		-kernel "$L2_VMLINUX" -initrd "$L2_INITRD" \
		-append "console=ttyS0 panic=-1 quiet tsc=reliable cryptomgr.notests mitigations=off e2e_plan=migrate e2e_sha=$SHA e2e_vsha=$VSHA" \
		-netdev "tap,id=n0,ifname=vhlm$n,script=no,downscript=no,vhost=on,vhostfd=$fd" \
		-device virtio-net-pci,netdev=n0,mac=52:54:00:99:00:02 \
		-device "vhost-vsock-pci,guest-cid=$((3 + n)),vhostfd=$vfd" \
		-chardev "socket,id=b0,path=$WORK/blk.$n" \
		-device vhost-user-blk-pci,chardev=b0 \
		"$@" </dev/null >"$WORK/qemu.$n.log" 2>&1 &
	QPID[$n]=$!
	VFD[$n]=$fd
	pids+=($!)
	exec {fd}>&- {vfd}>&-
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
	local deadline t0=$SECONDS st got w held n_start n_mig
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

	if ! start_qemu 0; then
		tap_result l2-start FAIL "$(cat "$WORK/qemu.0.log" 2>/dev/null)"
		return
	fi
	if ! wait_serial_in "$WORK/serial.0" E2E-READY "$deadline"; then
		tap_result l2-ready FAIL "the guest never reported E2E-READY"
		return
	fi
	echo "# L2 network up after $((SECONDS - t0)) s"

	# The vsock connection held open across the migrations.
	hold_connect

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
	check cancel.vsock-held kill -0 "$held"

	# 3. Migrate under traffic.
	start_qemu 2 -incoming "unix:$WORK/mig.2"
	qmp 0 migrate-set-parameters '{"max-bandwidth": 1073741824}' >/dev/null
	n_start=$(blocks_on_disk)
	migrate 0 2
	touch "$WORK/migrating"
	check stream.dirty-log-on wait_log 0 1 "$deadline"
	if wait_status 0 completed "$deadline"; then
		tap_result stream.migrated PASS "after $((SECONDS - t0)) s"
	else
		tap_result stream.migrated FAIL "$(qmp 0 query-migrate)"
	fi
	n_mig=$(blocks_on_disk)
	touch "$WORK/migrated"
	# The guest reaches the new CID 5 once QEMU has told it (transport
	# reset event); the host side of the held connection is reset when
	# the source's device closes.
	timeout "$E2E_TIMEOUT" socat -u VSOCK-LISTEN:7002 "CREATE:$WORK/vsock.g2h" &
	pids+=($!)
	qmp 0 quit >/dev/null || true
	check stream.src-exit wait_pid "${QPID[0]}" $(($(date +%s) + 30))
	if wait_pid "$held" $(($(date +%s) + 30)); then st=0; else st=$?; fi
	if [ "$st" -ne 255 ] && [ "$(cat "$WORK/held.rx")" = held-before ]; then
		tap_result stream.vsock-held-reset PASS "host end closed (socat status $st)"
	else
		tap_result stream.vsock-held-reset FAIL "status $st, got '$(head -c 100 "$WORK/held.rx")'"
	fi
	if wait_serial_in "$WORK/serial.2" E2E-STREAM-DONE "$deadline"; then
		echo "# stream done after $((SECONDS - t0)) s"
	fi
	wait_pid "$w" $(($(date +%s) + 30)) || true
	# The guest listens on vsock port 7001 at its new CID 5.
	if wait_serial_in "$WORK/serial.2" E2E-VSOCK-LISTEN "$deadline" &&
	   retry 20 timeout 60 socat -u "OPEN:$WORK/vsock.data" VSOCK-CONNECT:5:7001 \
		2>>"$WORK/vsock.send.err"; then
		tap_result stream.vsock-new-cid PASS "1 MiB sent to CID 5"
	else
		tap_result stream.vsock-new-cid FAIL "$(tail -n 3 "$WORK/vsock.send.err" 2>/dev/null)"
	fi
	# The guest's vsock transfers to CID 5 and its disk check come first.
	wait_serial_in "$WORK/serial.2" E2E-BLK "$deadline" || true

	# 4. Migrate while idle, then let the guest go on.
	timeout "$E2E_TIMEOUT" socat -u VSOCK-LISTEN:7003 "CREATE:$WORK/vsock.idle" &
	pids+=($!)
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
	got=$( (sha256sum <"$WORK/vsock.g2h" | cut -d' ' -f1) 2>/dev/null) || got=""
	if [ "$got" = "$VSHA" ]; then
		tap_result mig.vsock.g2h PASS "$(wc -c <"$WORK/vsock.g2h") bytes, sha256 $got"
	else
		tap_result mig.vsock.g2h FAIL "sha256 ${got:-none}, want $VSHA"
	fi
	got=$(cat "$WORK/vsock.idle" 2>/dev/null) || got=""
	if [ "$got" = idle-cid-6 ]; then
		tap_result mig.vsock.after-idle PASS "$got"
	else
		tap_result mig.vsock.after-idle FAIL "got '${got:0:100}'"
	fi
	check_disk "$n_start" "$n_mig"
}

# check_disk N_START N_MIG: the disk image holds exactly the blocks the
# guest reported ("E2E-BLK N SHA": N blocks, sha256 of its RAM copy),
# and the guest wrote some before, during and after the migration.
check_disk() {
	local n sum got rest
	read -r _ n sum <<<"$(grep -a '^E2E-BLK ' "$WORK/serial.3" | tail -n 1 | tr -d '\r')"
	if [ -z "${n:-}" ]; then
		tap_result blk.host-verify FAIL "the guest did not report its blocks"
		return
	fi
	got=$(head -c $((n * BLK_BS)) "$WORK/disk.img" | sha256sum | cut -d' ' -f1)
	rest=$(tail -c +$((n * BLK_BS + 1)) "$WORK/disk.img" | tr -d '\0' | wc -c)
	if [ "$got" = "$sum" ] && [ "$rest" -eq 0 ]; then
		tap_result blk.host-verify PASS "$n blocks of $BLK_BS bytes, sha256 $got"
	else
		tap_result blk.host-verify FAIL "sha256 $got, guest wrote $sum; $rest non-zero bytes after block $n"
	fi
	if [ "$1" -gt 0 ] && [ "$2" -gt "$1" ] && [ "$n" -gt "$2" ]; then
		tap_result blk.writes-span-migration PASS "$1 blocks on disk as it started, $2 as it completed, $n in all"
	else
		tap_result blk.writes-span-migration FAIL "blocks on disk: $1 at start, $2 at completion, $n at the end"
	fi
}

# hold_connect: connect to the guest's port 7000 (again, while the guest's
# listener is not up yet: refused) until its first line arrives, within a
# minute. Sets held.
hold_connect() {
	local end=$(($(date +%s) + 60))
	held=""
	while ! grep -qx held-before "$WORK/held.rx" 2>/dev/null; do
		if [ "$(date +%s)" -ge "$end" ]; then
			tap_result vsock.held-open FAIL "$(tail -n 3 "$WORK/held.err")"
			return
		fi
		if [ -z "$held" ] || ! kill -0 "$held" 2>/dev/null; then
			timeout "$E2E_TIMEOUT" socat -u VSOCK-CONNECT:3:7000 \
				"CREATE:$WORK/held.rx" 2>>"$WORK/held.err" &
			held=$!
			pids+=("$held")
		fi
		sleep 0.2
	done
	tap_result vsock.held-open PASS ""
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
guest_results "$WORK/serial" mig.eth-up mig.before.ping-host mig.blk.disk \
	mig.h2g-stream mig.vsock.held-reset mig.vsock.h2g mig.blk.after-stream \
	mig.after-idle.ping-host mig.blk.after-idle l2-dmesg
if [ "$TAP_FAILED" -gt 0 ]; then
	for f in "$WORK"/serial.* "$WORK"/qemu.*.log; do
		tr -d '\r' <"$f" | sed "s|^|# ${f##*/}: |"
	done
else
	grep -a -E 'E2E-(READY|STREAM-DONE|BLK|DONE)|mig\.(h2g|vsock|blk)' "$WORK/serial" |
		tr -d '\r' | sed 's/^/# l2: /'
	sed 's/^/# bridge 0: /' "$WORK/bridge.0.log" | tail -n 5
fi
echo "1..$TAP_COUNT"
[ "$TAP_FAILED" -eq 0 ]
