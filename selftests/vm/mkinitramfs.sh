#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: mkinitramfs.sh KVER OUT INIT [MODULE...]
#
# Build a busybox-static initramfs (uncompressed newc cpio) at OUT whose
# /init is the script INIT and which carries the .ko files (decompressed)
# that MODULE... need on kernel KVER, dependencies first, listed one per
# line in /modules for the init script to insmod in order. Built-in modules
# are skipped. OUT is reused when it is newer than every input and was built
# for the same module list.
set -eu

die() { echo "mkinitramfs: $*" >&2; exit 1; }

[ $# -ge 3 ] || die "usage: mkinitramfs.sh KVER OUT INIT [MODULE...]"
kver=$1 out=$2 init=$3
shift 3
busybox=/bin/busybox
[ -x "$busybox" ] || die "busybox-static is not installed"
[ -r "$init" ] || die "no init script $init"

# "insmod /lib/modules/.../x.ko.xz" lines, dependencies first, no repeats.
kofiles=""
for m in "$@"; do
	deps=$(modprobe -S "$kver" --show-depends "$m") || die "$m: not found for $kver"
	for ko in $(echo "$deps" | awk '$1 == "insmod" { print $2 }'); do
		case " $kofiles " in *" $ko "*) ;; *) kofiles="$kofiles $ko" ;; esac
	done
done

stamp="$kver$kofiles"
if [ -s "$out" ] && [ "$(cat "$out.inputs" 2>/dev/null)" = "$stamp" ] &&
   [ "$out" -nt "$init" ] && [ "$out" -nt "$0" ] && [ "$out" -nt "$busybox" ]; then
	exit 0
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage" "$out.tmp"' EXIT
mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,run,newroot,lib/modules,usr/bin,usr/sbin}
cp "$busybox" "$stage/bin/busybox"
for applet in $("$busybox" --list-full); do
	[ -e "$stage/$applet" ] || ln -s /bin/busybox "$stage/$applet"
done
install -m 0755 "$init" "$stage/init"

: >"$stage/modules"
for ko in $kofiles; do
	name=$(basename "$ko")
	case "$name" in
	*.ko.xz) xz -dc "$ko" >"$stage/lib/modules/${name%.xz}"; name=${name%.xz} ;;
	*.ko.zst) zstd -dcq "$ko" >"$stage/lib/modules/${name%.zst}"; name=${name%.zst} ;;
	*.ko) cp "$ko" "$stage/lib/modules/$name" ;;
	*) die "unexpected module file $ko" ;;
	esac
	echo "$name" >>"$stage/modules"
done

(cd "$stage" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$out.tmp"
mv "$out.tmp" "$out"
echo "$stamp" >"$out.inputs"
