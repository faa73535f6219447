#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Usage: scripts/check.sh       (what `make check` runs after building)
#
# Runs every test tier and counts the KTAP results:
#   1. host: scripts/host-checks.sh (W=1 build, sparse, uapi, checkpatch)
#   2. per kernel, one test VM: insmod, every program in build/selftests/,
#      rmmod, dmesg gate (selftests/vm/modtest.sh selftests)
#   3. per kernel and e2e suite, one test VM: insmod, the suite's QEMU
#      guest test (selftests/e2e/SUITE.sh), rmmod, dmesg gate
#      (modtest.sh e2e-SUITE)
# Prints one KTAP line per result, a summary, and ends with exactly one line
# "N passed, N failed, N skipped" (a skip is never a pass); exits 1 if
# anything failed. Console logs and results go to build/check/.
# Environment:
#   KERNELS="KVER..."  kernels to test (default: the installed 6.1.* and
#                      6.12.*); a series such as 6.12 is accepted
#   E2E=0              skip tier 3      HOST=0   skip tier 1
#   SELFTESTS=0        skip tier 2 (for a run of chosen e2e suites)
#   E2E_ALL_KERNELS=1  run every e2e suite on every kernel (by default a
#                      suite runs on the series its "# e2e-kernel: SERIES"
#                      line names; with E2E_LONG=1, a suite that also has
#                      "# e2e-long: all-kernels" runs on every kernel)
#   E2E_SUITES="S..."  e2e suites to run (default: every executable
#                      selftests/e2e/*.sh but lib.sh and l2-*.sh, net and
#                      vsock first, without the long ones, see E2E_LONG)
#   E2E_LONG=1         also run the suites marked "# e2e-tier: long" (blk,
#                      dkms, dropin, migrate: past the 30 minutes make check
#                      keeps to; CI sets it)
#   MODDIR=DIR         modules are DIR/KVER/vhost_core/vhost_lite.ko and
#                      DIR/KVER/vhost_X_lite/vhost_X_lite.ko for every back
#                      end in the tree (default build); MODDIR=in-tree tests
#                      Debian's vhost_net
#   E2E_CONFIGS, E2E_MB  passed to net.sh (configurations, MB per flow)
#   VM_KERNEL_DIR=DIR  the kernels are built trees of scripts/debug-kernel.sh
#                      (DIR/KVER/arch/x86/boot/bzImage, modules in
#                      DIR/mods/lib/modules/KVER), booted with panic_on_warn
#                      and VM_TIMEOUT_SCALE (default 3) times the time limits
#                      (scripts/check-debug.sh)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
logs=$top/build/check
moddir=${MODDIR:-$top/build}
passed=0 failed=0 skipped=0 n=0 summary=""

[ -n "${KERNELS:-}" ] ||
	KERNELS=$(ls /lib/modules | grep -E '^6\.(1|12)\.[0-9]' | sort -V)

# result ok|fail|skip NAME [DETAIL]
result() {
	n=$((n + 1))
	case "$1" in
	ok) passed=$((passed + 1)); echo "ok $n $2" ;;
	skip) skipped=$((skipped + 1)); echo "ok $n $2 # SKIP ${3:-}" ;;
	*) failed=$((failed + 1)); echo "not ok $n $2"; [ -z "${3:-}" ] || echo "#   $3" ;;
	esac
}

# Re-emit the top-level KTAP lines of file $2 under prefix $1.
count_ktap() {
	while IFS= read -r line; do
		line=$(printf '%s' "$line" | tr -d '\r')
		case "$line" in
		"not ok "*) rest=${line#not ok * }; result fail "$1.$rest" ;;
		"ok "*"# SKIP"*) rest=${line#ok * }; result skip "$1.${rest%% # SKIP*}" "${rest#*# SKIP}" ;;
		"ok "*) rest=${line#ok * }; result ok "$1.$rest" ;;
		"#   "*) echo "$line" ;;
		esac
	done <"$2"
}

# tier_summary NAME: remember the counts since the last call.
mark_p=0 mark_f=0 mark_s=0
tier_summary() {
	[ "$passed$failed$skipped" != "$mark_p$mark_f$mark_s" ] || return 0
	summary="$summary
  $(printf '%-16s' "$1") $((passed - mark_p)) passed, $((failed - mark_f)) failed,"
	summary="$summary $((skipped - mark_s)) skipped"
	mark_p=$passed mark_f=$failed mark_s=$skipped
}

# vm_tier KVER MODE TIMEOUT [RUN.SH OPTION...]: one test-VM run of
# modtest.sh MODE.
vm_tier() {
	kver=$1 mode=$2 limit=$3
	shift 3
	name=$(echo "$kver" | cut -d. -f1,2).$(echo "$mode" | tr - .)
	res=$logs/$kver.$mode
	rm -rf "$res"
	mkdir -p "$res"
	mods=$moddir/$kver
	[ "$moddir" != in-tree ] || mods=in-tree
	if [ "$mods" != in-tree ]; then
		for ko in vhost_core/vhost_lite.ko $backends; do
			if [ ! -f "$mods/$ko" ]; then
				result fail "$name.modules-built" "missing $mods/$ko"
				tier_summary "$name"
				return 0
			fi
		done
	fi
	if [ -n "${VM_KERNEL_DIR:-}" ]; then
		scale=${VM_TIMEOUT_SCALE:-3}
		limit=$((limit * scale))
		set -- "$@" --kernel-image "$VM_KERNEL_DIR/$kver/arch/x86/boot/bzImage" \
			--kernel-modules "$VM_KERNEL_DIR/mods/lib/modules/$kver" \
			--append panic_on_warn=1 --env "VHL_TIMEOUT_SCALE=$scale" \
			--boot-timeout $((180 * scale))
	fi
	echo "# $name: test VM on $kver (console: $res/console.log)"
	start=$(date +%s)
	for try in 1 2; do
		rc=0
		selftests/vm/run.sh --kernel "$kver" --timeout "$limit" \
			--results "$res" "$@" \
			--env "E2E_CONFIGS=${E2E_CONFIGS:-}" \
			--env "E2E_MB=${E2E_MB:-}" \
			--env "L2_KVER=${L2_KVER:-}" \
			-- selftests/vm/modtest.sh "$mode" "$mods" \
			>"$res/console.log" 2>&1 </dev/null || rc=$?
		# A VM that never started the command has run none of our code
		# (nothing of ours is loaded before it): an emulator or boot
		# fault, worth one more boot. Shown, never hidden.
		[ "$rc" -eq 126 ] && [ "$try" -eq 1 ] &&
			! grep -aq 'VHL-START [0-9]' "$res/console.log" || break
		echo "# $name: the VM did not start the command (run.sh status 126); booting once more. Its console's last lines:"
		tail -n 40 "$res/console.log" | tr -d '\r' | sed 's/^/#   | /'
		cp "$res/console.log" "$res/console-boot1.log"
	done
	before=$failed
	[ -f "$res/tap.txt" ] && count_ktap "$name" "$res/tap.txt"
	case $rc in
	0|1) result ok "$name.vm-dmesg-gate" ;;
	125) result fail "$name.vm-dmesg-gate" "kernel log has WARNING/BUG/Oops/... lines"
	     grep -A30 'VHL-DMESG-GATE' "$res/console.log" | tr -d '\r' | sed 's/^/#   /' ;;
	124) result fail "$name.vm" "timed out after ${limit}s" ;;
	*) result fail "$name.vm" "run.sh status $rc (126: VM did not boot or report)" ;;
	esac
	if [ "$rc" -ne 0 ] && [ "$failed" -eq "$before" ]; then
		result fail "$name.vm-status" "modtest.sh status $rc without a failed test"
	fi
	if [ "$failed" -gt "$before" ]; then
		echo "# $name: last console lines:"
		tail -n 40 "$res/console.log" | tr -d '\r' | sed 's/^/#   | /'
	fi
	echo "# $name: $(($(date +%s) - start)) s"
	tier_summary "$name"
}

# Every back end in the tree must have been built.
backends="" long=""
for d in vhost_*_lite; do
	[ -f "$d/Kbuild" ] && backends="$backends $d/$d.ko"
done
if [ -z "${E2E_SUITES:-}" ]; then
	# Suites are the executable selftests/e2e/*.sh but lib.sh and the
	# scripts that run inside the L2 guest (l2-*.sh).
	for s in net vsock blk $(ls selftests/e2e/*.sh | sed 's|.*/||; s|\.sh$||'); do
		case $s in lib|l2-*) continue ;; esac
		[ -x "selftests/e2e/$s.sh" ] || continue
		if [ "${E2E_LONG:-0}" != 1 ] &&
		   grep -q '^# e2e-tier: *long' "selftests/e2e/$s.sh"; then
			case " $long " in *" $s "*) ;; *) long="$long $s" ;; esac
			continue
		fi
		case " ${E2E_SUITES:-} " in *" $s "*) ;; *) E2E_SUITES="${E2E_SUITES:-} $s" ;; esac
	done
fi

# suite_on_kernel SUITE KVER: does SUITE run on KVER? A suite whose script
# has a line "# e2e-kernel: SERIES" (e.g. 6.1) runs on that series only,
# or on the first kernel tested when KERNELS has none of that series; the
# others run on every kernel. E2E_ALL_KERNELS=1 runs every suite on all,
# and so does E2E_LONG=1 for a suite marked "# e2e-long: all-kernels".
suite_on_kernel() {
	want=$(sed -n 's/^# e2e-kernel: *\([^ ]*\).*/\1/p' "selftests/e2e/$1.sh" | head -n 1)
	[ -n "$want" ] && [ "${E2E_ALL_KERNELS:-0}" != 1 ] || return 0
	if [ "${E2E_LONG:-0}" = 1 ] &&
	   grep -q '^# e2e-long: *all-kernels' "selftests/e2e/$1.sh"; then
		return 0
	fi
	pick=""
	for k in $resolved; do
		case "$k" in "$want".*|"$want"-*) pick=$k; break ;; esac
	done
	if [ -z "$pick" ]; then
		for k in $resolved; do pick=$k; break; done
	fi
	[ "$2" = "$pick" ]
}

mkdir -p "$logs"
t0=$(date +%s)
echo "TAP version 13"
resolved=""
for k in $KERNELS; do
	kv=""
	if [ -n "${VM_KERNEL_DIR:-}" ]; then
		[ ! -d "$VM_KERNEL_DIR/mods/lib/modules/$k" ] || kv=$k
	else
		for m in /lib/modules/*; do
			m=${m##*/}
			case "$m" in "$k"|"$k".*|"$k"-*) kv=$m; break ;; esac
		done
	fi
	if [ -z "$kv" ]; then
		result fail "kernel.$k" "kernel $k is not installed"
	else
		resolved="$resolved $kv"
	fi
done
tier_summary kernels

if [ "${HOST:-1}" != 0 ]; then
	echo "# host: scripts/host-checks.sh$resolved (log: $logs/host.log)"
	sh scripts/host-checks.sh $resolved >"$logs/host.log" 2>&1 || true
	count_ktap host "$logs/host.log"
	tier_summary host
else
	echo "# host tier skipped (HOST=0)"
fi
if [ "${SELFTESTS:-1}" != 0 ]; then
	for kv in $resolved; do
		vm_tier "$kv" selftests 1200
	done
else
	echo "# selftest tier skipped (SELFTESTS=0)"
fi
if [ "${E2E:-1}" != 0 ]; then
	for kv in $resolved; do
		for s in $E2E_SUITES; do
			suite_on_kernel "$s" "$kv" || continue
			# The L2 guest runs ~20% faster without PTI in the test VM.
			vm_tier "$kv" "e2e-$s" 1200 --append mitigations=off
		done
	done
	[ -z "$long" ] || echo "# long e2e suites not run (E2E_LONG=1 runs them):$long"
else
	echo "# e2e tier skipped (E2E=0)"
fi

echo "# summary ($(($(date +%s) - t0)) s):$summary"
if [ "${E2E:-1}" = 0 ]; then
	echo "# e2e tier was skipped (E2E=0)"
elif [ -n "$long" ]; then
	echo "# long e2e suites were not run (E2E_LONG=1):$long"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
