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

# blk_writer: write random 16 KiB blocks to /dev/vda one after the other
# (each fsynced), appending a copy of each to /tmp/written (guest RAM,
# which the migration carries), until /tmp/stop-writer exists; the block
# written after seeing it is the last. Leaves the count in /tmp/writer.n.
blk_writer() {
	i=0
	: >/tmp/written
	while [ "$i" -lt 2048 ]; do
		[ ! -e /tmp/stop-writer ] || stop=1
		if ! dd if=/dev/urandom of=/tmp/blk bs=16k count=1 2>/dev/null ||
		   ! dd if=/tmp/blk of=/dev/vda bs=16k seek="$i" conv=notrunc,fsync 2>/tmp/writer.err; then
			echo "block $i: $(cat /tmp/writer.err)" >/tmp/writer.failed
			break
		fi
		cat /tmp/blk >>/tmp/written
		i=$((i + 1))
		[ -z "${stop:-}" ] || break
	done
	echo "$i" >/tmp/writer.n
}

# blk_check NAME: the disk's first N blocks, read back from the device,
# are the guest's copy of what it wrote.
blk_check() {
	n=$(cat /tmp/writer.n)
	sync
	echo 3 >/proc/sys/vm/drop_caches
	got=$(dd if=/dev/vda bs=16k count="$n" 2>/dev/null | sha256sum | cut -d' ' -f1)
	want=$(sha256sum </tmp/written | cut -d' ' -f1)
	if [ -e /tmp/writer.failed ]; then
		result "$1" FAIL "$(cat /tmp/writer.failed)"
	elif [ "$got" = "$want" ] && [ "$n" -gt 0 ]; then
		result "$1" PASS "$n blocks read back, sha256 $got"
	else
		result "$1" FAIL "$n blocks: read back sha256 $got, wrote $want"
	fi
}

# The guest half of migrate.sh: net on NIC 0, vsock (CID 3, then 5 and 6
# after the migrations) and the disk /dev/vda. Hold the host's vsock
# connection on port 7000 open, write to the disk and receive the host's
# stream while the host migrates us (the stream's sha256 must match), send
# it back; the held connection must then be reset (the spec's transport
# reset on migration). Receive 1 MiB on vsock port 7001 at the new CID and
# send it back to host port 7002; stop writing, check the disk. Wait until
# the host has migrated us once more, idle, and listens on port 6003; ping
# it, check the disk again and tell the host our CID over vsock port 7003.
migrate_plan() {
	mac=52:54:00:99:00:02 host=10.99.0.1
	if dev=$(ifname $mac) && ip addr add 10.99.0.2/24 dev "$dev" &&
	   ip link set "$dev" up; then
		result mig.eth-up PASS "$dev $mac"
	else
		result mig.eth-up FAIL "no interface with MAC $mac"
	fi
	if [ -b /dev/vda ]; then
		result mig.blk.disk PASS "$(cat /sys/block/vda/size) sectors"
	else
		result mig.blk.disk FAIL "no /dev/vda: $(ls /sys/block)"
	fi
	mkfifo /tmp/held
	(socat -u OPEN:/tmp/held VSOCK-LISTEN:7000 2>/tmp/held.err
	 echo $? >/tmp/held.status) &
	exec 8<>/tmp/held
	echo held-before >&8
	ping_check mig.before $host
	/init writer &
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

	# The held connection: a write after the migration must fail.
	echo held-after >&8
	exec 8>&-
	if retry 30 test -e /tmp/held.status; then
		st=$(cat /tmp/held.status)
		if [ "$st" -ne 0 ]; then
			result mig.vsock.held-reset PASS "socat failed as it should (status $st: $(tail -n 1 /tmp/held.err))"
		else
			result mig.vsock.held-reset FAIL "the connection survived the migration"
		fi
	else
		result mig.vsock.held-reset FAIL "socat still running 30 s after its last write"
	fi
	echo "E2E-VSOCK-LISTEN $(now)"
	if timeout 300 socat -u VSOCK-LISTEN:7001 CREATE:/tmp/vrx; then
		got=$(sha256sum </tmp/vrx | cut -d' ' -f1)
		if [ "$got" = "$e2e_vsha" ]; then
			result mig.vsock.h2g PASS "$(wc -c </tmp/vrx) bytes at CID 5, sha256 $got"
		else
			result mig.vsock.h2g FAIL "sha256 $got, want $e2e_vsha"
		fi
	else
		result mig.vsock.h2g FAIL "no connection on vsock port 7001"
	fi
	retry 20 timeout 60 socat -u OPEN:/tmp/vrx VSOCK-CONNECT:2:7002 ||
		result mig.vsock.g2h FAIL "cannot connect to host vsock port 7002"

	touch /tmp/stop-writer
	if retry 60 test -e /tmp/writer.n; then
		blk_check mig.blk.after-stream
		echo "E2E-BLK $(cat /tmp/writer.n) $(sha256sum </tmp/written | cut -d' ' -f1)"
	else
		result mig.blk.after-stream FAIL "the writer did not stop"
	fi

	if retry 300 nc -w 5 $host 6003 </dev/null >/dev/null; then
		ping_check mig.after-idle $host
	else
		result mig.after-idle.ping-host FAIL "host never listened on 6003"
	fi
	blk_check mig.blk.after-idle
	echo "E2E-BLK $(cat /tmp/writer.n) $(sha256sum </tmp/written | cut -d' ' -f1)"
	retry 20 sh -c 'echo idle-cid-6 | timeout 60 socat -u - VSOCK-CONNECT:2:7003' ||
		echo "# cannot connect to host vsock port 7003"
	finish
}

# "/init flow NAME NIC Q": one flow, started below on its own CPU.
if [ "${1:-}" = flow ]; then
	flow "$2" "$3" "$4"
	exit 0
fi
if [ "${1:-}" = writer ]; then
	blk_writer
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
