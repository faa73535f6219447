#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Usage: scripts/check-debug.sh       (what `make check-debug` runs)
#
# Builds the debug kernel (scripts/debug-kernel.sh: Debian's 6.1 source,
# allnoconfig plus KASAN, lockdep, DEBUG_ATOMIC_SLEEP, kmemleak, UBSAN,
# DEBUG_LIST, panic_on_oops), our modules against it (W=1, no warnings),
# then runs scripts/check.sh on it: the selftests tier, and the e2e suites
# named in DEBUG_E2E (default none: an L2 guest under a KASAN kernel under
# TCG takes many minutes to boot). The test VM boots with panic_on_warn;
# its dmesg gate fails on any WARNING, BUG, KASAN, UBSAN or lockdep line,
# and on anything kmemleak reports after the tests. Ends with the
# "N passed, N failed, N skipped" line of check.sh.
# Environment: DEBUG_E2E="SUITE...", VM_TIMEOUT_SCALE (default 3).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
t0=$(date +%s)
rel=$(sh scripts/debug-kernel.sh)
echo "# debug kernel $rel ready after $(($(date +%s) - t0)) s"
sh scripts/build-modules.sh "$top/build/debug-kernel/$rel"
if [ -n "${DEBUG_E2E:-}" ]; then
	# The suites' list is one value: export it, never split it.
	export E2E=1 E2E_SUITES="$DEBUG_E2E" E2E_LONG=1
	# The L2 guests boot Debian's own 6.1 kernel; only L1 is the debug one.
	L2_KVER=${L2_KVER:-$(ls /lib/modules | grep -m1 '^6\.1\.[0-9]*-[0-9]*-amd64$')}
	export L2_KVER
else
	export E2E=0
fi
env HOST=0 KERNELS="$rel" VM_KERNEL_DIR="$top/build/debug-kernel" \
	sh scripts/check.sh
