// SPDX-License-Identifier: GPL-2.0
/*
 * vhostctl bench vsock: the bench plays the guest of a vhost-vsock device
 * (tools/lib/vsock_pkt.c) and a host AF_VSOCK stream socket, in a thread of
 * the same process, is the other end of one connection per case.  The
 * guest connects to the host's listening port, then either streams to the
 * host (g2h), receives the host's stream (h2g), or bounces 64-byte
 * messages (pingpong, latency = round trip).  The guest honours the host's
 * credit and returns credit as it consumes.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/vm_sockets.h>

#include "bench.h"
#include "vhostctl.h"
#include "vsock_pkt.h"

#define VS_HOST_CID	2
#define VS_HDR		((__u32)sizeof(struct virtio_vsock_hdr))
/* Receive buffer the guest advertises, and the host socket's. */
#define VS_BUF_ALLOC	1048576U
#define VS_PP_SIZE	64

enum vs_mode { VS_G2H, VS_H2G, VS_PP };

struct vs_case {
	const char *name;
	enum vs_mode mode;
	__u32 size;
};

static const struct vs_case vs_cases[] = {
	{ "g2h-4k", VS_G2H, 4096 },
	{ "g2h-64k", VS_G2H, 65536 },
	{ "h2g-4k", VS_H2G, 4096 },
	{ "h2g-64k", VS_H2G, 65536 },
	{ "pingpong", VS_PP, VS_PP_SIZE },
};

struct vs_host {
	const struct vs_case *c;
	int fd;
	int stop;
	__u64 bytes;
	int err;
};

/* Wait for @events on @fd for at most @ms; true if ready. */
static bool vs_wait(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, ms) == 1;
}

static void *vs_host_thread(void *arg)
{
	struct vs_host *h = arg;
	size_t len = h->c->mode == VS_G2H ? 256 << 10 : h->c->size;
	__u8 *buf = malloc(len);
	size_t got = 0;
	ssize_t n;

	if (!buf) {
		h->err = -ENOMEM;
		return NULL;
	}
	memset(buf, 0x3c, len);
	while (!bench_stopped(&h->stop)) {
		switch (h->c->mode) {
		case VS_G2H:
			if (!vs_wait(h->fd, POLLIN, 100))
				continue;
			n = read(h->fd, buf, len);
			break;
		case VS_H2G:
			if (!vs_wait(h->fd, POLLOUT, 100))
				continue;
			n = write(h->fd, buf, len);
			break;
		default:
			if (!vs_wait(h->fd, POLLIN, 100))
				continue;
			n = read(h->fd, buf + got, VS_PP_SIZE - got);
			if (n > 0)
				got += (size_t)n;
			if (n > 0 && got == VS_PP_SIZE) {
				got = 0;
				if (!vs_wait(h->fd, POLLOUT, BENCH_WAIT_MS) ||
				    write(h->fd, buf, VS_PP_SIZE) != VS_PP_SIZE)
					n = -1;
			}
			break;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			if (!bench_stopped(&h->stop))
				h->err = n ? -errno : -EPIPE;
			break;
		}
		bench_add(&h->bytes, (__u64)n);
	}
	free(buf);
	return NULL;
}

static int vs_host_listen(const struct bench_opts *o)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
		.svm_port = o->port,
	};
	unsigned long long sz = VS_BUF_ALLOC;
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	/* Inherited by the accepted socket; failure keeps the default. */
	(void)setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE, &sz,
			 sizeof(sz));
	(void)setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &sz,
			 sizeof(sz));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* A packet of connection @c from the host, credit learnt; -ETIMEDOUT. */
static int vs_recv(struct vsock_guest *g, struct vsock_conn *c,
		   struct virtio_vsock_hdr *hdr, int ms)
{
	int n;

	for (;;) {
		n = vsock_guest_recv(g, hdr, NULL, 0, ms);
		if (n < 0)
			return n;
		if (le32toh(hdr->dst_port) != c->port ||
		    le32toh(hdr->src_port) != c->peer_port)
			continue;
		vsock_conn_update(c, hdr);
		switch (le16toh(hdr->op)) {
		case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
			n = vsock_conn_send(g, c, VIRTIO_VSOCK_OP_CREDIT_UPDATE,
					    0, NULL, 0);
			if (n)
				return n;
			continue;
		case VIRTIO_VSOCK_OP_RST:
		case VIRTIO_VSOCK_OP_SHUTDOWN:
			return -ECONNRESET;
		default:
			return n;
		}
	}
}

static int vs_connect(struct vsock_guest *g, struct vsock_conn *c, int lfd,
		      const struct bench_opts *o, unsigned int i)
{
	struct virtio_vsock_hdr hdr;
	int ret, fd;

	memset(c, 0, sizeof(*c));
	c->cid = g->cid;
	c->port = 40000 + i;
	c->peer_cid = VS_HOST_CID;
	c->peer_port = o->port;
	c->type = VIRTIO_VSOCK_TYPE_STREAM;
	c->buf_alloc = VS_BUF_ALLOC;
	ret = vsock_conn_send(g, c, VIRTIO_VSOCK_OP_REQUEST, 0, NULL, 0);
	if (!ret)
		ret = vs_recv(g, c, &hdr, BENCH_WAIT_MS);
	if (ret < 0)
		return ret;
	if (le16toh(hdr.op) != VIRTIO_VSOCK_OP_RESPONSE)
		return -ECONNREFUSED;
	if (!vs_wait(lfd, POLLIN, BENCH_WAIT_MS))
		return -ETIMEDOUT;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* No credit and no update for a while: ask for one. */
static int vs_credit_request(struct vsock_guest *g, struct vsock_conn *c)
{
	return vsock_conn_send(g, c, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0, NULL, 0);
}

/* Guest to host: send while the host has credit. */
static int vs_g2h(struct vsock_guest *g, struct vsock_conn *c,
		  struct bench_clock *clk, const __u8 *buf, __u32 size,
		  __u64 *ops)
{
	struct virtio_vsock_hdr hdr;
	int ret;

	while (bench_clock_running(clk)) {
		/* Credit updates the host sent by itself. */
		ret = vs_recv(g, c, &hdr, 0);
		if (ret < 0 && ret != -ETIMEDOUT)
			return ret;
		if (vsock_conn_credit(c) < size) {
			ret = vs_recv(g, c, &hdr, 100);
			if (ret == -ETIMEDOUT)
				ret = vs_credit_request(g, c);
			if (ret < 0)
				return ret;
			continue;
		}
		ret = vsock_conn_send(g, c, VIRTIO_VSOCK_OP_RW, 0, buf, size);
		if (ret)
			return ret;
		(*ops)++;
	}
	return 0;
}

/* Host to guest: consume and give the credit back. */
static int vs_h2g(struct vsock_guest *g, struct vsock_conn *c,
		  struct bench_clock *clk, __u64 *bytes, __u64 *ops)
{
	struct virtio_vsock_hdr hdr;
	__u32 credited = 0;
	int n;

	while (bench_clock_running(clk)) {
		n = vs_recv(g, c, &hdr, 100);
		if (n == -ETIMEDOUT)
			continue;
		if (n < 0)
			return n;
		if (le16toh(hdr.op) != VIRTIO_VSOCK_OP_RW)
			continue;
		*bytes += (__u32)n;
		(*ops)++;
		c->fwd_cnt += (__u32)n;
		if (c->fwd_cnt - credited >= VS_BUF_ALLOC / 4) {
			credited = c->fwd_cnt;
			n = vsock_conn_send(g, c, VIRTIO_VSOCK_OP_CREDIT_UPDATE,
					    0, NULL, 0);
			if (n)
				return n;
		}
	}
	return 0;
}

/* Round trips of 64 bytes. */
static int vs_pp(struct vsock_guest *g, struct vsock_conn *c,
		 struct bench_clock *clk, const __u8 *buf,
		 struct bench_lat *lat, __u64 *ops)
{
	struct virtio_vsock_hdr hdr;
	__u32 got, credited = 0;
	__u64 t0;
	int n;

	while (bench_clock_running(clk)) {
		if (vsock_conn_credit(c) < VS_PP_SIZE) {
			n = vs_recv(g, c, &hdr, 100);
			if (n == -ETIMEDOUT)
				n = vs_credit_request(g, c);
			if (n < 0)
				return n;
			continue;
		}
		t0 = bench_now_ns();
		n = vsock_conn_send(g, c, VIRTIO_VSOCK_OP_RW, 0, buf,
				    VS_PP_SIZE);
		for (got = 0; !n && got < VS_PP_SIZE;) {
			n = vs_recv(g, c, &hdr, BENCH_WAIT_MS);
			if (n < 0)
				break;
			if (le16toh(hdr.op) == VIRTIO_VSOCK_OP_RW) {
				got += (__u32)n;
				c->fwd_cnt += (__u32)n;
			}
			n = 0;
		}
		if (n)
			return n;
		bench_lat_add(lat, bench_now_ns() - t0);
		(*ops)++;
		if (c->fwd_cnt - credited >= VS_BUF_ALLOC / 4) {
			credited = c->fwd_cnt;
			n = vsock_conn_send(g, c, VIRTIO_VSOCK_OP_CREDIT_UPDATE,
					    0, NULL, 0);
			if (n)
				return n;
		}
	}
	return 0;
}

static int vs_case_run(const struct bench_opts *o, const struct vs_case *c,
		       unsigned int idx)
{
	struct bench_result r = { .queues = 1, .size = c->size };
	struct vs_host h = { .c = c, .fd = -1 };
	struct vsock_guest g;
	struct vsock_conn conn;
	struct bench_clock clk;
	__u64 ops = 0;
	__u64 offered = 0, features, bytes = 0, hb0 = 0, t_end;
	__u32 rxbuf = c->mode == VS_H2G ? VS_HDR + c->size : 0;
	bool thread = false;
	pthread_t th;
	__u8 *buf = NULL;
	int lfd = -1, ret;

	memset(&g, 0, sizeof(g));
	ret = vsock_guest_open(&g, o->dev);
	if (ret)
		return ret;
	ret = vhost_dev_get_features(&g.dev, &offered);
	if (ret)
		goto out;
	features = offered & ((1ULL << VIRTIO_F_VERSION_1) |
			      (1ULL << VIRTIO_RING_F_EVENT_IDX));
	ret = vsock_guest_start(&g, o->cid, features, rxbuf);
	if (ret)
		goto out;
	lfd = vs_host_listen(o);
	if (lfd < 0) {
		ret = lfd;
		goto out;
	}
	h.fd = vs_connect(&g, &conn, lfd, o, idx);
	if (h.fd < 0) {
		ret = h.fd;
		goto out;
	}
	buf = malloc(c->size);
	ret = bench_lat_init(&r.lat);
	if (!buf || ret) {
		ret = -ENOMEM;
		goto out;
	}
	memset(buf, 0xc3, c->size);
	ret = -pthread_create(&th, NULL, vs_host_thread, &h);
	if (ret)
		goto out;
	thread = true;

	snprintf(r.name, sizeof(r.name), "%s", c->name);
	bench_clock_start(&clk, o, r.name, &ops);
	hb0 = bench_get(&h.bytes);
	switch (c->mode) {
	case VS_G2H:
		ret = vs_g2h(&g, &conn, &clk, buf, c->size, &ops);
		break;
	case VS_H2G:
		ret = vs_h2g(&g, &conn, &clk, &bytes, &ops);
		break;
	default:
		ret = vs_pp(&g, &conn, &clk, buf, &r.lat, &ops);
		break;
	}
	t_end = bench_now_ns();
	if (c->mode == VS_G2H) {
		bytes = bench_get(&h.bytes) - hb0;
		ops = bytes / c->size;
	} else if (c->mode == VS_PP) {
		bytes = ops * 2ULL * VS_PP_SIZE;
	}
	if (!ret && h.err)
		ret = h.err;
	if (!ret) {
		r.secs = (t_end - clk.start) / 1e9;
		r.ops = ops;
		r.bytes = bytes;
		r.features = features;
		bench_emit(o, &r);
	}
	/* Best effort: the device reset below ends the connection anyway. */
	(void)vsock_conn_send(&g, &conn, VIRTIO_VSOCK_OP_RST, 0, NULL, 0);
out:
	bench_stop(&h.stop);
	if (thread)
		pthread_join(th, NULL);
	/* The device first: the host sockets are reset, none lingers. */
	vsock_guest_close(&g);
	if (h.fd >= 0)
		close(h.fd);
	if (lfd >= 0)
		close(lfd);
	free(buf);
	bench_lat_free(&r.lat);
	return ret;
}

/**
 * bench_vsock() - every selected vsock case on o->dev
 * @o: options
 *
 * Return: 0 or the first negative errno.
 */
int bench_vsock(const struct bench_opts *o)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(vs_cases); i++) {
		if (!bench_want(o, vs_cases[i].name))
			continue;
		ret = vs_case_run(o, &vs_cases[i], i);
		if (ret) {
			bench_err("%s", vs_cases[i].name);
			return ret;
		}
	}
	return 0;
}
