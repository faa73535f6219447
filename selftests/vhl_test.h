/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the vhost-lite selftests.
 *
 * The tests run against /dev/vhost-net-lite, or against any vhost-net node
 * named by $VHOST_NET_DEV (e.g. the in-tree /dev/vhost-net, for
 * comparison).  Where vhost-lite deliberately differs from the in-tree
 * module, a test asserts the behaviour of the flavour it runs against:
 * vhost-lite when the device prints "vhl-kind:" in its fdinfo or its path
 * contains "lite", in-tree otherwise; $VHOST_FLAVOR=lite|intree overrides.
 */
#ifndef VHL_SELFTEST_H
#define VHL_SELFTEST_H

#include <errno.h>
#include <stdbool.h>
#include <linux/types.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#include "vhost_dev.h"

#define BIT64(n)	(1ULL << (n))

/* Features vhost_net_lite offers, exactly. */
#define VHL_NET_FEATURES (BIT64(VHOST_NET_F_VIRTIO_NET_HDR) |		\
			  BIT64(VIRTIO_NET_F_MRG_RXBUF) |		\
			  BIT64(VIRTIO_F_NOTIFY_ON_EMPTY) |		\
			  BIT64(VIRTIO_RING_F_INDIRECT_DESC) |		\
			  BIT64(VIRTIO_RING_F_EVENT_IDX) |		\
			  BIT64(VIRTIO_F_ANY_LAYOUT) |			\
			  BIT64(VIRTIO_F_VERSION_1) |			\
			  BIT64(VIRTIO_F_RING_PACKED) |		\
			  BIT64(VHOST_F_LOG_ALL))
/* What the in-tree vhost_net offers of them too: no packed rings. */
#define VHL_INTREE_NET_FEATURES (VHL_NET_FEATURES & ~BIT64(VIRTIO_F_RING_PACKED))
/* Backend features vhost_net_lite offers: none. */
#define VHL_NET_BACKEND_FEATURES 0ULL

/* Bounds of the waits: for something that must happen, and must not. */
#define WAIT_MS		5000
#define QUIET_MS	200

/* Number of virtqueues of vhost-net: 0 RX, 1 TX. */
#define NET_VQ_RX	0
#define NET_VQ_TX	1
#define NET_VQ_MAX	2

/**
 * vhl_flavor_lite() - are we testing vhost-lite (true) or in-tree vhost?
 * @fd: open device
 */
static inline bool vhl_flavor_lite(int fd)
{
	const char *f = getenv("VHOST_FLAVOR");

	if (f && !strcmp(f, "lite"))
		return true;
	if (f && !strcmp(f, "intree"))
		return false;
	return vhost_fd_is_lite(fd) || strstr(vhost_net_dev_path(), "lite");
}

/**
 * vhl_want() - expected value for the flavour under test
 * @lite: testing vhost-lite
 * @lite_val: what vhost-lite must return
 * @intree_val: what the in-tree module returns
 */
static inline int vhl_want(bool lite, int lite_val, int intree_val)
{
	return lite ? lite_val : intree_val;
}

/**
 * vhl_in_child() - run @fn in a forked child and collect its results
 * @fn: function filling up to @max result codes, returning how many
 * @arg: its argument
 * @res: results, copied back from the child
 * @max: room in @res
 *
 * The child shares the parent's open files but has its own mm, so it is
 * not the owner of a device the parent owns.  It leaves with _exit() and
 * never runs harness code.
 *
 * Return: number of results, or a negative errno.
 */
static inline int vhl_in_child(int (*fn)(void *arg, int *res, int max),
			       void *arg, int *res, int max)
{
	int pipefd[2], status, n = 0;
	ssize_t got;
	pid_t pid;

	if (pipe(pipefd) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -errno;
	}
	if (!pid) {
		int cnt;

		close(pipefd[0]);
		cnt = fn(arg, res, max);
		if (cnt > 0 && write(pipefd[1], res, sizeof(int) * cnt) < 0)
			_exit(1);
		_exit(0);
	}
	close(pipefd[1]);
	while ((size_t)n < sizeof(int) * max) {
		got = read(pipefd[0], (char *)res + n, sizeof(int) * max - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (int)got;
	}
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -ECHILD;
	return n / (int)sizeof(int);
}

/**
 * vhl_open() - open the vhost-net node under test
 * @d: device
 *
 * Return: 0, or a negative errno (-ENOENT: node missing, skip the test).
 */
static inline int vhl_open(struct vhost_dev *d)
{
	return vhost_dev_open(d, vhost_net_dev_path());
}

#endif /* VHL_SELFTEST_H */
