#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# build-modules.sh KVER...: build the modules for each kernel KVER into
# build/KVER/ (a private copy of the kernel sources, so several kernels can
# be built side by side), with W=1.  Any compiler or modpost warning fails
# the build.  KVER may also be an absolute path to a kernel build tree.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
srcs="Kbuild compat uapi vhost_core vhost_net_lite vhost_blk_lite vhost_vsock_lite"
rc=0

for k in "$@"; do
	case "$k" in
	/*) kdir=$k; kver=$(basename "$k") ;;
	*) kdir=/usr/src/linux-headers-$k; kver=$k ;;
	esac
	[ -d "$kdir" ] || kdir=/lib/modules/$k/build
	if [ ! -d "$kdir" ]; then
		echo "build-modules: no kernel tree for $k" >&2
		rc=1
		continue
	fi
	out=$top/build/$kver
	mkdir -p "$out"
	for s in $srcs; do
		rm -rf "${out:?}/$s.new"
		cp -R "$top/$s" "$out/$s.new"
		# Keep objects of unchanged files: copy over, then drop stale.
		if [ -d "$out/$s" ] && [ -d "$out/$s.new" ]; then
			(cd "$out/$s.new" && find . -type f) | while read -r f; do
				if ! cmp -s "$out/$s.new/$f" "$out/$s/$f" 2>/dev/null; then
					mkdir -p "$(dirname "$out/$s/$f")"
					cp "$out/$s.new/$f" "$out/$s/$f"
				fi
			done
			rm -rf "${out:?}/$s.new"
		else
			rm -rf "${out:?}/$s"
			mv "$out/$s.new" "$out/$s"
		fi
	done
	log=$out/build.log
	echo "  MODULES $kver"
	if ! make -s -C "$kdir" M="$out" W=1 modules >"$log" 2>&1; then
		cat "$log" >&2
		echo "build-modules: build failed for $kver" >&2
		rc=1
		continue
	fi
	if grep -E -i 'warning:|error:' "$log" >&2; then
		echo "build-modules: warnings for $kver (W=1 must be clean)" >&2
		rc=1
	fi
done
exit $rc
