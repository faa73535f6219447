#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-vsock-test.sh [SERIES...]: build the kernel's own AF_VSOCK
# conformance suite, tools/testing/vsock/vsock_test, from Debian's
# linux-source-SERIES package into build/vsock_test/SERIES/vsock_test
# (default: 6.1 and 6.12, those whose source package is installed).  The
# suite must come from the series of the kernel it runs on: the 6.12 one
# tests behaviour 6.1 does not have.  Nothing is copied into the
# repository; sources are extracted by scripts/ksrc.sh.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || set -- 6.1 6.12
rc=0
for v in "$@"; do
	if [ ! -r "${KSRC_TARBALL_DIR:-/usr/src}/linux-source-$v.tar.xz" ]; then
		echo "build-vsock-test: no linux-source-$v, vsock_test $v not built" >&2
		rc=1
		continue
	fi
	out=$top/build/vsock_test/$v
	if [ "$out/vsock_test" -nt "$0" ] &&
	   [ "$out/vsock_test" -nt "${KSRC_TARBALL_DIR:-/usr/src}/linux-source-$v.tar.xz" ]; then
		continue
	fi
	ksrc=$(sh "$top/scripts/ksrc.sh" "$v" 'tools/testing/vsock/*' \
		'tools/include/*')
	mkdir -p "$out"
	# Build next to a private copy: the extracted tree stays pristine.
	rm -rf "$out/src"
	mkdir -p "$out/src/tools/testing"
	cp -R "$ksrc/tools/testing/vsock" "$out/src/tools/testing/"
	ln -s "$ksrc/tools/include" "$out/src/tools/include"
	if make -s -C "$out/src/tools/testing/vsock" vsock_test >"$out/build.log" 2>&1; then
		cp "$out/src/tools/testing/vsock/vsock_test" "$out/vsock_test"
	else
		cat "$out/build.log" >&2
		echo "build-vsock-test: vsock_test $v failed to build" >&2
		rc=1
	fi
done
exit $rc
