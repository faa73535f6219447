#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run a command as root inside a throw-away test VM (QEMU TCG) booted from
# a Debian kernel, with the host root shared read-only and the repo's
# build/ directory shared read-write.
#
# Usage:
#   selftests/vm/run.sh --kernel KVER [options] -- COMMAND [ARG...]
#   selftests/vm/run.sh --kernel KVER [options] --cmd 'SHELL STRING'
# Options:
#   --kernel KVER    installed kernel: a full version (ls /lib/modules) or a
#                    series such as 6.1 or 6.12 (must match exactly one)
#   --timeout SEC    wall-clock bound on the whole VM (default 600); the
#                    command itself gets SEC-30 (SEC/2 when SEC <= 60)
#   --boot-timeout SEC  bound on the boot, up to the command's start
#                    (default 180; a normal boot takes 3-5 s): a VM that
#                    has not started the command by then is stopped (126)
#   --results DIR    extra read-write share mounted at DIR in the VM and
#                    exported there as $VHL_RESULTS (default: build/vm/results)
#   --env NAME=VAL   export NAME=VAL to the command (repeatable)
#   --append ARGS    extra kernel command-line words (repeatable)
#   --verbose        show the kernel's boot log (drops "quiet")
#   --kernel-image IMG  boot IMG (bzImage or ELF vmlinux, e.g. the debug
#                    kernel of scripts/debug-kernel.sh) instead of KVER's
#                    /boot/vmlinuz; KVER is then IMG's release, taken as is
#   --kernel-modules DIR  IMG's modules tree (DIR/modules.dep ...), mounted
#                    on /lib/modules/KVER in the VM (over a tmpfs /lib/modules)
#
# In the VM: cwd is the repo root, stdin is /dev/null, tmpfs on /tmp /run
# /var/tmp /var/log /root, devtmpfs /dev, lo is up, nothing is loaded
# beyond the 9p/virtio modules (modprobe works). There is no network device.
# Console output (kernel + command) goes to stdout.
#
# Exit status: the command's status, or
#   124  the command or the VM timed out
#   125  the dmesg gate tripped: a kernel log line matched
#        WARNING:|BUG:|Oops|KASAN|UBSAN|kmemleak|lockdep|general protection|
#        Call Trace (bar the start-up lines of kmemleak and RCU lockdep), or
#        kmemleak (where the kernel has it) found a leak after the command
#   126  the VM failed to boot or to report (panic, init failure, QEMU error,
#        no command started within the boot timeout); the console shows a
#        line "VHL-START <uptime>" if and only if the command started
#     2  usage error
# Only one VM runs at a time: the whole run holds flock /tmp/vhost-lite-vm.lock
# (waiting at most $VHL_VM_LOCK_WAIT seconds, default 3600).
set -eu

SELF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SELF_DIR/../.." && pwd)
BUILD=$REPO/build
VMDIR=$BUILD/vm
LOCK=/tmp/vhost-lite-vm.lock

usage() { sed -n '3,/^set -eu/{/^set/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
die() { echo "run.sh: $*" >&2; exit "${2:-126}"; }

# Full version of the installed kernel matching $1 exactly or as a series.
resolve_kernel() {
	local k=$1 m
	if [ -d "/lib/modules/$k" ] && [ -e "/boot/vmlinuz-$k" ]; then
		echo "$k"
		return
	fi
	m=$(cd /lib/modules && ls -d "$k".* "$k"-* 2>/dev/null || true)
	[ "$(echo "$m" | grep -c .)" -eq 1 ] || die "--kernel $k matches: ${m:-nothing}" 2
	echo "$m"
}

kernel="" timeout=600 boot_timeout=180 results="" cmd="" verbose=0 envs=() extra_append=""
image="" kmods=""
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=${2:?}; shift 2 ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	--boot-timeout) boot_timeout=${2:?}; shift 2 ;;
	--results) results=${2:?}; shift 2 ;;
	--env) envs+=("${2:?}"); shift 2 ;;
	--cmd) cmd=${2:?}; shift 2 ;;
	--append) extra_append="$extra_append ${2:?}"; shift 2 ;;
	--verbose) verbose=1; shift ;;
	--kernel-image) image=${2:?}; shift 2 ;;
	--kernel-modules) kmods=${2:?}; shift 2 ;;
	--) shift; [ $# -gt 0 ] || usage; cmd=$(printf '%q ' "$@"); break ;;
	-h|--help) usage ;;
	*) echo "run.sh: unknown argument $1" >&2; usage ;;
	esac
done
[ -n "$kernel" ] && [ -n "$cmd" ] || usage
case "$timeout$boot_timeout" in ''|*[!0-9]*) die "--timeout wants seconds" 2 ;; esac
if [ -n "$image" ]; then
	[ -r "$image" ] || die "no kernel image $image" 2
	image=$(cd "$(dirname "$image")" && pwd)/$(basename "$image")
	kver=$kernel
else
	kver=$(resolve_kernel "$kernel")
fi
if [ -n "$kmods" ]; then
	[ -f "$kmods/modules.dep" ] || die "--kernel-modules $kmods: no modules.dep" 2
	kmods=$(cd "$kmods" && pwd)
fi
results=${results:-$VMDIR/results}
mkdir -p "$VMDIR/run" "$results"
results=$(cd "$results" && pwd)

exec 9>"$LOCK"
if ! flock -n 9; then
	echo "run.sh: waiting for $LOCK (another test VM is running)" >&2
	waited=$SECONDS
	flock -w "${VHL_VM_LOCK_WAIT:-3600}" 9 || die "timed out waiting for $LOCK"
	echo "run.sh: got the VM lock after $((SECONDS - waited)) s" >&2
fi

initrd=$VMDIR/initramfs-$kver.cpio
if [ -n "$image" ]; then
	# Its own kernel: virtio and 9p built in, no modules in the initramfs.
	vmlinux=$image
	"$SELF_DIR/mkinitramfs.sh" "$kver" "$initrd" "$SELF_DIR/init-stage1.sh"
else
	vmlinux=$("$SELF_DIR/mkvmlinux.sh" "$kver" "$VMDIR")
	"$SELF_DIR/mkinitramfs.sh" "$kver" "$initrd" "$SELF_DIR/init-stage1.sh" \
		virtio_pci 9pnet_virtio 9p
fi

run=$(mktemp -d "$VMDIR/run/XXXXXX")
trap 'rm -rf "$run"' EXIT
{
	for e in "${envs[@]+"${envs[@]}"}"; do
		printf 'export %q\n' "$e"
	done
	printf 'export VHL_RESULTS=%q VHL_KVER=%q\n' "$results" "$kver"
	printf '%s\n' "$cmd"
} >"$run/cmd"

# The repo is shared on its own (read-only) so that it is visible even
# where the VM puts tmpfs (a clone under /tmp or /root); build/ on top of
# it read-write.
shares="vhlrepo:$REPO,vhlbuild:$BUILD"
virtfs=(-virtfs "local,path=$REPO,mount_tag=vhlrepo,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$BUILD,mount_tag=vhlbuild,security_model=none,multidevs=remap")
case "$results/" in
"$BUILD"/*) ;;
*)
	shares="$shares,vhlresults:$results"
	virtfs+=(-virtfs "local,path=$results,mount_tag=vhlresults,security_model=none,multidevs=remap")
	;;
esac

cmd_timeout=$((timeout > 60 ? timeout - 30 : timeout / 2))
append="console=ttyS0 panic=-1 rdinit=/init$extra_append"
[ "$verbose" = 1 ] || append="$append quiet"
append="$append vhl_stage2=$SELF_DIR/guest-init.sh vhl_repo=$REPO vhl_run=$run"
append="$append vhl_cmd_timeout=$cmd_timeout vhl_shares=$shares"
[ -z "$kmods" ] || append="$append vhl_modules=$kmods"

# qboot starts the kernel ~1 s sooner than SeaBIOS under TCG.
bios=()
[ ! -r /usr/share/qemu/qboot.rom ] || bios=(-bios qboot.rom)

start=$(date +%s.%N)
rc=0
timeout -k 10 "$timeout" qemu-system-x86_64 \
	-accel tcg,thread=multi -smp 2 -m 4G -cpu max \
	-nographic -no-reboot -nodefaults -serial stdio "${bios[@]+"${bios[@]}"}" \
	-kernel "$vmlinux" -initrd "$initrd" -append "$append" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	"${virtfs[@]}" \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	</dev/null &
vm_pid=$!
# If we are killed, take the VM (and the lock) down with us.
trap 'kill "$vm_pid" 2>/dev/null || true; rm -rf "$run"' EXIT
trap 'exit 130' INT TERM HUP
# guest-init.sh creates $run/started as it starts the command.
boot_hung=0
while [ ! -e "$run/started" ] && kill -0 "$vm_pid" 2>/dev/null; do
	if [ "$(($(date +%s) - ${start%.*}))" -ge "$boot_timeout" ]; then
		boot_hung=1
		kill "$vm_pid" 2>/dev/null || true
		break
	fi
	sleep 1
done
wait "$vm_pid" || rc=$?
echo   # the console may end without a newline
end=$(date +%s.%N)
secs=$(echo "$start $end" | awk '{ printf "%.1f", $2 - $1 }')

if [ "$boot_hung" -eq 1 ]; then
	status=126
	echo "run.sh: the VM did not start the command within ${boot_timeout}s" >&2
elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	status=124
	echo "run.sh: VM timed out after ${timeout}s" >&2
elif [ $((rc & 1)) -eq 1 ]; then
	status=$((rc >> 1))
	# Statuses above 124 are squeezed into one byte; the file has the real one.
	if [ "$status" -le 124 ] && [ -s "$run/status" ]; then
		status=$(cat "$run/status")
	fi
else
	status=126
	echo "run.sh: VM ended without reporting a status (QEMU exit $rc)" >&2
fi
case "$status" in
125) echo "run.sh: dmesg gate FAILED (kernel $kver)" >&2 ;;
126) echo "run.sh: VM boot/report FAILED (kernel $kver)" >&2 ;;
esac
echo "run.sh: kernel $kver, status $status, VM wall time ${secs}s" >&2
exit "$status"
