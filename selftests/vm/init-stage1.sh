#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the test VM's initramfs (busybox). Not run by hand: run.sh
# builds it in and passes, on the kernel command line (they reach us as
# environment variables):
#   vhl_shares=TAG:PATH[,TAG:PATH...]  9p shares to mount at PATH, in order
#                                      (read-only if QEMU exports them so)
#   vhl_stage2=PATH                    script on the host root to exec next
#   vhl_modules=PATH                   optional: modules tree on the host
#                                      root for /lib/modules/$(uname -r)
# Loads the 9p modules, mounts the host root read-only (tag "hostroot") on
# /newroot with tmpfs over the usual writable places, mounts the shares,
# and switch_roots into stage 2 with the environment unchanged.

mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

# Without a report on port 0xf4, QEMU exits 0 (-no-reboot): run.sh reads
# that as a boot failure.
fail() {
	echo "VHL-INIT: FATAL: $*"
	poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
while read -r ko; do
	insmod "/lib/modules/$ko" || fail "insmod $ko"
done </modules

r=/newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose \
	hostroot $r || fail "cannot mount the host root"
for d in tmp run var/tmp var/log root; do
	mount -t tmpfs -o mode=1777 tmpfs "$r/$d" || fail "tmpfs on /$d"
done
chmod 0700 "$r/root"
for share in $(echo "$vhl_shares" | tr , ' '); do
	tag=${share%%:*} path=${share#*:}
	mkdir -p "$r$path" 2>/dev/null
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 \
		"$tag" "$r$path" || fail "cannot mount share $tag on $path"
done
if [ -n "${vhl_modules:-}" ]; then
	# The host has no /lib/modules for this kernel: a tmpfs with one,
	# and the host's own (an L2 guest boots one of them).
	rel=$(uname -r) h=$r/run/vhl-host-modules
	mkdir -p "$h" && mount --bind "$r/lib/modules" "$h" &&
		mount -t tmpfs -o mode=0755 tmpfs "$r/lib/modules" &&
		mkdir "$r/lib/modules/$rel" &&
		mount --bind "$r$vhl_modules" "$r/lib/modules/$rel" ||
		fail "cannot mount $vhl_modules on /lib/modules/$rel"
	for d in "$h"/*; do
		[ -d "$d" ] && [ ! -e "$r/lib/modules/${d##*/}" ] || continue
		mkdir "$r/lib/modules/${d##*/}" &&
			mount --bind "$d" "$r/lib/modules/${d##*/}" ||
			fail "cannot mount $d on /lib/modules"
	done
fi
mount --move /dev $r/dev
mount --move /proc $r/proc
mount --move /sys $r/sys
exec switch_root $r /bin/bash "$vhl_stage2"
fail "switch_root"
