#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the L2 guest's busybox initramfs (built by net.sh). Runs the
# guest half of the e2e net test plan and reports on the serial console:
#   E2E-RESULT NAME PASS|FAIL DETAIL   one line per check
#   E2E-SENT NAME TIME                 guest sent the data of flow NAME
#   E2E-READY / E2E-DONE               network up / guest checks finished
# then waits (bounded) for the host to connect to port 5999 and powers off.
# e2e_plan=migrate runs the guest half of migrate.sh instead (see
# migrate_plan below). Plan, from the kernel command line:
#   e2e_nics=NAME:QUEUES[,NAME:QUEUES...]  NIC i has MAC 52:54:00:99:0i:02,
#                  address 10.99.i.2/24, the host is 10.99.i.1
#   e2e_sha=HEX    sha256 of the data the host serves
#   e2e_vsock=1    after the flows, over the vhost-vsock-pci device (we
#                  are CID 3, the host CID 2): receive the host's data on
#                  vsock port 5001, check its sha256 (vsock.h2g) and send
#                  it back to host port 5002 (net.sh E2E_VSOCK=1; socat is
#                  in the initramfs then)
# Flow q of NIC i runs on CPU q: it fetches the host's data from host port
# 5000+100i+2q+1, checks its sha256, and sends it back to port +2 (the host
# checks that copy).

DMESG_BAD='WARNING:|BUG:|Oops|KASAN|kmemleak|lockdep|general protection|Call Trace'

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

# Interface name with MAC address $1.
ifname() {
	for d in /sys/class/net/*; do
		read -r a <"$d/address"
		[ "$a" = "$1" ] && echo "${d##*/}" && return 0
	done
	return 1
}

# flow NAME NIC Q: receive the host's data, check it, send it back.
flow() {
	name=$1 host=10.99.$2.1 port=$((5000 + 100 * $2 + 2 * $3))
	rx=/tmp/rx.$2.$3
	t=$(now)
	if retry 10 nc -w 10 "$host" $((port + 1)) </dev/null >$rx; then
		got=$(sha256sum <$rx | cut -d' ' -f1)
		if [ "$got" = "$e2e_sha" ]; then
			result "$name.h2g-q$3" PASS "$(wc -c <$rx) bytes in $(since "$t")"
		else
			result "$name.h2g-q$3" FAIL "sha256 $got, want $e2e_sha"
		fi
	else
		result "$name.h2g-q$3" FAIL "cannot connect to $host:$((port + 1))"
	fi
	t=$(now)
	if retry 10 nc -w 10 "$host" $((port + 2)) <$rx; then
		echo "E2E-SENT $name.g2h-q$3 $(since "$t")"
	else
		result "$name.g2h-q$3" FAIL "cannot connect to $host:$((port + 2))"
	fi
}

# "NAME COUNT" for every interrupt, counts summed over the CPUs.
irq_counts() {
	awk 'NR > 1 { s = 0; for (i = 2; i < NF; i++) if ($i ~ /^[0-9]+$/) s += $i
		print $NF, s }' /proc/interrupts
}

# ping_check NAME HOST: ping until 3 replies, bounded.
ping_check() {
	if out=$(ping -c 3 -A -w 30 "$2"); then
		result "$1.ping-host" PASS "$(echo "$out" | tail -2 | tr '\n' ' ')"
	else
		result "$1.ping-host" FAIL "no reply from $2"
	fi
}

# finish: the guest's dmesg, E2E-DONE, then power off once the host
# connected to port 5999 (bounded).
finish() {
	bad=$(dmesg | grep -E "$DMESG_BAD" | head -3 | tr '\n' '|')
	if [ -n "$bad" ]; then
		result l2-dmesg FAIL "$bad"
	else
		result l2-dmesg PASS "clean"
	fi
	echo "E2E-DONE $(now)"
	timeout 180 nc -l -p 5999 </dev/null >/dev/null
	poweroff -f
}

# The guest half of migrate.sh, on NIC 0: receive the host's stream while
# the host migrates us (the stream's sha256 must match), send it back,
# then wait until the host has migrated us once more, idle, and listens
# on port 6003; ping the host from there.
migrate_plan() {
	mac=52:54:00:99:00:02 host=10.99.0.1
	if dev=$(ifname $mac) && ip addr add 10.99.0.2/24 dev "$dev" &&
	   ip link set "$dev" up; then
		result mig.eth-up PASS "$dev $mac"
	else
		result mig.eth-up FAIL "no interface with MAC $mac"
	fi
	ping_check mig.before $host
	echo "E2E-READY $(now)"
	t=$(now)
	if retry 30 nc -w 60 $host 6001 </dev/null >/tmp/rx; then
		got=$(sha256sum </tmp/rx | cut -d' ' -f1)
		if [ "$got" = "$e2e_sha" ]; then
			result mig.h2g-stream PASS "$(wc -c </tmp/rx) bytes in $(since "$t"), sha256 $got"
		else
			result mig.h2g-stream FAIL "sha256 $got, want $e2e_sha ($(wc -c </tmp/rx) bytes)"
		fi
	else
		result mig.h2g-stream FAIL "cannot connect to $host:6001"
	fi
	echo "E2E-STREAM-DONE $(now)"
	retry 10 nc -w 10 $host 6002 </tmp/rx || result mig.g2h FAIL "cannot connect to $host:6002"
	if retry 300 nc -w 5 $host 6003 </dev/null >/dev/null; then
		ping_check mig.after-idle $host
	else
		result mig.after-idle.ping-host FAIL "host never listened on 6003"
	fi
	finish
}

# "/init flow NAME NIC Q": one flow, started below on its own CPU.
if [ "${1:-}" = flow ]; then
	flow "$2" "$3" "$4"
	exit 0
fi

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
echo "E2E-MODULES $(now)"

[ "${e2e_plan:-net}" != migrate ] || migrate_plan

nics=$(echo "${e2e_nics:-default:1}" | tr , ' ')
i=0
for nic in $nics; do
	name=${nic%:*} queues=${nic#*:}
	mac=52:54:00:99:0$i:02
	if dev=$(ifname $mac) && ip addr add 10.99.$i.2/24 dev "$dev" &&
	   ip link set "$dev" up; then
		result "$name.eth-up" PASS "$dev $mac"
	else
		result "$name.eth-up" FAIL "no interface with MAC $mac: $(ls /sys/class/net)"
	fi
	nrx=$(ls -d /sys/class/net/$dev/queues/rx-* | wc -l)
	ntx=$(ls -d /sys/class/net/$dev/queues/tx-* | wc -l)
	if [ "$nrx" -eq "$queues" ] && [ "$ntx" -eq "$queues" ]; then
		result "$name.queues" PASS "rx=$nrx tx=$ntx"
	else
		result "$name.queues" FAIL "rx=$nrx tx=$ntx, want $queues"
	fi
	vdev=$(readlink "/sys/class/net/$dev/device")
	eval "vdev_$i=${vdev##*/}"
	ping_check "$name" 10.99.$i.1 &
	i=$((i + 1))
done
wait
echo "E2E-READY $(now)"

# One flow per queue pair; flow k runs on CPU k mod ncpus, so the queue
# pairs of a multi-queue NIC get different CPUs (and TX queues, by XPS).
t=$(now) i=0 k=0 ncpus=$(nproc)
for nic in $nics; do
	q=0
	while [ "$q" -lt "${nic#*:}" ]; do
		taskset -c $((k % ncpus)) /init flow "${nic%:*}" $i $q &
		q=$((q + 1)) k=$((k + 1))
	done
	i=$((i + 1))
done
wait
echo "E2E-FLOWS-DONE $(since "$t")"

irq_counts >/tmp/irqs
i=0
for nic in $nics; do
	name=${nic%:*} q=0
	eval "vdev=\$vdev_$i"
	while [ "$q" -lt "${nic#*:}" ]; do
		n=0
		while read -r irq count; do
			[ "$irq" = "$vdev-input.$q" ] && n=$count
		done </tmp/irqs
		if [ "$n" -gt 0 ]; then
			result "$name.irq-input.$q" PASS "$n interrupts"
		else
			result "$name.irq-input.$q" FAIL "no interrupts on $vdev-input.$q"
		fi
		q=$((q + 1))
	done
	i=$((i + 1))
done

if [ "${e2e_vsock:-0}" = 1 ]; then
	t=$(now)
	if timeout 300 socat -u VSOCK-LISTEN:5001 CREATE:/tmp/vsock.rx; then
		got=$(sha256sum </tmp/vsock.rx | cut -d' ' -f1)
		if [ "$got" = "$e2e_sha" ]; then
			result vsock.h2g PASS "$(wc -c </tmp/vsock.rx) bytes in $(since "$t"), sha256 $got"
		else
			result vsock.h2g FAIL "sha256 $got, want $e2e_sha"
		fi
	else
		result vsock.h2g FAIL "no connection from the host on vsock port 5001"
	fi
	t=$(now)
	if retry 20 timeout 120 socat -u OPEN:/tmp/vsock.rx VSOCK-CONNECT:2:5002; then
		echo "E2E-SENT vsock.g2h $(since "$t")"
	else
		result vsock.g2h FAIL "cannot send to host vsock port 5002"
	fi
fi

finish
