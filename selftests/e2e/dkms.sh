#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# e2e-kernel: 6.1  (make check runs this suite on one kernel: scripts/check.sh)
# e2e-tier: long  (run by E2E_LONG=1 make check, as CI does)
#
# DKMS packaging end to end, as root INSIDE the test VM: the e2e-dkms tier
# of `make check` (modtest.sh has loaded vhost_lite and vhost_net_lite from
# $VHL_MODDIR, default build/$(uname -r)), or by hand:
#   selftests/vm/run.sh --kernel 6.12 -- selftests/vm/modtest.sh e2e-dkms build/KVER
# The VM's root is read-only, so the trees DKMS writes live in tmpfs
# (--sourcetree, --dkmstree); the kernel headers are the installed ones.
# Checks, as KTAP:
#   make-dkms   `make dkms DESTDIR=...` stages the sources and dkms.conf
#   add         dkms add vhost-lite/VERSION
#   build       dkms build -k $(uname -r), bounded by DKMS_TIMEOUT seconds
#               (default 600; 190 s measured under TCG): one module file
#               per BUILT_MODULE_NAME
#   load        the DKMS-built module files load in place of MODDIR's
#               and /dev/vhost-net-lite appears
#   selftest    build/selftests/vhost_net_test passes against them, within
#               300 s (65 s measured)
#   restore     MODDIR's modules are loaded again, as found
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=selftests/e2e/lib.sh
. "$HERE/lib.sh"
MODDIR=${VHL_MODDIR:-$REPO/build/$(uname -r)}
if [ "$MODDIR" = in-tree ]; then
	echo "TAP version 13"
	tap_result "${0##*/}" SKIP "tests vhost-lite's own modules, not the in-tree ones"
	echo "1..$TAP_COUNT"
	exit 0
fi
KVER=$(uname -r)
WORK=$(mktemp -d /tmp/e2e-dkms.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
VERSION=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$REPO/dkms.conf")
PKG=vhost-lite/$VERSION
mapfile -t MODS < <(sed -n 's/^BUILT_MODULE_NAME\[[0-9]*\]="\(.*\)"$/\1/p' "$REPO/dkms.conf")
DKMS=(dkms --sourcetree "$WORK/src" --dkmstree "$WORK/tree")

# step NAME CMD...: run CMD, one result line; output kept in $WORK/NAME.log.
step() {
	local name=$1 rc=0 t0=$SECONDS
	shift
	"$@" >"$WORK/$name.log" 2>&1 </dev/null || rc=$?
	if [ "$rc" -eq 0 ]; then
		tap_result "$name" PASS "$((SECONDS - t0)) s"
	else
		tap_result "$name" FAIL "$* -> $rc (124: timeout)"
		tail -n 30 "$WORK/$name.log" | sed 's/^/#   | /'
	fi
	return "$rc"
}

# Unload the back ends, then the core (reverse load order).
unload_all() {
	local m
	for ((m = ${#MODS[@]} - 1; m >= 0; m--)); do
		[ ! -d "/sys/module/${MODS[m]}" ] || rmmod "${MODS[m]}" || return 1
	done
}

# load_from DIR: insmod every module of dkms.conf from DIR, in its order.
load_from() {
	local m f
	for m in "${MODS[@]}"; do
		f=$(find "$1" -name "$m.ko*" | head -1)
		[ -n "$f" ] || { echo "no $m in $1"; return 1; }
		insmod "$f" || return 1
	done
}

# Load the modules dkms built in place of MODDIR's.
check_load() {
	local built
	built=$WORK/tree/vhost-lite/$VERSION/$KVER/$(uname -m)/module
	if ! unload_all || ! load_from "$built" >"$WORK/load.log" 2>&1; then
		tap_result load FAIL "$(cat "$WORK/load.log")"
		return 1
	elif [ ! -c /dev/vhost-net-lite ]; then
		tap_result load FAIL "no /dev/vhost-net-lite"
		return 1
	fi
	tap_result load PASS "insmod $(cd "$built" && echo *)"
}

echo "TAP version 13"
echo "# dkms $(dkms --version 2>&1), package $PKG, kernel $KVER, modules ${MODS[*]}"
mkdir -p "$WORK/src" "$WORK/tree"
was_loaded=0
[ ! -d /sys/module/vhost_lite ] || was_loaded=1
modprobe tun
if step make-dkms make -s -C "$REPO" dkms DESTDIR="$WORK/stage" &&
   mv "$WORK/stage/usr/src/vhost-lite-$VERSION" "$WORK/src/" &&
   step add "${DKMS[@]}" add "$PKG" &&
   step build timeout "${DKMS_TIMEOUT:-600}" "${DKMS[@]}" build "$PKG" -k "$KVER"; then
	if check_load; then
		step selftest timeout -k 5 300 env VHOST_DEV=/dev/vhost-net-lite \
			VHOST_NET_DEV=/dev/vhost-net-lite "$REPO/build/selftests/vhost_net_test"
	fi
fi
rc=0
unload_all || rc=1
if [ "$was_loaded" -eq 1 ]; then
	load_from "$MODDIR" >"$WORK/restore.log" 2>&1 || rc=1
fi
if [ "$rc" -eq 0 ]; then
	tap_result restore PASS "MODDIR modules loaded=$was_loaded"
else
	tap_result restore FAIL "$(cat "$WORK/restore.log" 2>/dev/null)"
fi
echo "1..$TAP_COUNT"
[ "$TAP_FAILED" -eq 0 ]
