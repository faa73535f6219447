# SPDX-License-Identifier: GPL-2.0
#
# vhost-lite top-level Makefile.  `make help` lists the targets.

# Kernel tree to build against: the newest Debian headers installed.
KDIR ?= $(lastword $(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V))
# Kernels `make check` builds for and tests on: Debian 6.1 and 6.12.
KERNELS ?= $(shell ls /lib/modules 2>/dev/null | grep -E '^6\.(1|12)\.[0-9]' | grep -- '-amd64$$' | sort -V)

BUILD := $(CURDIR)/build

.PHONY: all modules modules-all userspace selftests vhostctl check demo \
	deps lint clean distclean help vsock-test

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

# Builds are part of what check counts (scripts/host-checks.sh), so a build
# failure still ends in the "N passed, N failed" line.
check:
	KERNELS="$(KERNELS)" sh scripts/check.sh

demo: modules-all userspace
	KERNELS="$(KERNELS)" sh scripts/demo.sh

lint:
	sh scripts/lint.sh

# clean keeps the caches (extracted kernels, VM images, kernel sources).
clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	find $(BUILD) -mindepth 1 -maxdepth 1 ! -name vm ! -name ksrc \
		-exec rm -rf {} + 2>/dev/null || true

distclean: clean
	rm -rf $(BUILD)

help:
	@echo 'make            build modules (KDIR=$(KDIR)) and userspace tools'
	@echo 'make deps       install every Debian package the project needs'
	@echo 'make check      build for all KERNELS and run every test in test VMs'
	@echo 'make demo       boot a QEMU guest whose network goes through vhost_net_lite'
	@echo 'make lint       checkpatch --strict on all C sources'
	@echo 'make clean      remove build outputs (keeps VM images and sources)'
	@echo 'make distclean  remove all of build/'
