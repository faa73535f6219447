#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: scripts/bench.sh                  (what `make bench` runs)
#        scripts/bench.sh --in-vm MODDIR     (inside the test VM; internal)
#        scripts/bench.sh --smoke KIND       (inside the test VM, modules
#            loaded: modtest.sh's selftests mode; KIND net, vsock, blk or
#            blk-vhost-user) a run of a fraction of a second per case on
#            $VHOST_{NET,VSOCK,BLK}_DEV or qemu-storage-daemon; passes when
#            it printed well-formed JSON with nonzero counts (never timing)
#
# Boots the test VM once (selftests/vm/run.sh) and runs, in that one boot,
# `vhostctl bench` on every pair: vhost_net_lite vs the in-tree vhost_net
# (both loaded), vhost_vsock_lite vs the in-tree vhost_vsock (loaded in
# turn: only one vsock host transport can exist), vhost_blk_lite vs
# qemu-storage-daemon's vhost-user-blk export (both on a tmpfs file; qsd
# with aio=io_uring, or its thread pool where io_uring is off), and
# a single-core memcpy as the physical reference; and (kind "workers")
# vhost_blk_lite at QD32 on 1 virtqueue, on 2 sharing the device's worker
# and on 2 with a worker each (vhostctl bench blk --queues 2 [--workers],
# label vhost_blk_lite-mq); and (kind "busypoll") 64-byte TX and RX on
# vhost_net_lite and the in-tree vhost_net without and with a 50 us
# busyloop timeout (labels *-poll0, *-poll50). Then scripts/bench.py
# prints one table with the ratios and writes, to BENCH_OUT:
#   raw/KIND-LABEL.json   what each vhostctl bench run printed
#   results.json, results.csv   every row, and the pairs with their ratios
#   table.txt             the table printed at the end
#   bench.png             the ratios as a bar chart (python3-matplotlib)
# Environment:
#   BENCH_KERNEL      kernel of the test VM (default 6.12)
#   BENCH_DURATION    seconds per case (default 4)
#   BENCH_DISK_MB     size of each blk backing file (default 256)
#   BENCH_KINDS       subset of "memcpy net vsock blk workers busypoll"
#                     (default all)
#   BENCH_OUT         results directory (default build/bench)
#   BENCH_TIMEOUT     bound on the VM run in seconds (default: from the
#                     duration and the kinds)
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top" || exit 1
vhostctl=$top/build/vhostctl/vhostctl
dur=${BENCH_DURATION:-4}
kinds=${BENCH_KINDS:-memcpy net vsock blk workers busypoll}
disk_mb=${BENCH_DISK_MB:-256}

log() { echo "bench: $*" >&2; }

# run_bench KIND LABEL ARGS...: one vhostctl bench run into raw/KIND-LABEL.json.
run_bench() {
	local kind=$1 label=$2 out rc=0
	shift 2
	out=$VHL_RESULTS/raw/$kind-$label.json
	log "$kind on $label"
	timeout -k 5 $(( ${dur%.*} * 20 + 60 )) "$vhostctl" bench "$kind" \
		--label "$label" --duration "$dur" --json "$@" >"$out" || rc=$?
	if [ "$rc" -ne 0 ]; then
		log "FAILED: $kind on $label (status $rc; output in $out.failed)"
		echo "$kind $label" >>"$VHL_RESULTS/raw/failed.txt"
		mv "$out" "$out.failed"
	fi
}

# start_qsd IMG SOCK LOG: qemu-storage-daemon exporting IMG as
# vhost-user-blk on SOCK, in the background ($qsd), with io_uring where the
# kernel allows it (its fastest file back end), else its thread pool
# ($qsd_aio says which); 0 once SOCK listens.
start_qsd() {
	local _
	for qsd_aio in io_uring threads; do
		qemu-storage-daemon \
			--blockdev "driver=file,node-name=disk,filename=$1,aio=$qsd_aio" \
			--export "type=vhost-user-blk,id=e0,node-name=disk,addr.type=unix,addr.path=$2,writable=on" \
			>"$3" 2>&1 </dev/null &
		qsd=$!
		for _ in $(seq 100); do
			[ -S "$2" ] && return 0
			kill -0 "$qsd" 2>/dev/null || break
			sleep 0.1
		done
		log "qemu-storage-daemon (aio=$qsd_aio) did not listen on $2: $(cat "$3")"
		stop_qsd
	done
	return 1
}

stop_qsd() {
	kill "$qsd" 2>/dev/null
	wait "$qsd" 2>/dev/null
	qsd=-1
}

smoke() {
	local kind=$1 out=/tmp/bench-smoke-$1.json img=/tmp/bench-smoke.img rc=0
	local sock=/tmp/bench-smoke.sock
	set -- --duration 0.3 --quiet --json
	case "$kind" in
	net) set -- "$@" --dev "${VHOST_NET_DEV:-/dev/vhost-net-lite}" ;;
	vsock) set -- "$@" --dev "${VHOST_VSOCK_DEV:-/dev/vhost-vsock-lite}" ;;
	blk) set -- "$@" --dev "${VHOST_BLK_DEV:-/dev/vhost-blk-lite}" --size-mb 16 ;;
	blk-vhost-user)
		fallocate -l 16M "$img" && start_qsd "$img" "$sock" /tmp/qsd-smoke.log ||
			return 1
		set -- "$@" --dev "$sock"
		;;
	*) log "unknown smoke kind $kind"; return 2 ;;
	esac
	timeout -k 5 120 "$vhostctl" bench "${kind%-vhost-user}" "$@" >"$out" || rc=$?
	[ "$kind" != blk-vhost-user ] || { stop_qsd; rm -f "$img"; }
	[ "$rc" -eq 0 ] || { log "vhostctl bench exited $rc"; return 1; }
	python3 scripts/bench.py check "$out"
}

want() { case " $kinds " in *" $1 "*) return 0 ;; esac; return 1; }

in_vm() {
	local moddir=$1
	rm -rf "$VHL_RESULTS/raw"
	mkdir -p "$VHL_RESULTS/raw"
	uname -r >"$VHL_RESULTS/raw/kernel.txt"
	modprobe tun || return 1
	insmod "$moddir/vhost_core/vhost_lite.ko" || return 1

	want memcpy && run_bench memcpy memcpy

	if want net; then
		insmod "$moddir/vhost_net_lite/vhost_net_lite.ko" &&
		modprobe vhost_net || return 1
		run_bench net vhost_net_lite --dev /dev/vhost-net-lite
		run_bench net vhost_net --dev /dev/vhost-net
		rmmod vhost_net vhost_net_lite
	fi

	if want vsock; then
		modprobe vmw_vsock_virtio_transport_common || return 1
		insmod "$moddir/vhost_vsock_lite/vhost_vsock_lite.ko" || return 1
		run_bench vsock vhost_vsock_lite --dev /dev/vhost-vsock-lite
		rmmod vhost_vsock_lite
		modprobe vhost_vsock || return 1
		run_bench vsock vhost_vsock --dev /dev/vhost-vsock
		rmmod vhost_vsock
	fi

	if want blk; then
		insmod "$moddir/vhost_blk_lite/vhost_blk_lite.ko" || return 1
		fallocate -l "${disk_mb}M" /tmp/bench-lite.img
		fallocate -l "${disk_mb}M" /tmp/bench-qsd.img
		run_bench blk vhost_blk_lite --dev /dev/vhost-blk-lite \
			--backing /tmp/bench-lite.img
		rmmod vhost_blk_lite
		if start_qsd /tmp/bench-qsd.img /tmp/bench-qsd.sock \
				"$VHL_RESULTS/raw/qsd.log"; then
			echo "$qsd_aio" >"$VHL_RESULTS/raw/qsd-aio.txt"
			run_bench blk qemu-storage-daemon --dev /tmp/bench-qsd.sock
		else
			echo "blk qemu-storage-daemon" >>"$VHL_RESULTS/raw/failed.txt"
		fi
		stop_qsd
		rm -f /tmp/bench-lite.img /tmp/bench-qsd.img
	fi
	if want workers; then
		local mq="--dev /dev/vhost-blk-lite --backing /tmp/bench-mq.img"

		insmod "$moddir/vhost_blk_lite/vhost_blk_lite.ko" || return 1
		fallocate -l "${disk_mb}M" /tmp/bench-mq.img
		mq="$mq --case randread-4k-qd32,randwrite-4k-qd32"
		# shellcheck disable=SC2086 # $mq is a list of options
		run_bench blk vhost_blk_lite-mq $mq
		# shellcheck disable=SC2086
		run_bench blk vhost_blk_lite-mq-2q $mq --queues 2
		# shellcheck disable=SC2086
		run_bench blk vhost_blk_lite-mq-2w $mq --queues 2 --workers
		rmmod vhost_blk_lite
		rm -f /tmp/bench-mq.img
	fi
	if want busypoll; then
		local bp="--case tx-64,rx-64 --queues 1" us dev

		insmod "$moddir/vhost_net_lite/vhost_net_lite.ko" &&
		modprobe vhost_net || return 1
		for us in 0 50; do
			for dev in vhost-net-lite vhost-net; do
				# shellcheck disable=SC2086 # $bp is a list of options
				run_bench net "$(echo "$dev" | tr - _)-poll$us" \
					--dev "/dev/$dev" $bp --busyloop-us "$us"
			done
		done
		rmmod vhost_net vhost_net_lite
	fi
	rmmod vhost_lite
	[ ! -s "$VHL_RESULTS/raw/failed.txt" ]
}

qsd=-1 qsd_aio=""
if [ "${1:-}" = --smoke ]; then
	smoke "${2:?KIND}"
	exit
fi
if [ "${1:-}" = --in-vm ]; then
	in_vm "${2:?MODDIR}"
	exit
fi

kernel=${BENCH_KERNEL:-6.12}
out=${BENCH_OUT:-$top/build/bench}
kver=$(cd /lib/modules && ls -d "$kernel" "$kernel".* "$kernel"-* 2>/dev/null | head -n 1)
[ -n "$kver" ] || { log "kernel $kernel is not installed"; exit 1; }
make -s modules-all KERNELS="$kver" >&2 && make -s userspace >&2 || exit 1
# Per kind: cases x devices x duration, plus set-up (generous under TCG).
n=0
want memcpy && n=$((n + 1))
want net && n=$((n + 24))
want vsock && n=$((n + 10))
want blk && n=$((n + 12))
want workers && n=$((n + 6))
want busypoll && n=$((n + 8))
limit=${BENCH_TIMEOUT:-$(( n * (${dur%.*} + 6) + 240 ))}
mkdir -p "$out"
log "test VM on $kver, $dur s per case, bound ${limit} s; results in $out"
rc=0
selftests/vm/run.sh --kernel "$kver" --timeout "$limit" --results "$out" \
	--env "BENCH_DURATION=$dur" --env "BENCH_KINDS=$kinds" \
	--env "BENCH_DISK_MB=$disk_mb" \
	-- scripts/bench.sh --in-vm "$top/build/$kver" >"$out/console.log" 2>&1 || rc=$?
grep -a '^bench: ' "$out/console.log" | tr -d '\r' >&2
[ "$rc" -eq 0 ] || log "the VM run ended with status $rc (console: $out/console.log)"
python3=/usr/bin/python3	# Debian's, with python3-matplotlib
[ -x "$python3" ] || python3=python3
"$python3" scripts/bench.py report "$out" || rc=1
exit "$rc"
