# SPDX-License-Identifier: GPL-2.0
#
# vhost-lite top-level Makefile.  `make help` lists the targets.

# Kernel tree to build against: the newest Debian headers installed.
KDIR ?= $(lastword $(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V))
# Kernels `make check` builds for and tests on: Debian 6.1 and 6.12.
KERNELS ?= $(shell ls /lib/modules 2>/dev/null | grep -E '^6\.(1|12)\.[0-9]' | grep -- '-amd64$$' | sort -V)

BUILD := $(CURDIR)/build

.PHONY: all modules modules-all userspace selftests vhostctl check demo \
	deps lint fuzz clean distclean help vsock-test install uninstall dkms \
	bench check-debug

all: modules userspace

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

modules-all:
	sh scripts/build-modules.sh $(KERNELS)

userspace: selftests vhostctl vsock-test

selftests:
	$(MAKE) -C selftests

vhostctl:
	$(MAKE) -C tools/vhostctl

# The kernel's vsock conformance suite, from linux-source (e2e vsock tier).
vsock-test:
	bash scripts/build-vsock-test.sh

deps:
	sh scripts/deps.sh

# Installation: scripts/install.sh documents KVER, DESTDIR, PREFIX, UDEVDIR,
# MODPROBEDIR and DROPIN=1 (the Makefile passes them through).
install uninstall:
	sh scripts/install.sh $@

# DKMS: the module sources and dkms.conf into $(DESTDIR)/usr/src/vhost-lite-VERSION.
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf)
KBUILD_DIRS := $(shell sed -n 's|^obj-m += \(.*\)/$$|\1|p' Kbuild)
DKMS_SRC = $(DESTDIR)/usr/src/vhost-lite-$(VERSION)
dkms:
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)
	cp -R dkms.conf Kbuild compat uapi $(KBUILD_DIRS) $(DKMS_SRC)/
	find $(DKMS_SRC) -type f ! -name '*.[ch]' ! -name Kbuild ! -name '*.include' \
		! -name dkms.conf -delete
	@echo 'now: dkms add vhost-lite/$(VERSION) && dkms install vhost-lite/$(VERSION)'

# Builds are part of what check counts (scripts/host-checks.sh), so a build
# failure still ends in the "N passed, N failed" line.
check:
	KERNELS="$(KERNELS)" sh scripts/check.sh

# The selftests on a KASAN/lockdep/kmemleak/UBSAN build of Debian's 6.1
# (scripts/check-debug.sh; DEBUG_E2E="SUITE..." adds e2e suites).
check-debug: userspace
	sh scripts/check-debug.sh

# One test-VM boot: every vhost-lite device against its in-tree or
# userspace reference (scripts/bench.sh: BENCH_DURATION, BENCH_KINDS, ...).
bench:
	bash scripts/bench.sh

demo: modules-all userspace
	KERNELS="$(KERNELS)" sh scripts/demo.sh

lint:
	sh scripts/lint.sh

# libFuzzer + ASan/UBSan on the ring walker and translation (clang).
FUZZ_SECONDS ?= 60
fuzz:
	$(MAKE) -C selftests/fuzz run FUZZ_SECONDS=$(FUZZ_SECONDS)

# clean keeps the caches (extracted kernels, VM images, kernel sources, the
# debug kernel).
clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	find $(BUILD) -mindepth 1 -maxdepth 1 ! -name vm ! -name ksrc ! -name debug-kernel \
		-exec rm -rf {} + 2>/dev/null || true

distclean: clean
	rm -rf $(BUILD)

help:
	@echo 'make            build modules (KDIR=$(KDIR)) and userspace tools'
	@echo 'make deps       install every Debian package the project needs'
	@echo 'make check      build for all KERNELS and run the tests in test VMs (~30 min;'
	@echo '                E2E_LONG=1 adds the long e2e suites and runs vsock, blk and'
	@echo '                migrate on both kernels, as CI does)'
	@echo 'make check-debug  the selftests on a KASAN/lockdep/kmemleak/UBSAN 6.1 kernel'
	@echo '                built from linux-source (~11 min build, once; ~14 min tests)'
	@echo 'make bench      vhost-lite vs in-tree/qemu-storage-daemon in one test VM (build/bench/)'
	@echo 'make demo       boot a QEMU guest whose network goes through vhost_net_lite'
	@echo 'make fuzz       libFuzzer on the ring walker for FUZZ_SECONDS (default 60)'
	@echo 'make lint       checkpatch --strict on all C sources'
	@echo 'make install    install modules (KVER), vhostctl, udev rule (DESTDIR, DROPIN=1)'
	@echo 'make uninstall  remove what make install installed'
	@echo 'make dkms       copy the sources to /usr/src/vhost-lite-$(VERSION) for dkms'
	@echo 'make clean      remove build outputs (keeps VM images and sources)'
	@echo 'make distclean  remove all of build/'
