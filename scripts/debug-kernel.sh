#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Usage: scripts/debug-kernel.sh
#
# Build the debug kernel of `make check-debug` from Debian's
# /usr/src/linux-source-6.1.tar.xz: allnoconfig with the options of
# selftests/vm/debug.config forced (KASAN, lockdep, kmemleak, UBSAN, ...),
# so that it builds in minutes, not hours. Output, under build/debug-kernel/:
#   src/              the unpacked source (once)
#   RELEASE/          the build tree (make -C RELEASE M=... builds modules)
#   RELEASE/arch/x86/boot/bzImage
#   mods/lib/modules/RELEASE/  modules_install of its own modules
#   release           RELEASE, e.g. 6.1.158-vhl-debug
# Nothing is rebuilt when the config and this script did not change.
# Prints RELEASE on stdout; the build log is build/debug-kernel/build.log.
# Environment: JOBS (default: online CPUs), NICE (default 10).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/debug-kernel
frag=$top/selftests/vm/debug.config
tarball=/usr/src/linux-source-6.1.tar.xz
jobs=${JOBS:-$(nproc)}
log=$out/build.log

die() { echo "debug-kernel: $*" >&2; exit 1; }

[ -r "$tarball" ] || die "no $tarball (make deps installs linux-source-6.1)"
mkdir -p "$out"
if [ ! -f "$out/src/Makefile" ] || [ "$tarball" -nt "$out/src/.unpacked" ]; then
	echo "debug-kernel: unpacking $tarball" >&2
	rm -rf "$out/src" "$out/src.tmp"
	mkdir -p "$out/src.tmp"
	tar -xJf "$tarball" -C "$out/src.tmp" --strip-components=1
	mv "$out/src.tmp" "$out/src"
	: >"$out/src/.unpacked"
fi

ver=$(make -s -C "$out/src" kernelversion)
rel=$ver$(sed -n 's/^CONFIG_LOCALVERSION="\(.*\)"$/\1/p' "$frag")
obj=$out/$rel
stamp=$(cat "$frag" "$0" | md5sum | cut -d' ' -f1)
if [ -f "$obj/arch/x86/boot/bzImage" ] && [ -d "$out/mods/lib/modules/$rel" ] &&
   [ "$(cat "$obj/.vhl-stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "$rel"
	exit 0
fi

mk() { nice -n "${NICE:-10}" make -C "$out/src" O="$obj" ARCH=x86_64 "$@"; }

mkdir -p "$obj"
echo "debug-kernel: configuring $rel (log: $log)" >&2
start=$(date +%s)
mk KCONFIG_ALLCONFIG="$frag" allnoconfig >"$log" 2>&1 || {
	tail -n 30 "$log" >&2
	die "allnoconfig failed"
}
# Every option asked for must have survived the dependency resolution.
bad=""
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) grep -qxF "$line" "$obj/.config" || bad="$bad $line" ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		! grep -q "^$opt=" "$obj/.config" || bad="$bad $opt=n" ;;
	esac
done <"$frag"
[ -z "$bad" ] || die "options lost in $obj/.config:$bad"

echo "debug-kernel: building $rel with $jobs jobs" >&2
if ! mk -j"$jobs" bzImage modules >>"$log" 2>&1; then
	grep -E 'error|Error' "$log" | head -n 20 >&2
	die "build failed (log: $log)"
fi
rm -rf "$out/mods"
mk INSTALL_MOD_PATH="$out/mods" modules_install >>"$log" 2>&1 ||
	die "modules_install failed (log: $log)"
echo "$stamp" >"$obj/.vhl-stamp"
echo "$rel" >"$out/release"
echo "debug-kernel: $rel built in $(($(date +%s) - start)) s" >&2
echo "$rel"
