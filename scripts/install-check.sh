#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# install-check.sh KVER: host-tier checks of `make install`, `make
# uninstall` and the packaging files, without touching the system (nothing
# is loaded; modprobe only resolves). One line per check, for
# host-checks.sh:  "PASS NAME" or "FAIL NAME", then "# detail" lines.
#   install    make install DROPIN=1 into a temporary DESTDIR creates
#              exactly the files `scripts/install.sh list` names, and
#              that list has vhostctl, its man page, the udev rule and
#              the modprobe.d file
#   modinfo    every installed module, and each of its parameters, has a
#              description
#   dropin     with the installed modprobe.d file, the aliases the kernel
#              requests when /dev/vhost-net and /dev/vhost-vsock are
#              opened (char-major-10-238, -241) resolve to vhost_net_lite
#              and vhost_vsock_lite with standard_names=1, and without it
#              to the in-tree vhost_net and vhost_vsock (copied next to
#              ours, then depmod)
#   uninstall  make uninstall leaves no file or link in DESTDIR
#   dkms-conf  dkms.conf names exactly the modules the build produces
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
k=${1:?usage: install-check.sh KVER}
tmp=$(mktemp -d /tmp/vhl-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

# report NAME STATUS DETAIL-FILE
report() {
	if [ "$2" -eq 0 ]; then
		echo "PASS $1"
	else
		echo "FAIL $1"
		sed 's/^/# /' "$3"
	fi
}

inst() {
	make -s -C "$top" KVER="$k" DESTDIR="$dest" DROPIN=1 "$@"
}

rc=0
inst install >"$tmp/log" 2>&1 || rc=1
KVER=$k DROPIN=1 sh scripts/install.sh list | sort >"$tmp/want"
(cd "$dest" 2>/dev/null && find . -type f -o -type l) | sed 's/^\.//' | sort >"$tmp/got"
if ! diff -u "$tmp/want" "$tmp/got" >>"$tmp/log"; then
	rc=1
fi
for f in /usr/local/sbin/vhostctl /usr/local/share/man/man8/vhostctl.8 \
	/etc/udev/rules.d/60-vhost-lite.rules /etc/modprobe.d/vhost-lite-dropin.conf; do
	grep -qx "$f" "$tmp/want" || { echo "install.sh list lacks $f" >>"$tmp/log"; rc=1; }
done
report install $rc "$tmp/log"

# modinfo: "description:" and one "parm:NAME:DESCRIPTION (TYPE)" per parameter.
rc=0
: >"$tmp/log"
find "$dest/lib/modules/$k" -name '*.ko*' >"$tmp/mods" 2>/dev/null
while read -r m; do
	if [ -z "$(/sbin/modinfo -F description "$m")" ]; then
		echo "${m##*/}: no description" >>"$tmp/log"
		rc=1
	fi
	/sbin/modinfo -F parm "$m" | while IFS= read -r p; do
		case "$p" in
		*:?*" ("*")") ;;
		*) echo "${m##*/}: parameter without a description: $p" ;;
		esac
	done >>"$tmp/log"
done <"$tmp/mods"
[ -s "$tmp/mods" ] || echo "no modules installed" >>"$tmp/log"
[ -s "$tmp/log" ] && rc=1
report modinfo $rc "$tmp/log"

# dropin: resolve in a module tree holding ours and the in-tree vhost_net
# and vhost_vsock: the aliases the kernel requests when /dev/vhost-net
# (10:238) and /dev/vhost-vsock (10:241) are opened.
rc=0
: >"$tmp/log"
root=$tmp/root
mkdir -p "$root/lib/modules/$k/kernel"
cp -R "$dest/lib/modules/$k/updates" "$root/lib/modules/$k/"
for m in vhost_net vhost_vsock; do
	intree=$(find "/lib/modules/$k/kernel/drivers/vhost" -name "$m.ko*" | head -1)
	if [ -n "$intree" ]; then
		cp "$intree" "$root/lib/modules/$k/kernel/"
	else
		echo "no in-tree $m in /lib/modules/$k" >>"$tmp/log"
	fi
done
cp "/lib/modules/$k"/modules.builtin* "$root/lib/modules/$k/" 2>/dev/null
depmod -b "$root" "$k" 2>>"$tmp/log" || rc=1
conf=$dest/etc/modprobe.d
for pair in 238:vhost_net 241:vhost_vsock; do
	minor=${pair%%:*} m=${pair#*:}
	with=$(/sbin/modprobe -d "$root" -S "$k" -C "$conf" -n -v "char-major-10-$minor" 2>&1)
	without=$(/sbin/modprobe -d "$root" -S "$k" -C /dev/null -n -v "char-major-10-$minor" 2>&1)
	case "$with" in
	*"/${m}_lite.ko"*"standard_names=1"*) ;;
	*) rc=1; echo "10:$minor with the drop-in conf: $with" >>"$tmp/log" ;;
	esac
	case "$with" in
	*"/$m.ko"*) rc=1; echo "10:$minor with the drop-in conf, in-tree loads: $with" >>"$tmp/log" ;;
	esac
	case "$without" in
	*"/$m.ko"*) ;;
	*) rc=1; echo "10:$minor without the drop-in conf: $without" >>"$tmp/log" ;;
	esac
done
report dropin $rc "$tmp/log"

rc=0
inst uninstall >"$tmp/log" 2>&1 || rc=1
left=$(cd "$dest" && find . -type f -o -type l)
[ -z "$left" ] || { rc=1; echo "left behind: $left" >>"$tmp/log"; }
report uninstall $rc "$tmp/log"

rc=0
: >"$tmp/log"
sed -n 's/^BUILT_MODULE_NAME\[[0-9]*\]="\(.*\)"$/\1/p' dkms.conf | sort >"$tmp/want"
(cd "build/$k" && find . -name '*.ko') | sed 's|.*/||; s|\.ko$||' | sort >"$tmp/got"
diff -u "$tmp/want" "$tmp/got" >"$tmp/log" || rc=1
report dkms-conf $rc "$tmp/log"
