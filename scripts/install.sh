#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# install.sh install|uninstall|list: what `make install` / `make uninstall`
# run. Environment (the Makefile passes its variables through):
#   KVER        kernel to install the modules for (default: uname -r)
#   DESTDIR     staging root (default: none, the running system)
#   PREFIX      vhostctl goes to PREFIX/sbin, its man page vhostctl.8 to
#               PREFIX/share/man/man8 (default /usr/local)
#   UDEVDIR     udev rules directory (default /etc/udev/rules.d)
#   MODPROBEDIR modprobe.d directory (default /etc/modprobe.d)
#   DROPIN=1    also install packaging/vhost-lite-dropin.conf: opening
#               /dev/vhost-net autoloads vhost_net_lite standard_names=1
# Modules go through the kernel's modules_install into
# /lib/modules/KVER/updates/vhost-lite/, unsigned (Debian does not ship its
# signing key; sign them yourself or use DKMS for Secure Boot). depmod runs
# for KVER when DESTDIR is empty; with DESTDIR the package's installer
# runs it. `list` prints the paths `install` creates, one a line.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
KVER=${KVER:-$(uname -r)}
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
UDEVDIR=${UDEVDIR:-/etc/udev/rules.d}
MODPROBEDIR=${MODPROBEDIR:-/etc/modprobe.d}
DROPIN=${DROPIN:-0}
moddir=/lib/modules/$KVER/updates/vhost-lite
man=tools/vhostctl/vhostctl.8

# Paths install creates, relative to DESTDIR (modules: from the build,
# compressed the way the kernel's modules_install does).
files() {
	kd=$(kdir)
	case "$(grep -h '^CONFIG_MODULE_COMPRESS_' "$kd/.config" 2>/dev/null)" in
	*XZ=y*) ext=.xz ;;
	*ZSTD=y*) ext=.zst ;;
	*GZIP=y*) ext=.gz ;;
	*) ext="" ;;
	esac
	(cd "build/$KVER" && find . -name '*.ko' | sort) | while read -r ko; do
		ko=${ko#./}
		echo "$moddir/$ko$ext"
	done
	echo "$PREFIX/sbin/vhostctl"
	echo "$PREFIX/share/man/man8/vhostctl.8"
	echo "$UDEVDIR/60-vhost-lite.rules"
	[ "$DROPIN" != 1 ] || echo "$MODPROBEDIR/vhost-lite-dropin.conf"
}

kdir() {
	for d in "/lib/modules/$KVER/build" "/usr/src/linux-headers-$KVER"; do
		[ -d "$d" ] && echo "$d" && return 0
	done
	echo "install: no kernel headers for $KVER (apt-get install linux-headers-$KVER, or set KVER)" >&2
	return 1
}

do_install() {
	kd=$(kdir)
	sh scripts/build-modules.sh "$KVER"
	make -s -C tools/vhostctl
	# CONFIG_MODULE_SIG_ALL= : no signing attempt with a key nobody has.
	# Debian's headers have no System.map, so kbuild skips depmod (below).
	if ! make -s -C "$kd" M="$top/build/$KVER" INSTALL_MOD_PATH="$DESTDIR" \
		INSTALL_MOD_DIR=updates/vhost-lite CONFIG_MODULE_SIG_ALL= \
		modules_install >"build/$KVER/install.log" 2>&1; then
		cat "build/$KVER/install.log" >&2
		exit 1
	fi
	install -D -m 0755 build/vhostctl/vhostctl "$DESTDIR$PREFIX/sbin/vhostctl"
	install -D -m 0644 "$man" "$DESTDIR$PREFIX/share/man/man8/vhostctl.8"
	install -D -m 0644 packaging/60-vhost-lite.rules "$DESTDIR$UDEVDIR/60-vhost-lite.rules"
	if [ "$DROPIN" = 1 ]; then
		install -D -m 0644 packaging/vhost-lite-dropin.conf \
			"$DESTDIR$MODPROBEDIR/vhost-lite-dropin.conf"
	fi
	files | while read -r f; do
		[ -f "$DESTDIR$f" ] || { echo "install: $DESTDIR$f is missing" >&2; exit 1; }
	done
	if [ -z "$DESTDIR" ]; then
		depmod -a "$KVER"
		! command -v udevadm >/dev/null || udevadm control --reload-rules || true
	else
		echo "install: staged in $DESTDIR; run 'depmod -a $KVER' on the target"
	fi
}

do_uninstall() {
	rm -rf "$DESTDIR$moddir"
	rmdir "$DESTDIR/lib/modules/$KVER/updates" 2>/dev/null || true
	rm -f "$DESTDIR$PREFIX/sbin/vhostctl" "$DESTDIR$PREFIX/share/man/man8/vhostctl.8" \
		"$DESTDIR$UDEVDIR/60-vhost-lite.rules" \
		"$DESTDIR$MODPROBEDIR/vhost-lite-dropin.conf"
	if [ -z "$DESTDIR" ]; then
		[ ! -d "/lib/modules/$KVER" ] || depmod -a "$KVER"
		! command -v udevadm >/dev/null || udevadm control --reload-rules || true
	fi
}

case "${1:-}" in
install) do_install ;;
uninstall) do_uninstall ;;
list) files ;;
*) echo "usage: install.sh install|uninstall|list" >&2; exit 2 ;;
esac
