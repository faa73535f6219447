#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the L2 guest of the e2e vsock test (built by vsock.sh): the
# guest half of the plan, reported on the serial console as
#   E2E-RESULT NAME PASS|FAIL DETAIL   one line per check
#   E2E-VT LINE                        vsock_test client output
#   E2E-READY / E2E-DONE / E2E-IDLE    milestones
# The guest is CID 3 (virtio-vsock served by the host's vhost device), the
# host CID 2; a slirp NIC (10.0.2.15, host 10.0.2.2) carries vsock_test's
# TCP control channel only.  Plan:
#   h2g         accept the host's connection on port 5001, receive its
#               data, check the sha256 (e2e_sha= on the command line)
#   g2h         connect to host port 5002 and send the data back
#   concurrent  32 connections established at once to the host's echo
#               server on port 5003 (/vsock_conc), 64 KiB each way on each,
#               each echo checked
#   vsock_test  /vsock_test client (e2e_vt=1), control at 10.0.2.2:1234
#   l2-dmesg    no warning in the guest's kernel log
# then it holds a connection from the host on port 5004 open (the host
# kills QEMU under it) and powers off after at most 10 minutes.

DMESG_BAD='WARNING:|BUG:|Oops|KASAN|kmemleak|lockdep|general protection|Call Trace'
HOST=2
CONNS=32

result() {
	echo "E2E-RESULT $1 $2 $3"
}

now() {
	cut -d' ' -f1 /proc/uptime
}

since() {
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'
}

# Run "$@" until it succeeds, at most $1 tries one second apart.
retry() {
	n=$1
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 1
	done
}

ifname() {
	for d in /sys/class/net/*; do
		read -r a <"$d/address"
		[ "$a" = "$1" ] && echo "${d##*/}" && return 0
	done
	return 1
}

sha() {
	sha256sum <"$1" | cut -d' ' -f1
}

mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
echo "E2E-BOOTED $(now)"
while read -r ko; do
	insmod "/lib/modules/$ko" || result insmod FAIL "$ko"
done </modules
ip link set lo up
if dev=$(ifname 52:54:00:99:10:02) && ip addr add 10.0.2.15/24 dev "$dev" &&
   ip link set "$dev" up; then
	result control-net PASS "$dev"
else
	result control-net FAIL "no slirp NIC: $(ls /sys/class/net)"
fi
echo "E2E-READY $(now)"

t=$(now)
if timeout 120 socat -u VSOCK-LISTEN:5001 CREATE:/tmp/h2g; then
	got=$(sha /tmp/h2g)
	if [ "$got" = "${e2e_sha:-}" ]; then
		result h2g PASS "$(wc -c </tmp/h2g) bytes in $(since "$t"), sha256 $got"
	else
		result h2g FAIL "sha256 $got, want ${e2e_sha:-?}"
	fi
else
	result h2g FAIL "no connection from the host on port 5001"
fi

t=$(now)
if retry 20 timeout 120 socat -u OPEN:/tmp/h2g "VSOCK-CONNECT:$HOST:5002"; then
	echo "E2E-SENT g2h $(since "$t")"
else
	result g2h FAIL "cannot send to host port 5002"
fi

t=$(now)
if out=$(/vsock_conc client $HOST 5003 $CONNS 65536 180 2>&1); then
	result concurrent PASS "$out in $(since "$t")"
else
	result concurrent FAIL "$(echo "$out" | tr '\n' ' ')"
fi

if [ "${e2e_vt:-0}" = 1 ]; then
	t=$(now)
	# shellcheck disable=SC2046 # a list of --skip options
	/vsock_test --mode=client --control-host=10.0.2.2 --control-port=1234 \
		--peer-cid=$HOST $(echo "${e2e_vt_args:-}" | tr , ' ') \
		>/tmp/vt.log 2>&1
	rc=$?
	sed 's/^/E2E-VT /' /tmp/vt.log
	if [ "$rc" -eq 0 ]; then
		result vsock_test PASS "client done in $(since "$t")"
	else
		result vsock_test FAIL "client exit status $rc"
	fi
fi

bad=$(dmesg | grep -E "$DMESG_BAD" | head -3 | tr '\n' '|')
if [ -n "$bad" ]; then
	result l2-dmesg FAIL "$bad"
else
	result l2-dmesg PASS "clean"
fi
echo "E2E-DONE $(now)"

# Hold the host's connection on port 5004 open, sending nothing; the host
# kills QEMU under it.
sleep 600 | socat -u - VSOCK-LISTEN:5004 &
echo "E2E-IDLE $(now)"
sleep 600
poweroff -f
