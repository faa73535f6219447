#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# e2e-kernel: 6.12  (make check runs this suite on one kernel: scripts/check.sh)
# e2e-tier: long  (run by E2E_LONG=1 make check, as CI does)
#
# Drop-in mode end to end (standard_names=1), as root INSIDE the test VM:
# the e2e-dropin tier of `make check` (modtest.sh has loaded vhost_lite and
# vhost_net_lite from $VHL_MODDIR without parameters), or by hand:
#   selftests/vm/run.sh --kernel 6.12 -- selftests/vm/modtest.sh e2e-dropin build/KVER
# Checks, as KTAP:
#   busy        with the in-tree vhost_net loaded, insmod vhost_net_lite
#               standard_names=1 fails with EBUSY, logs exactly one line
#               naming the conflict and leaves no module or node behind
#   load        insmod standard_names=1 gives /dev/vhost-net = 10:238 and
#               no /dev/vhost-net-lite
#   udev-rule   packaging/60-vhost-lite.rules (udevadm test, rules from
#               /run/udev/rules.d) gives /dev/vhost-net group kvm mode 0660,
#               and does not match the in-tree module's node
#   vsock-load  vhost_vsock_lite reloaded with standard_names=1 gives
#               /dev/vhost-vsock = 10:241 and no /dev/vhost-vsock-lite;
#               the udev rule gives it group kvm mode 0660 (vsock-udev-rule)
#   net.*       net.sh dropin with E2E_VSOCK=1: an L2 QEMU with plain
#               `-netdev tap,...,vhost=on` and `-device vhost-vsock-pci,
#               guest-cid=3` (no vhostfd= for either) opens /dev/vhost-net
#               and /dev/vhost-vsock itself; ping, sha256-checked transfers
#               both ways over the NIC and over AF_VSOCK, our fdinfo
#               counters, `vhostctl list` shows QEMU's fds as vhost-lite
#               net and vsock devices
#   restore     vhost_net_lite and vhost_vsock_lite are back as they were
#               found (or unloaded)
# Environment: VHL_MODDIR (set by modtest.sh; default build/$(uname -r)),
# and net.sh's.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=selftests/e2e/lib.sh
. "$HERE/lib.sh"
MODDIR=${VHL_MODDIR:-$REPO/build/$(uname -r)}
if [ "$MODDIR" = in-tree ]; then
	echo "TAP version 13"
	tap_result "${0##*/}" SKIP "tests vhost-lite's own modules, not the in-tree ones"
	echo "1..$TAP_COUNT"
	exit 0
fi
KO=$MODDIR/vhost_net_lite/vhost_net_lite.ko
VSOCK_KO=$MODDIR/vhost_vsock_lite/vhost_vsock_lite.ko
MSG="standard_names=1: misc minor 238 (/dev/vhost-net) is taken"
RULES=/run/udev/rules.d/60-vhost-lite.rules
WORK=$(mktemp -d /tmp/e2e-dropin.XXXXXX)
trap 'rm -rf "$WORK" "$RULES"' EXIT

# Major:minor of device node $1 in hex, as stat prints them ("a:ee").
node() {
	stat -c '%t:%T' "$1" 2>/dev/null || echo none
}

# vhost_vsock_lite in drop-in mode; sets E2E_VSOCK for net.sh.
check_vsock_load() {
	local param
	E2E_VSOCK=0
	if [ ! -f "$VSOCK_KO" ]; then
		tap_result vsock-load SKIP "no $VSOCK_KO"
		return
	fi
	if [ "$vsock_was_loaded" -eq 1 ] && ! rmmod vhost_vsock_lite; then
		tap_result vsock-load FAIL "rmmod vhost_vsock_lite"
		return
	fi
	modprobe vmw_vsock_virtio_transport_common
	if ! insmod "$VSOCK_KO" standard_names=1 2>"$WORK/err"; then
		tap_result vsock-load FAIL "insmod standard_names=1: $(cat "$WORK/err")"
		return
	fi
	param=$(cat /sys/module/vhost_vsock_lite/parameters/standard_names)
	if [ "$(node /dev/vhost-vsock)" != a:f1 ]; then
		tap_result vsock-load FAIL "/dev/vhost-vsock is $(node /dev/vhost-vsock), want 10:241"
	elif [ -e /dev/vhost-vsock-lite ]; then
		tap_result vsock-load FAIL "/dev/vhost-vsock-lite exists too"
	elif [ "$param" != Y ]; then
		tap_result vsock-load FAIL "parameters/standard_names is $param"
	else
		tap_result vsock-load PASS "/dev/vhost-vsock 10:241, standard_names=$param"
		E2E_VSOCK=1
	fi
	local ours st
	ours=$(udev_ours vhost-vsock | tr '\n' ' ')
	st=$(stat -c '%G %a' /dev/vhost-vsock 2>/dev/null)
	if [[ "$ours" == *GROUP*MODE\ 0660* ]] && [ "$st" = "kvm 660" ]; then
		tap_result vsock-udev-rule PASS "/dev/vhost-vsock: $st ($ours)"
	else
		tap_result vsock-udev-rule FAIL "/dev/vhost-vsock: $st, our rule: ${ours:-no match}"
	fi
}

# udevadm test on misc device $1: "GROUP MODE" lines from our rules file.
udev_ours() {
	udevadm test --action=add "/sys/class/misc/$1" 2>&1 |
		grep -a "60-vhost-lite.rules:[0-9]* \(GROUP\|MODE\)"
}

check_busy() {
	local before after err
	modprobe vhost_net || { tap_result busy FAIL "modprobe vhost_net"; return; }
	before=$(dmesg | grep -c "$MSG")
	if insmod "$KO" standard_names=1 2>"$WORK/err"; then
		tap_result busy FAIL "insmod succeeded while the in-tree vhost_net holds 10:238"
		rmmod vhost_net_lite
	else
		err=$(cat "$WORK/err")
		after=$(dmesg | grep -c "$MSG")
		if [ $((after - before)) -ne 1 ]; then
			tap_result busy FAIL "$((after - before)) lines '$MSG' in dmesg, want 1"
		elif [ -d /sys/module/vhost_net_lite ] || [ -e /dev/vhost-net-lite ]; then
			tap_result busy FAIL "left behind: $(ls -d /sys/module/vhost_net_lite /dev/vhost-net-lite 2>&1)"
		elif [[ "$err" != *"Device or resource busy"* ]]; then
			tap_result busy FAIL "insmod: $err"
		else
			tap_result busy PASS "$(dmesg | grep "$MSG" | tail -1 | sed 's/^\[[^]]*\] //')"
		fi
	fi
	if [ -n "$(udev_ours vhost-net)" ]; then
		tap_result udev-rule-in-tree FAIL "our rule matched the in-tree /dev/vhost-net"
	else
		tap_result udev-rule-in-tree PASS "no match for the in-tree /dev/vhost-net"
	fi
	# rmmod, not modprobe -r: that would also unload tun, which we need.
	rmmod vhost_net
}

check_load() {
	local param
	if ! insmod "$KO" standard_names=1 2>"$WORK/err"; then
		tap_result load FAIL "insmod standard_names=1: $(cat "$WORK/err")"
		return 1
	fi
	param=$(cat /sys/module/vhost_net_lite/parameters/standard_names)
	if [ "$(node /dev/vhost-net)" != a:ee ]; then
		tap_result load FAIL "/dev/vhost-net is $(node /dev/vhost-net), want 10:238"
	elif [ -e /dev/vhost-net-lite ]; then
		tap_result load FAIL "/dev/vhost-net-lite exists too"
	elif [ "$param" != Y ]; then
		tap_result load FAIL "parameters/standard_names is $param"
	else
		tap_result load PASS "/dev/vhost-net 10:238, standard_names=$param"
	fi
}

check_udev() {
	local ours st
	ours=$(udev_ours vhost-net | tr '\n' ' ')
	st=$(stat -c '%G %a' /dev/vhost-net)
	if [[ "$ours" == *GROUP*MODE\ 0660* ]] && [ "$st" = "kvm 660" ]; then
		tap_result udev-rule PASS "/dev/vhost-net: $st ($ours)"
	else
		tap_result udev-rule FAIL "/dev/vhost-net: $st, our rule: ${ours:-no match}"
	fi
}

restore() {
	local rc=0
	rmmod vhost_net_lite 2>/dev/null
	if [ "$was_loaded" -eq 1 ]; then
		insmod "$KO" || rc=1
		[ "$(node /dev/vhost-net-lite)" != none ] || rc=1
	fi
	# Our vsock transport may take a moment to let go of a killed guest.
	[ ! -d /sys/module/vhost_vsock_lite ] || retry 10 rmmod vhost_vsock_lite || rc=1
	if [ "$vsock_was_loaded" -eq 1 ]; then
		insmod "$VSOCK_KO" || rc=1
		[ "$(node /dev/vhost-vsock-lite)" != none ] || rc=1
	fi
	[ "$core_loaded" -eq 1 ] || rmmod vhost_lite || rc=1
	if [ "$rc" -eq 0 ] && [ ! -e /dev/vhost-net ] && [ ! -e /dev/vhost-vsock ]; then
		tap_result restore PASS "vhost_net_lite loaded=$was_loaded, vhost_vsock_lite loaded=$vsock_was_loaded, no /dev/vhost-net, /dev/vhost-vsock"
	else
		tap_result restore FAIL "$(ls -l /dev/vhost-net* 2>&1)"
	fi
}

echo "TAP version 13"
echo "# modules from $MODDIR"
was_loaded=0 vsock_was_loaded=0
[ ! -d /sys/module/vhost_net_lite ] || was_loaded=1
[ ! -d /sys/module/vhost_vsock_lite ] || vsock_was_loaded=1
[ "$was_loaded" -eq 0 ] || rmmod vhost_net_lite
modprobe tun
core_loaded=1
if [ ! -d /sys/module/vhost_lite ]; then
	core_loaded=0
	insmod "$MODDIR/vhost_core/vhost_lite.ko"
fi
mkdir -p "${RULES%/*}"
cp "$REPO/packaging/60-vhost-lite.rules" "$RULES"

check_busy
if check_load; then
	check_udev
	check_vsock_load
	fold_ktap net < <(VHOST_DEV=/dev/vhost-net E2E_VSOCK=$E2E_VSOCK \
		"$HERE/net.sh" dropin 2>&1)
	wait $! || [ "$TAP_FAILED" -gt 0 ] || tap_result net FAIL "net.sh failed without a failed check"
fi
restore
echo "1..$TAP_COUNT"
[ "$TAP_FAILED" -eq 0 ]
