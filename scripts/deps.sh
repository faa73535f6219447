#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Install, from Debian packages, everything vhost-lite needs to build and
# test on a fresh Debian 12 machine. Idempotent: only missing packages are
# installed, and apt is not touched when nothing is missing.
set -eu

PKGS="
build-essential bc kmod cpio xz-utils zstd python3 perl
linux-image-amd64 linux-headers-amd64
linux-image-6.12-amd64 linux-headers-6.12-amd64
linux-source-6.1 linux-source-6.12
qemu-system-x86 qemu-system-common qemu-utils busybox-static
iproute2 socat iperf3 procps sparse python3-matplotlib
dmsetup util-linux e2fsprogs dkms udev groff-base
clang libclang-rt-14-dev
flex bison libelf-dev libssl-dev
"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi

echo "deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: must run as root to install packages" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
echo "deps: done"
