#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# host-checks.sh KVER...: the host tier of `make check`, printed as TAP:
# the modules build W=1-clean and sparse-clean for each kernel, the
# userspace tools build warning-free, make install/uninstall and the
# packaging files work (scripts/install-check.sh), the guest-driver
# library's own test passes, the uapi header compiles as C90, a short
# libFuzzer run of the ring walker finds nothing, and checkpatch --strict
# is clean on every C file.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
n=0
fails=0

result() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		fails=$((fails + 1))
	fi
}

echo "TAP version 13"
for k in "$@"; do
	sh scripts/build-modules.sh "$k" >/dev/null 2>build/host-check.log
	rc=$?
	[ $rc -eq 0 ] || sed 's/^/# /' build/host-check.log
	result $rc "build.w1.$k"

	# sparse (C=2 checks every file); __user/__rcu/endian annotations.
	kdir=/usr/src/linux-headers-$k
	[ -d "$kdir" ] || kdir=/lib/modules/$k/build
	make -s -C "$kdir" M="$top/build/$k" C=2 modules >build/host-check.log 2>&1
	rc=$?
	if grep -E 'warning:|error:' build/host-check.log; then
		rc=1
	fi
	[ $rc -eq 0 ] || sed 's/^/# /' build/host-check.log
	result $rc "sparse.$k"

	# make install/uninstall into a temporary DESTDIR, modinfo, drop-in
	# alias, dkms.conf (scripts/install-check.sh).
	sh scripts/install-check.sh "$k" >build/host-check.log 2>&1
	while IFS= read -r line; do
		case "$line" in
		"PASS "*) result 0 "${line#PASS }.$k" ;;
		"FAIL "*) result 1 "${line#FAIL }.$k" ;;
		*) echo "$line" ;;
		esac
	done <build/host-check.log
	# dkms-conf is its last check: anything less means it died early.
	grep -q ' dkms-conf$' build/host-check.log || result 1 "install-check.$k"
done

make -s userspace >build/host-check.log 2>&1
rc=$?
if grep -E 'warning:|error:' build/host-check.log; then
	rc=1
fi
[ $rc -eq 0 ] || sed 's/^/# /' build/host-check.log
result $rc "build.userspace"

# vhostctl.8 renders without a groff warning and documents every verb
# and option `vhostctl --help` (and `serve-blk --help`, `bench --help`) lists.
man=tools/vhostctl/vhostctl.8
rc=0
groff -man -ww -z "$man" >build/host-check.log 2>&1 || rc=1
[ ! -s build/host-check.log ] || rc=1
text=$(groff -man -Tascii -P-cbou "$man" 2>>build/host-check.log)
help=$(build/vhostctl/vhostctl --help 2>&1)
verbs=$(printf '%s\n' "$help" | sed -n '/^verbs:/,/^$/s/^  \([a-z][a-z-]*\).*/\1/p')
[ -n "$verbs" ] || { echo "no verbs in vhostctl --help" >>build/host-check.log; rc=1; }
for v in $verbs; do
	# Its SYNOPSIS line and its own subsection under VERBS.
	if ! printf '%s\n' "$text" | grep -q "^ *vhostctl $v\( \|\$\)" ||
	   ! printf '%s\n' "$text" | grep -qx "   $v"; then
		echo "verb $v: not documented in $man" >>build/host-check.log
		rc=1
	fi
done
opts=$( (printf '%s\n' "$help"; build/vhostctl/vhostctl serve-blk --help
	build/vhostctl/vhostctl bench --help) |
	grep -o -- '--[a-z][a-z-]*' | sort -u)
for o in $opts; do
	printf '%s\n' "$text" | grep -q -- "$o" ||
		{ echo "option $o: not documented in $man" >>build/host-check.log; rc=1; }
done
[ $rc -eq 0 ] || sed 's/^/# /' build/host-check.log
result $rc "man.vhostctl"

# The tests that need no module (selftests/Makefile TEST_GEN_PROGS_HOST).
for t in virtq_lib_test vhost_user_test; do
	build/selftests/$t >build/host-check.log 2>&1
	rc=$?
	sed 's/^/# /' build/host-check.log | grep -E '^# (not ok|# Totals)' || true
	result $rc "$t"
done

rc=0
for h in uapi/linux/*.h; do
	gcc -std=c90 -Wall -Wextra -Werror -fsyntax-only -x c "$h" || rc=1
done
result $rc "uapi.c90"

# A short libFuzzer run (ASan + UBSan) of the ring walker from the
# committed seeds; any crash, leak or invariant failure fails it.
timeout 120 make -s fuzz FUZZ_SECONDS=20 >build/host-check.log 2>&1
rc=$?
[ $rc -eq 0 ] || tail -n 40 build/host-check.log | sed 's/^/# /'
grep -E '^stat::number_of_executed_units' build/host-check.log | sed 's/^/# /'
result $rc "fuzz.smoke"

sh scripts/lint.sh >build/host-check.log 2>&1
rc=$?
[ $rc -eq 0 ] || sed 's/^/# /' build/host-check.log
result $rc "checkpatch.strict"

echo "1..$n"
[ $fails -eq 0 ]
