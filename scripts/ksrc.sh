#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# ksrc.sh VERSION PATH...
#
# Extract PATHs (relative to the kernel source root; shell wildcards are
# allowed) from Debian's /usr/src/linux-source-VERSION.tar.xz into
# build/ksrc/VERSION/ of this repository, once: paths already present are not
# extracted again.  Prints the directory on stdout.
#
# Used for the kselftest harness headers and for checkpatch.pl, e.g.
#   scripts/ksrc.sh 6.12 tools/testing/selftests/kselftest_harness.h \
#	tools/testing/selftests/kselftest.h
#   scripts/ksrc.sh 6.12 scripts/checkpatch.pl scripts/spelling.txt \
#	scripts/const_structs.checkpatch
#
# Environment: KSRC_TARBALL_DIR (default /usr/src), KSRC_OUT (default
# <repo>/build/ksrc).
set -euf

usage() {
	echo "usage: $0 VERSION PATH..." >&2
	exit 2
}

[ $# -ge 2 ] || usage
ver=$1
shift

top=$(cd "$(dirname "$0")/.." && pwd)
tarball=${KSRC_TARBALL_DIR:-/usr/src}/linux-source-$ver.tar.xz
out=${KSRC_OUT:-$top/build/ksrc}/$ver

# A literal path is present when it exists; a pattern with wildcards only
# when it was extracted as such before (recorded in .patterns), since a
# single earlier file must not stand for a whole directory.
missing_paths() {
	for p in "$@"; do
		case $p in
		*[*?[]*)
			grep -qxF -- "$p" "$out/.patterns" 2>/dev/null ||
				printf '%s\n' "$p"
			;;
		*)
			[ -e "$out/$p" ] || printf '%s\n' "$p"
			;;
		esac
	done
}

if [ -z "$(missing_paths "$@")" ]; then
	echo "$out"
	exit 0
fi

if [ ! -r "$tarball" ]; then
	echo "ksrc: $tarball not found (apt-get install linux-source-$ver)" >&2
	exit 1
fi

mkdir -p "$out"
# Serialise concurrent extractions (make -j) of the same tree.
exec 9>"$out/.lock"
flock 9

todo=$(missing_paths "$@")
if [ -n "$todo" ]; then
	set --
	for p in $todo; do
		set -- "$@" "linux-source-$ver/$p"
	done
	echo "ksrc: extracting from $tarball:" $todo >&2
	tar -xJf "$tarball" -C "$out" --strip-components=1 --wildcards "$@"
	for p in $todo; do
		case $p in
		*[*?[]*) printf '%s\n' "$p" >>"$out/.patterns" ;;
		esac
	done
fi

echo "$out"
