#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: mkvmlinux.sh KVER OUTDIR
#
# Extract the ELF vmlinux (bootable through QEMU's PVH entry) from Debian's
# /boot/vmlinuz-KVER into OUTDIR/vmlinux-KVER, unless a cached copy newer
# than the bzImage is already there. Prints the path of the vmlinux.
# xz payloads (6.1) are unpacked with Python's lzma, zstd payloads (6.12)
# with the zstd CLI.
set -eu

die() { echo "mkvmlinux: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: mkvmlinux.sh KVER OUTDIR"
kver=$1 outdir=$2
src=/boot/vmlinuz-$kver
out=$outdir/vmlinux-$kver
[ -r "$src" ] || die "no $src"

if [ -s "$out" ] && [ "$out" -nt "$src" ]; then
	echo "$out"
	exit 0
fi

mkdir -p "$outdir"
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT

# Offset of the first occurrence of a byte signature, or nothing.
find_magic() {
	/usr/bin/python3 -c '
import sys
data = open(sys.argv[1], "rb").read()
off = data.find(bytes.fromhex(sys.argv[2]))
if off >= 0:
    print(off)' "$src" "$1"
}

off=$(find_magic fd377a585a00)
if [ -n "$off" ]; then
	/usr/bin/python3 -c '
import lzma, sys
data = open(sys.argv[1], "rb").read()[int(sys.argv[2]):]
# The decompressor stops at the end of the stream and ignores the trailer.
out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
open(sys.argv[3], "wb").write(out)' "$src" "$off" "$tmp"
else
	off=$(find_magic 28b52ffd)
	[ -n "$off" ] || die "$src: no xz or zstd payload found"
	# zstd complains about the bytes after the frame; the frame is intact.
	tail -c +$((off + 1)) "$src" | zstd -dcq >"$tmp" 2>/dev/null || true
fi

head -c 4 "$tmp" | grep -q "ELF" || die "$src: extracted payload is not an ELF vmlinux"
chmod 644 "$tmp"
mv "$tmp" "$out"
trap - EXIT
echo "$out"
