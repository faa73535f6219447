#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# lint.sh [FILE...]: checkpatch.pl --strict --no-tree -f on every C source
# of the project (or on FILEs).  checkpatch.pl comes from Debian's
# linux-source-6.12 package at run time; it is never copied into the tree.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
ksrc=$(sh scripts/ksrc.sh 6.12 scripts/checkpatch.pl scripts/spelling.txt \
	scripts/const_structs.checkpatch)
cp=$ksrc/scripts/checkpatch.pl

if [ $# -eq 0 ]; then
	set -- $(git ls-files '*.c' '*.h')
fi

rc=0
for f in "$@"; do
	# kernel-doc, tabs and 100 columns apply to userspace too.
	if ! out=$(perl "$cp" --strict --no-tree --quiet --show-types \
		--ignore FILE_PATH_CHANGES -f "$f" 2>&1); then
		printf '%s\n' "$out"
		rc=1
	fi
done
[ $rc -eq 0 ] && echo "lint: $# files clean"
exit $rc
