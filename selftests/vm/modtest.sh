#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage (inside the test VM, see run.sh): modtest.sh selftests|e2e-SUITE MODDIR
#
# Loads tun and the vhost-lite modules from MODDIR: vhost_core/vhost_lite.ko,
# then each back end present in MODDIR in the order of BACKENDS below (a
# back end's Debian dependencies, e.g. vsock, are modprobed first). Then
# either runs every selftest program in build/selftests/ (kselftest TAP;
# test cases are re-numbered as PROGRAM.CASE), or, for e2e-SUITE, the
# end-to-end script selftests/e2e/SUITE.sh with its KTAP folded in; then
# unloads the modules in reverse order. MODDIR "in-tree"
# loads Debian's vhost_net instead (device /dev/vhost-net), to validate the
# tests themselves. Prints KTAP and writes it to $VHL_RESULTS/tap.txt;
# exits 1 if anything failed. SELFTESTS_DIR overrides build/selftests;
# E2E_CONFIGS is passed to net.sh; VHL_TIMEOUT_SCALE multiplies the
# per-program limit of selftests/settings (the debug kernel). The device
# nodes are exported as VHOST_NET_DEV, VHOST_VSOCK_DEV and VHOST_BLK_DEV,
# MODDIR as VHL_MODDIR (suites that reload modules, e.g. dropin.sh, take
# them from there).
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO" || exit 1
# shellcheck source=selftests/e2e/lib.sh
. selftests/e2e/lib.sh

mode=${1:?usage: modtest.sh selftests|e2e MODDIR} moddir=${2:?MODDIR}
tap=${VHL_RESULTS:-/tmp}/tap.txt

check() {
	local name=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" -eq 0 ]; then
		tap_result "$name" PASS ""
	else
		tap_result "$name" FAIL "$* -> $rc: $out"
	fi
	return "$rc"
}

# Run selftest program $1, re-emitting its top-level TAP results.
run_prog() {
	local prog=$1 name=${1##*/} rc=0 limit line status rest seen=0 bad=0 detail diag=()
	limit=$(sed -n 's/^timeout=//p' selftests/settings 2>/dev/null)
	echo "# selftest $name"
	limit=$((${limit:-300} * ${VHL_TIMEOUT_SCALE:-1}))
	timeout -k 5 "$limit" "$prog" >"/tmp/$name.out" 2>&1 </dev/null || rc=$?
	sed 's/^/# | /' "/tmp/$name.out"
	# A failed case carries its diagnostics (the harness's "# " lines
	# since its RUN line, the last 30) into the KTAP detail.
	while IFS= read -r line; do
		case "$line" in
		"#  RUN "*) diag=(); continue ;;
		"# "*) diag+=("$line"); continue ;;
		"ok "*|"not ok "*) ;;
		*) continue ;;
		esac
		seen=$((seen + 1))
		status=PASS
		[ "${line#not ok}" = "$line" ] || { status=FAIL; bad=1; }
		rest=${line#*ok }
		rest=${rest#* }
		case "$rest" in
		*"# SKIP"*) tap_result "$name.${rest%% # SKIP*}" SKIP "${rest#*# SKIP }" ;;
		*) detail=""
		   [ "$status" = PASS ] || [ "${#diag[@]}" -eq 0 ] ||
			detail=$(printf '%s\n' "${diag[@]:$((${#diag[@]} > 30 ? ${#diag[@]} - 30 : 0))}")
		   tap_result "$name.${rest%% # *}" "$status" "$detail" ;;
		esac
		diag=()
	done <"/tmp/$name.out"
	case "$rc" in
	0) [ "$seen" -gt 0 ] || tap_result "$name" PASS "" ;;
	4) [ "$seen" -gt 0 ] || tap_result "$name" SKIP "program skipped (exit 4)" ;;
	*) [ "$bad" -eq 1 ] ||
		tap_result "$name" FAIL "exit status $rc (124: timeout), no failed case" ;;
	esac
}

run_selftests() {
	local p n=0
	for p in "${SELFTESTS_DIR:-build/selftests}"/*; do
		[ -f "$p" ] && [ -x "$p" ] || continue
		[ "$(head -c 4 "$p" | tr -d '\000')" = "$(printf '\177ELF')" ] || continue
		run_prog "$p"
		n=$((n + 1))
	done
	[ "$n" -gt 0 ] || tap_result selftests FAIL "no selftest programs in ${SELFTESTS_DIR:-build/selftests}"
}

# Tiny runs of vhostctl bench on our devices and on qemu-storage-daemon:
# each ran and printed well-formed JSON with nonzero counts (no timing).
run_bench_smoke() {
	local k
	for k in net vsock blk blk-vhost-user; do
		check "bench.$k" scripts/bench.sh --smoke "$k"
	done
}

# Back ends in load order, "module:the Debian module it needs first".
BACKENDS="vhost_net_lite: vhost_vsock_lite:vmw_vsock_virtio_transport_common
vhost_blk_lite:"

# run_e2e SUITE: run selftests/e2e/SUITE.sh, folding its KTAP into ours.
run_e2e() {
	local suite=$1 rc
	if [ ! -x "selftests/e2e/$suite.sh" ]; then
		tap_result "$suite" FAIL "no executable selftests/e2e/$suite.sh"
		return
	fi
	fold_ktap "" < <(if [ "$suite" = net ]; then
		# shellcheck disable=SC2086 # a list of configurations
		selftests/e2e/net.sh ${E2E_CONFIGS:-} 2>&1
	else
		"selftests/e2e/$suite.sh" 2>&1
	fi)
	wait $! && rc=0 || rc=$?
	[ "$rc" -eq 0 ] || [ "$TAP_FAILED" -gt 0 ] ||
		tap_result "$suite" FAIL "$suite.sh exited $rc without a failed check"
}

main() {
	local b mod deps loaded=0 unload=""
	echo "TAP version 13"
	echo "# kernel $(uname -r), modules from $moddir"
	export VHL_MODDIR=$moddir
	check modprobe.tun modprobe tun
	export VHOST_NET_DEV=/dev/vhost-net-lite
	export VHOST_VSOCK_DEV=/dev/vhost-vsock-lite VHOST_BLK_DEV=/dev/vhost-blk-lite
	if [ "$moddir" = in-tree ]; then
		check modprobe.vhost_net modprobe vhost_net && loaded=1
		unload=vhost_net
		export VHOST_DEV=/dev/vhost-net VHOST_NET_DEV=/dev/vhost-net
	elif check insmod.vhost_lite insmod "$moddir/vhost_core/vhost_lite.ko"; then
		loaded=1
		unload=vhost_lite
		for b in $BACKENDS; do
			mod=${b%%:*} deps=${b#*:}
			[ -f "$moddir/$mod/$mod.ko" ] || continue
			if [ -n "$deps" ] && ! check "modprobe.$deps" modprobe "$deps"; then
				loaded=0
				break
			fi
			if ! check "insmod.$mod" insmod "$moddir/$mod/$mod.ko"; then
				loaded=0
				break
			fi
			unload="$mod $unload"
		done
		export VHOST_DEV=$VHOST_NET_DEV
	fi

	if [ "$loaded" -eq 1 ]; then
		case "$mode" in
		selftests) run_selftests; [ "$moddir" = in-tree ] || run_bench_smoke ;;
		e2e) run_e2e net ;;
		e2e-*) run_e2e "${mode#e2e-}" ;;
		*) tap_result "$mode" FAIL "unknown mode" ;;
		esac
	fi

	for mod in $unload; do
		check "rmmod.$mod" rmmod "$mod"
	done
	echo "1..$TAP_COUNT"
	[ "$TAP_FAILED" -eq 0 ]
}

main 2>&1 | tee "$tap"
exit "${PIPESTATUS[0]}"
