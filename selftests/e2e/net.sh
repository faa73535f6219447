#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# e2e-kernel: 6.1  (make check runs this suite on one kernel: scripts/check.sh)
#
# End-to-end test of a vhost-net device with a QEMU "L2" guest. Runs as root
# INSIDE the test VM, e.g.
#   selftests/vm/run.sh --kernel 6.12 -- sh -c 'modprobe vhost_net &&
#       VHOST_DEV=/dev/vhost-net selftests/e2e/net.sh'
# Usage: net.sh [CONFIG...]      (default: default noevidx packed mq)
#   default  virtio-net-pci, one queue pair, tap by ifname + vhostfd=
#   noevidx  same with event_idx=off,indirect_desc=off, and poll-us=50 on
#            its tap: QEMU sets a 50 us busyloop timeout on both queues
#   packed   same with packed=on (VIRTIO_F_RING_PACKED)
#   mq       two queue pairs (mq=on): fdexec opens the tap queues and the
#            vhost fds for fds=/vhostfds=
#   dropin   tap by ifname + plain vhost=on: QEMU opens /dev/vhost-net
#            itself (VHOST_DEV must be /dev/vhost-net; see dropin.sh)
# All configurations are NICs of ONE L2 guest boot (NIC i: tap vhltapI,
# host 10.99.I.1/24, guest 10.99.I.2/24), each with its own vhost fds.
# Environment:
#   VHOST_DEV    vhost device under test (default /dev/vhost-net-lite)
#   L2_KVER      L2 guest kernel (default: the installed 6.1 series)
#   E2E_MB       MB per flow and direction (default 1)
#   E2E_TIMEOUT  bound on the L2 guest run in seconds (default 700)
#   E2E_SHOW     if set, print vhostctl list/show of QEMU's vhost fds (demo)
#   E2E_VSOCK    1: the guest also gets -device vhost-vsock-pci,guest-cid=3
#                without vhostfd= (QEMU opens /dev/vhost-vsock itself; the
#                drop-in suite loads vhost_vsock_lite standard_names=1 for
#                it), socat in its initramfs, and the vsock.* checks below
# Checks per NIC: guest and host ping each other, sha256-checked transfers
# both ways (one flow per queue pair, flow q on guest CPU q), RX interrupts
# per queue in the guest, the device's own counters from fdinfo (vhl-vqN
# lines, RX vq 0 and TX vq 1 of every vhost fd must have packets > 0; the
# negotiated features, vhl-features, have VIRTIO_F_RING_PACKED (bit 34)
# exactly for the packed configuration; noevidx's queues have
# busyloop_us=50 and busy-polled) and
# `vhostctl list` showing each vhost fd as a net device of QEMU (both
# skipped when vhost_net_lite is not loaded: the in-tree vhost_net has no
# such lines); plus the guest's dmesg and a clean guest shutdown. With
# E2E_VSOCK=1: the host sends the same data to the guest over AF_VSOCK
# (guest CID 3, port 5001; the guest checks its sha256) and the guest
# sends it back (host port 5002; the host checks), QEMU's own fd on
# /dev/vhost-vsock is a vhost-lite vsock device for CID 3 whose queues
# moved packets, and `vhostctl list` shows it. Output is KTAP; exit 1 on
# any failure.
set -eu

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=$REPO/build/e2e
VHOST_DEV=${VHOST_DEV:-/dev/vhost-net-lite}
E2E_MB=${E2E_MB:-1}
E2E_TIMEOUT=${E2E_TIMEOUT:-700}
E2E_VSOCK=${E2E_VSOCK:-0}
VSOCK_DEV=/dev/vhost-vsock
GUEST_CID=3
WORK=$(mktemp -d /tmp/e2e-net.XXXXXX)
SERIAL=$WORK/serial
: >"$SERIAL"
# shellcheck source=selftests/e2e/lib.sh
. "$HERE/lib.sh"

pids=() taps=()
cleanup() {
	local p
	for p in "${pids[@]+"${pids[@]}"}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${taps[@]+"${taps[@]}"}"; do
		ip link del "$p" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

queues_of() {
	[ "$1" = mq ] && echo 2 || echo 1
}

# Everything the L2 guest needs: kernel, initramfs, fdexec, data.
prepare() {
	local k=${L2_KVER:-}
	[ -n "$k" ] || k=$(ls /lib/modules | grep -m1 '^6\.1\.' || uname -r)
	L2_VMLINUX=$("$REPO/selftests/vm/mkvmlinux.sh" "$k" "$REPO/build/vm")
	if [ "$E2E_VSOCK" = 1 ]; then
		L2_INITRD=$REPO/build/vm/l2-initramfs-vsock-$k.cpio
		"$REPO/selftests/vm/mkinitramfs.sh" "$k" "$L2_INITRD" \
			"$HERE/l2-init.sh" virtio_pci virtio_net vmw_vsock_virtio_transport
	else
		L2_INITRD=$REPO/build/vm/l2-initramfs-$k.cpio
		"$REPO/selftests/vm/mkinitramfs.sh" "$k" "$L2_INITRD" \
			"$HERE/l2-init.sh" virtio_pci virtio_net
	fi
	# QEMU loads a kernel from tmpfs in 1 s, from the 9p share in 4-5 s.
	cp "$L2_VMLINUX" "$WORK/vmlinux"
	if [ "$E2E_VSOCK" = 1 ]; then
		# socat for the guest's half of the vsock checks.
		{ cat "$L2_INITRD"; cpio_with_libs "$WORK/extra" /usr/bin/socat; } >"$WORK/initrd"
	else
		cp "$L2_INITRD" "$WORK/initrd"
	fi
	L2_VMLINUX=$WORK/vmlinux L2_INITRD=$WORK/initrd
	mkdir -p "$OUT"
	if ! [ "$OUT/fdexec" -nt "$HERE/fdexec.c" ]; then
		cc -O2 -Wall -o "$OUT/fdexec" "$HERE/fdexec.c"
	fi
	modprobe tun
	head -c $((E2E_MB << 20)) /dev/urandom >"$WORK/h2g.data"
	H2G_SHA=$(sha256sum <"$WORK/h2g.data" | cut -d' ' -f1)
	echo "# L2 kernel $k, device $VHOST_DEV, $E2E_MB MB per flow and direction, sha256 $H2G_SHA"
}

# Tap vhltap$1 for $2 queues, and the listeners of its flows.
setup_nic() {
	local i=$1 queues=$2 q port tap=vhltap$1 mq=""
	[ "$queues" -eq 1 ] || mq=multi_queue
	ip tuntap add dev "$tap" mode tap vnet_hdr $mq
	taps+=("$tap")
	ip addr add "10.99.$i.1/24" dev "$tap"
	ip link set "$tap" up
	for ((q = 0; q < queues; q++)); do
		port=$((5000 + 100 * i + 2 * q))
		timeout "$E2E_TIMEOUT" socat -u "FILE:$WORK/h2g.data" \
			"TCP-LISTEN:$((port + 1)),reuseaddr,bind=10.99.$i.1" &
		pids+=($!)
		timeout "$E2E_TIMEOUT" socat -u \
			"TCP-LISTEN:$((port + 2)),reuseaddr,bind=10.99.$i.1" \
			"CREATE:$WORK/g2h.$i.$q" &
		pids+=($!)
		FLOW_PIDS+=($!)
	done
}

# Start the L2 QEMU with one NIC per configuration; sets QEMU_PID and
# VHOST_FDS (one "CONFIG.pairQ=FD" word per vhost fd).
start_l2() {
	local i=0 cfg queues smp=1 nics="" opts mqcfg="" fd append
	local qemu=(qemu-system-x86_64 -accel tcg,thread=multi -m 512M -cpu max
		-nographic -nodefaults -no-reboot -serial "file:$SERIAL" -bios qboot.rom
		-kernel "$L2_VMLINUX" -initrd "$L2_INITRD")
	local single=()
	VHOST_FDS=""
	for cfg in "$@"; do
		queues=$(queues_of "$cfg")
		nics="$nics,$cfg:$queues"
		opts="netdev=n$i,mac=52:54:00:99:0$i:02"
		case "$cfg" in
		noevidx) opts="$opts,event_idx=off,indirect_desc=off" ;;
		packed) opts="$opts,packed=on" ;;
		mq) opts="$opts,mq=on,vectors=$((2 * queues + 2))" ;;
		esac
		if [ "$cfg" = dropin ]; then
			# QEMU opens /dev/vhost-net itself; check_counters finds the fd.
			VHOST_FDS="$VHOST_FDS $cfg.pair0=auto"
			qemu+=(-netdev "tap,id=n$i,ifname=vhltap$i,script=no,downscript=no,vhost=on")
			echo "# $cfg: QEMU -netdev ${qemu[-1]}"
		elif [ "$queues" -gt 1 ]; then
			[ -z "$mqcfg" ] || { echo "# only one multi-queue NIC is supported" >&2; return 1; }
			mqcfg=$cfg smp=$queues
			qemu+=(-netdev "tap,id=n$i,fds=@TAPFDS@,vhost=on,vhostfds=@VHOSTFDS@")
		else
			exec {fd}<>"$VHOST_DEV"
			single+=("$fd")
			VHOST_FDS="$VHOST_FDS $cfg.pair0=$fd"
			qemu+=(-netdev "tap,id=n$i,ifname=vhltap$i,script=no,downscript=no,vhost=on,vhostfd=$fd")
			[ "$cfg" != noevidx ] || qemu[-1]="${qemu[-1]},poll-us=50"
		fi
		qemu+=(-device "virtio-net-pci,$opts")
		i=$((i + 1))
	done
	if [ "$E2E_VSOCK" = 1 ]; then
		# No vhostfd=: QEMU opens /dev/vhost-vsock itself.
		qemu+=(-device "vhost-vsock-pci,guest-cid=$GUEST_CID")
		echo "# vsock: QEMU -device ${qemu[-1]}"
	fi
	# Boot-time savers for the guest kernel (it is not what is tested).
	append="console=ttyS0 panic=-1 quiet tsc=reliable cryptomgr.notests mitigations=off"
	append="$append e2e_vsock=$E2E_VSOCK"
	qemu+=(-smp "$smp" -append "$append e2e_nics=${nics#,} e2e_sha=$H2G_SHA")
	if [ -n "$mqcfg" ]; then
		qemu=("$OUT/fdexec" -t "vhltap$(index_of "$mqcfg" "$@")" -q "$smp"
			-v "$VHOST_DEV" -- "${qemu[@]}")
	fi
	"${qemu[@]}" </dev/null >"$WORK/qemu.log" 2>&1 &
	QEMU_PID=$!
	pids+=($!)
	for fd in "${single[@]+"${single[@]}"}"; do
		exec {fd}>&-
	done
	if [ -n "$mqcfg" ]; then
		# fdexec's vhost fds are the ones we did not open, in queue order.
		local q=0 f
		for f in $(vhost_fds "$QEMU_PID"); do
			case " ${single[*]+"${single[*]}"} " in *" $f "*) continue ;; esac
			VHOST_FDS="$VHOST_FDS $mqcfg.pair$q=$f"
			q=$((q + 1))
		done
	fi
}

index_of() {
	local want=$1 i=0 c
	shift
	for c in "$@"; do
		[ "$c" = "$want" ] && echo "$i" && return
		i=$((i + 1))
	done
}

# Sorted numbers of the fds of process $1 that are open on $VHOST_DEV,
# once the process has exec'd QEMU (bounded wait).
vhost_fds() {
	local pid=$1 f n
	for ((n = 0; n < 50; n++)); do
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(command -v qemu-system-x86_64)" ] && break
		sleep 0.1
	done
	for f in /proc/"$pid"/fd/*; do
		[ "$(readlink "$f")" = "$VHOST_DEV" ] && echo "${f##*/}"
	done | sort -n
}

# The fd QEMU opened on $VHOST_DEV itself: one not in $VHOST_FDS.
qemu_own_fd() {
	local f
	for f in $(vhost_fds "$QEMU_PID"); do
		case " $VHOST_FDS " in *"=$f "*) ;; *) echo "$f"; return ;; esac
	done
}

# Per-vq packet counters of each vhost fd of QEMU, and vhostctl list.
check_counters() {
	local w name fd info rx tx first
	first=${VHOST_FDS# }
	first=${first%% *}
	for w in $VHOST_FDS; do
		name=${w%=*} fd=${w#*=}
		[ "$fd" != auto ] || fd=$(qemu_own_fd)
		info=/proc/$QEMU_PID/fdinfo/$fd
		if ! grep -q '^vhl-vq' "$info" 2>/dev/null; then
			if [ ! -d /sys/module/vhost_net_lite ]; then
				tap_result "$name.vhost-counters" SKIP "in-tree $VHOST_DEV has no vhl-vq fdinfo lines"
			else
				tap_result "$name.vhost-counters" FAIL "no vhl-vq lines in ${fd:+$info}${fd:-no fd of QEMU on $VHOST_DEV}"
			fi
			continue
		fi
		check_vhostctl_list "$name" "$fd"
		[ "$w" != "$first" ] || check_vhostctl_show "$name" "$fd"
		check_ring_layout "$name" "$info" \
			"$([ "${name%%.*}" = packed ] && echo 1 || echo 0)"
		[ "${name%%.*}" != noevidx ] || check_busy_poll "$name" "$info"
		if [ -n "${E2E_SHOW:-}" ]; then
			echo "# vhostctl list; vhostctl show $QEMU_PID:${fd##*/}:"
			"$REPO/build/vhostctl/vhostctl" list | sed 's/^/#   /'
			"$REPO/build/vhostctl/vhostctl" show "$QEMU_PID:${fd##*/}" |
				sed 's/^/#   /'
		fi
		rx=$(vq_field "$info" 0 packets) tx=$(vq_field "$info" 1 packets)
		if [ "${rx:-0}" -gt 0 ] && [ "${tx:-0}" -gt 0 ]; then
			tap_result "$name.vhost-counters" PASS "rx packets=$rx tx packets=$tx"
		else
			tap_result "$name.vhost-counters" FAIL "rx packets=${rx:-?} tx packets=${tx:-?}"
		fi
	done
}

# vhostctl show of QEMU's fd $2 (configuration $1): the whole state of a
# running guest's device, kept in the log as the test's detail.
check_vhostctl_show() {
	local name=$1 fd=$2 out
	out=$("$REPO/build/vhostctl/vhostctl" show "$QEMU_PID:$fd" 2>&1) || true
	if echo "$out" | grep -Eq '^kind +net$' &&
	   echo "$out" | grep -Eq "^process +qemu-system" &&
	   echo "$out" | grep -Eq '^vq0 ' && echo "$out" | grep -Eq '^vq1 '; then
		tap_result "$name.vhostctl-show" PASS "$out"
	else
		tap_result "$name.vhostctl-show" FAIL "$out"
	fi
}

# QEMU's poll-us=50 (configuration $1, fdinfo $2): both queues have a
# 50 us busyloop timeout and both handlers polled.
check_busy_poll() {
	local name=$1 info=$2 q us polls hits detail="" ok=1
	for q in 0 1; do
		us=$(vq_field "$info" $q busyloop_us)
		polls=$(vq_field "$info" $q busy_polls)
		hits=$(vq_field "$info" $q busy_poll_hits)
		detail="$detail vq$q busyloop_us=${us:-?} busy_polls=${polls:-?} busy_poll_hits=${hits:-?}"
		[ "${us:-0}" -eq 50 ] && [ "${polls:-0}" -gt 0 ] || ok=0
	done
	if [ "$ok" = 1 ]; then
		tap_result "$name.busy-poll" PASS "${detail# }"
	else
		tap_result "$name.busy-poll" FAIL "${detail# }"
	fi
}

# vhostctl list must show QEMU's fd $2 (of configuration $1) as a device
# of kind $3 (default net) whose owner is QEMU.
check_vhostctl_list() {
	local name=$1 fd=$2 kind=${3:-net} out line f
	out=$("$REPO/build/vhostctl/vhostctl" list 2>&1) || true
	line=$(echo "$out" | awk -v id="$QEMU_PID:$fd" '$1 == id')
	read -r -a f <<<"$line"
	if [ "${f[2]:-}" = "$kind" ] && [ "${f[3]:-}" = "$QEMU_PID" ]; then
		tap_result "$name.vhostctl-list" PASS "$line"
	else
		tap_result "$name.vhostctl-list" FAIL "no $kind device $QEMU_PID:$fd owned by QEMU in: $out"
	fi
}

# Host half of the vsock checks: send the data to the guest's port 5001
# (retried until the guest listens), bounded.
vsock_h2g() {
	retry 240 timeout 60 socat -u "FILE:$WORK/h2g.data" \
		"VSOCK-CONNECT:$GUEST_CID:5001" 2>/dev/null
}

# QEMU's own fd on /dev/vhost-vsock (it opened it: no vhostfd=).
vsock_fd() {
	local f
	for f in /proc/"$QEMU_PID"/fd/*; do
		[ "$(readlink "$f")" = "$VSOCK_DEV" ] && echo "${f##*/}" && return
	done
}

# The data came back from the guest over vsock, and QEMU's vsock device
# is ours: vhl-kind vsock for CID 3, packets on both queues, in the list.
check_vsock() {
	local fd info got rx tx line
	if wait_pid "$VSOCK_SEND" $(($(date +%s) + 60)); then
		tap_result vsock.h2g-connect PASS "$E2E_MB MB sent to CID $GUEST_CID port 5001"
	else
		tap_result vsock.h2g-connect FAIL "cannot send to CID $GUEST_CID port 5001"
	fi
	if wait_pid "$VSOCK_RECV" $(($(date +%s) + 60)); then
		got=$(sha256sum <"$WORK/vsock.g2h" | cut -d' ' -f1)
		if [ "$got" = "$H2G_SHA" ]; then
			tap_result vsock.g2h PASS "$(wc -c <"$WORK/vsock.g2h") bytes, sha256 $got"
		else
			tap_result vsock.g2h FAIL "sha256 $got, want $H2G_SHA"
		fi
	else
		tap_result vsock.g2h FAIL "nothing from the guest on host port 5002"
	fi
	fd=$(vsock_fd)
	info=/proc/$QEMU_PID/fdinfo/$fd
	if [ -z "$fd" ]; then
		tap_result vsock.device FAIL "QEMU has no fd on $VSOCK_DEV"
		return
	fi
	line=$(grep '^vhl-vsock:' "$info" | cut -f2)
	rx=$(vq_field "$info" 0 packets) tx=$(vq_field "$info" 1 packets)
	if [ "$(grep '^vhl-kind:' "$info" | cut -f2)" = vsock ] &&
	   [[ "$line" = "cid=$GUEST_CID "* ]] &&
	   [ "${rx:-0}" -gt 0 ] && [ "${tx:-0}" -gt 0 ]; then
		tap_result vsock.device PASS "$VSOCK_DEV fd $fd: rx packets=$rx tx packets=$tx; $line"
	else
		tap_result vsock.device FAIL "$VSOCK_DEV fd $fd: rx packets=${rx:-?} tx packets=${tx:-?}; ${line:-no vhl-vsock line}"
	fi
	check_vhostctl_list vsock "$fd" vsock
}

# Host-side results of the guest-to-host flows of NIC $1 ($2, $3 queues):
# the guest sends back what it received.
check_g2h() {
	local i=$1 cfg=$2 queues=$3 q got f
	for ((q = 0; q < queues; q++)); do
		grep -aq "^E2E-RESULT $cfg.g2h-q$q " "$SERIAL" && continue
		f=$WORK/g2h.$i.$q
		got=$( (sha256sum <"$f" | cut -d" " -f1) 2>/dev/null) || got=""
		if [ "$got" = "$H2G_SHA" ]; then
			tap_result "$cfg.g2h-q$q" PASS "$(wc -c <"$f") bytes"
		else
			tap_result "$cfg.g2h-q$q" FAIL "sha256 ${got:-none}, want $H2G_SHA"
		fi
	done
}

run() {
	local i cfg q deadline rc=0 t0=$SECONDS expect=()
	FLOW_PIDS=()
	if [ "$E2E_VSOCK" = 1 ]; then
		timeout "$E2E_TIMEOUT" socat -u VSOCK-LISTEN:5002 "CREATE:$WORK/vsock.g2h" &
		VSOCK_RECV=$!
		pids+=($!)
	fi
	for ((i = 1; i <= $#; i++)); do
		cfg=${!i}
		setup_nic $((i - 1)) "$(queues_of "$cfg")"
	done
	start_l2 "$@"
	deadline=$(($(date +%s) + E2E_TIMEOUT))

	if wait_serial "$deadline" E2E-READY; then
		echo "# L2 network up after $((SECONDS - t0)) s"
		if [ "$E2E_VSOCK" = 1 ]; then
			vsock_h2g &
			VSOCK_SEND=$!
			pids+=($!)
		fi
		i=0
		for cfg in "$@"; do
			if retry 10 busybox ping -c 1 -W 2 "10.99.$i.2" >/dev/null; then
				tap_result "$cfg.ping-guest" PASS \
					"$(busybox ping -c 3 -W 5 "10.99.$i.2" | tail -1)"
			else
				tap_result "$cfg.ping-guest" FAIL "no reply from 10.99.$i.2"
			fi
			i=$((i + 1))
		done
	fi
	if wait_serial "$deadline" E2E-DONE; then
		echo "# L2 checks done after $((SECONDS - t0)) s"
		check_counters
		[ "$E2E_VSOCK" != 1 ] || check_vsock
		retry 10 busybox nc -w 5 10.99.0.2 5999 </dev/null 2>/dev/null || true
	fi
	wait_pid "$QEMU_PID" "$deadline" || rc=$?
	if [ "$rc" -eq 0 ]; then
		tap_result l2-shutdown PASS "after $((SECONDS - t0)) s"
	else
		tap_result l2-shutdown FAIL "QEMU status $rc (255: killed at the deadline)"
		sed 's/^/# qemu: /' "$WORK/qemu.log"
	fi
	for q in "${FLOW_PIDS[@]}"; do
		wait_pid "$q" $(($(date +%s) + 10)) || true
	done

	for cfg in "$@"; do
		expect+=("$cfg.eth-up" "$cfg.queues" "$cfg.ping-host")
		for ((q = 0; q < $(queues_of "$cfg"); q++)); do
			expect+=("$cfg.h2g-q$q" "$cfg.irq-input.$q")
		done
	done
	[ "$E2E_VSOCK" != 1 ] || expect+=(vsock.h2g)
	guest_results "$SERIAL" "${expect[@]}" l2-dmesg
	i=0
	for cfg in "$@"; do
		check_g2h "$i" "$cfg" "$(queues_of "$cfg")"
		i=$((i + 1))
	done
	if [ "$TAP_FAILED" -gt 0 ]; then
		tr -d '\r' <"$SERIAL" | sed 's/^/# l2: /'
	else
		grep -a -E 'E2E-(BOOTED|MODULES|READY|SENT|FLOWS-DONE|DONE)' "$SERIAL" | tr -d '\r' | sed 's/^/# l2: /'
	fi
}

configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(default noevidx packed mq)
echo "TAP version 13"
if [ ! -c "$VHOST_DEV" ]; then
	tap_result vhost-device FAIL "$VHOST_DEV is not a character device"
	echo "1..$TAP_COUNT"
	exit 1
fi
prepare
run "${configs[@]}"
echo "1..$TAP_COUNT"
[ "$TAP_FAILED" -eq 0 ]
