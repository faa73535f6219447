#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh: what `make demo` runs after building.  Boots the test VM on the
# newest Debian kernel installed (or $DEMO_KERNEL), loads vhost_lite and
# vhost_net_lite, and starts a QEMU guest inside it whose virtio-net device
# uses `-netdev tap,vhost=on,vhostfd=N` with N opened on /dev/vhost-net-lite.
# Host and guest ping each other and exchange a checksummed megabyte in each
# direction; while the guest runs, `vhostctl list` and `vhostctl show`
# print the device's state and counters.  It is the e2e test's default
# configuration (selftests/e2e/net.sh) with its output shown as it comes.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
kver=${DEMO_KERNEL:-$(ls /lib/modules | grep -E '^6\.(1|12)\.[0-9]' | sort -V | tail -1)}
[ -n "$kver" ] || { echo "demo: no Debian 6.1/6.12 kernel installed; run make deps" >&2; exit 1; }

echo "demo: test VM on $kver; the QEMU guest inside it takes 1-2 minutes under TCG"
selftests/vm/run.sh --kernel "$kver" --timeout 900 \
	--env E2E_CONFIGS=default --env E2E_MB=1 --env E2E_SHOW=1 \
	-- selftests/vm/modtest.sh e2e-net "$top/build/$kver" </dev/null |
	tr -d '\r' | grep -v -E '^(# l2: .*(SeaBIOS|iPXE|Booting)|\s*$)'
