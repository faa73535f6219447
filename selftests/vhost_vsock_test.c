// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of a vhost-vsock device (/dev/vhost-vsock-lite, or
 * $VHOST_VSOCK_DEV) and the host-to-guest AF_VSOCK transport behind it.
 *
 * The test plays the guest with the guest-driver library (vsock_pkt.h):
 * it speaks the virtio-vsock protocol packet by packet on the rings,
 * while the host side is plain AF_VSOCK sockets of this process that
 * connect to, or accept from, the guest's CID.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>

#include "kselftest_harness.h"
#include "dirty_log.h"
#include "fdinfo.h"
#include "vhl_test.h"
#include "vsock_pkt.h"

#define GUEST_CID	3
#define HOST_CID	VMADDR_CID_HOST
#define GUEST_BUF	(256 * 1024)
#define V1		BIT64(VIRTIO_F_VERSION_1)
#define EVIDX		BIT64(VIRTIO_RING_F_EVENT_IDX)
#define SEQPACKET	BIT64(VIRTIO_VSOCK_F_SEQPACKET)
#define RW		VIRTIO_VSOCK_OP_RW
#define HDR_LEN		sizeof(struct virtio_vsock_hdr)

static void open_or_skip(struct __test_metadata *_metadata,
			 struct vsock_guest *g)
{
	int ret = vsock_guest_open(g, vhost_vsock_dev_path());

	if (ret == -ENOENT)
		SKIP(return, "%s does not exist (module not loaded?)",
		     vhost_vsock_dev_path());
	ASSERT_EQ(0, ret) TH_LOG("open %s: %s", vhost_vsock_dev_path(),
				 strerror(-ret));
}

static void fill(__u8 *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (__u8)(i * 7 + seed);
}

/* Wait for @events on @fd; return the revents (0 on timeout). */
static short wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };

	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	return p.revents;
}

static int sock_error(int fd)
{
	socklen_t l = sizeof(int);
	int err = -1;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l))
		return -errno;
	return err;
}

/* A device fdinfo counter of the "vhl-vsock:" line, or -1. */
static long long vsock_stat(struct vsock_guest *g, const char *key)
{
	unsigned long long v;
	char *text = fdinfo_read(0, g->dev.fd);
	const char *line;
	long long ret = -1;
	size_t len;

	if (!text)
		return -1;
	line = fdinfo_find(text, "vhl-vsock", &len);
	if (line && fdinfo_kv(line, len, key, &v))
		ret = (long long)v;
	free(text);
	return ret;
}

/* Receive the next packet; fail unless it is @op on connection @c. */
static int expect_pkt(struct __test_metadata *_metadata, struct vsock_guest *g,
		      struct vsock_conn *c, __u16 op,
		      struct virtio_vsock_hdr *hdr, void *payload, size_t max)
{
	int n;

	/* The host sends credit updates whenever it read enough. */
	do {
		n = vsock_guest_recv(g, hdr, payload, max, WAIT_MS);
		if (n >= 0 && c && op != VIRTIO_VSOCK_OP_CREDIT_UPDATE &&
		    le16toh(hdr->op) == VIRTIO_VSOCK_OP_CREDIT_UPDATE &&
		    le32toh(hdr->dst_port) == c->port)
			vsock_conn_update(c, hdr);
		else
			break;
	} while (1);
	EXPECT_LE(0, n) TH_LOG("no packet (op %u expected): %s", op,
			       strerror(-n));
	if (n < 0)
		return n;
	EXPECT_EQ(op, le16toh(hdr->op));
	EXPECT_EQ(HOST_CID, le64toh(hdr->src_cid));
	EXPECT_EQ(g->cid, le64toh(hdr->dst_cid));
	if (c) {
		EXPECT_EQ(c->peer_port, le32toh(hdr->src_port));
		EXPECT_EQ(c->port, le32toh(hdr->dst_port));
		EXPECT_EQ(c->type, le16toh(hdr->type));
		vsock_conn_update(c, hdr);
	}
	return n;
}

struct connector {
	int fd;
	struct sockaddr_vm sa;
	int err;
};

static void *connect_thread(void *arg)
{
	struct connector *t = arg;

	t->err = connect(t->fd, (struct sockaddr *)&t->sa, sizeof(t->sa)) ?
		 errno : 0;
	return NULL;
}

/*
 * The host connects to the guest's @port; the guest accepts.  A blocking
 * connect in a thread: a non-blocking one keeps a reference to the
 * transport module for the connect timeout (2 s) after it succeeded.
 * Return the host socket, non-blocking, or a negative errno.
 */
static int host_connect(struct __test_metadata *_metadata,
			struct vsock_guest *g, int type, __u32 port,
			struct vsock_conn *c)
{
	struct connector t = {
		.sa = {
			.svm_family = AF_VSOCK, .svm_cid = g->cid,
			.svm_port = port,
		},
		.err = -1,
	};
	struct virtio_vsock_hdr hdr;
	pthread_t thread;
	int ret;

	t.fd = socket(AF_VSOCK, type | SOCK_CLOEXEC, 0);
	if (t.fd < 0)
		return -errno;
	ret = pthread_create(&thread, NULL, connect_thread, &t);
	if (ret) {
		close(t.fd);
		return -ret;
	}
	memset(c, 0, sizeof(*c));
	c->cid = g->cid;
	c->port = port;
	c->peer_cid = HOST_CID;
	c->type = type == SOCK_STREAM ? VIRTIO_VSOCK_TYPE_STREAM :
					VIRTIO_VSOCK_TYPE_SEQPACKET;
	c->buf_alloc = GUEST_BUF;
	ret = expect_pkt(_metadata, g, NULL, VIRTIO_VSOCK_OP_REQUEST, &hdr,
			 NULL, 0);
	if (ret >= 0) {
		EXPECT_EQ(port, le32toh(hdr.dst_port));
		EXPECT_EQ(c->type, le16toh(hdr.type));
		EXPECT_EQ(0, le32toh(hdr.len));
		c->peer_port = le32toh(hdr.src_port);
		vsock_conn_update(c, &hdr);
		EXPECT_EQ(0, vsock_conn_send(g, c, VIRTIO_VSOCK_OP_RESPONSE,
					     0, NULL, 0));
	}
	/* Without a response connect() gives up after its timeout. */
	pthread_join(thread, NULL);
	EXPECT_EQ(0, t.err) TH_LOG("connect: %s", strerror(t.err));
	if (ret < 0 || t.err ||
	    fcntl(t.fd, F_SETFL, fcntl(t.fd, F_GETFL) | O_NONBLOCK)) {
		close(t.fd);
		return -EPROTO;
	}
	return t.fd;
}

/* The host listens on @port: a listening socket. */
static int host_listen(int type, __u32 port)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
		.svm_port = port,
	};
	int fd = socket(AF_VSOCK, type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* The guest connects from @port to the host's listening @lfd at @hport. */
static int guest_connect(struct __test_metadata *_metadata,
			 struct vsock_guest *g, int lfd, __u16 type,
			 __u32 port, __u32 hport, struct vsock_conn *c)
{
	struct sockaddr_vm peer;
	socklen_t plen = sizeof(peer);
	struct virtio_vsock_hdr hdr;
	int fd;

	memset(c, 0, sizeof(*c));
	c->cid = g->cid;
	c->port = port;
	c->peer_cid = HOST_CID;
	c->peer_port = hport;
	c->type = type;
	c->buf_alloc = GUEST_BUF;
	EXPECT_EQ(0, vsock_conn_send(g, c, VIRTIO_VSOCK_OP_REQUEST, 0,
				     NULL, 0));
	if (expect_pkt(_metadata, g, c, VIRTIO_VSOCK_OP_RESPONSE, &hdr,
		       NULL, 0) < 0)
		return -EPROTO;
	EXPECT_TRUE(wait_fd(lfd, POLLIN, WAIT_MS) & POLLIN);
	fd = accept4(lfd, (struct sockaddr *)&peer, &plen,
		     SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	EXPECT_EQ(g->cid, peer.svm_cid);
	EXPECT_EQ(port, peer.svm_port);
	return fd;
}

/*
 * Receive @len bytes of RW payload on @c into @buf, crediting them back
 * as they arrive (fwd_cnt).  Return the bytes received.
 */
static size_t guest_read(struct __test_metadata *_metadata,
			 struct vsock_guest *g, struct vsock_conn *c,
			 __u8 *buf, size_t len, __u32 *last_flags)
{
	struct virtio_vsock_hdr hdr;
	size_t got = 0;
	int n;

	while (got < len) {
		n = expect_pkt(_metadata, g, c, RW, &hdr, buf + got,
			       len - got);
		if (n < 0)
			break;
		EXPECT_GE(len - got, (size_t)n);
		EXPECT_GE(g->rxbuf_size - HDR_LEN, (size_t)n);
		if ((size_t)n > len - got)
			break;
		got += n;
		c->fwd_cnt += n;
		if (last_flags)
			*last_flags = le32toh(hdr.flags);
	}
	return got;
}

/* Send @len bytes from the guest on @c in packets of at most @pkt bytes. */
static int guest_write(struct vsock_guest *g, struct vsock_conn *c,
		       const __u8 *buf, size_t len, size_t pkt)
{
	size_t off, n;
	int ret;

	for (off = 0; off < len; off += n) {
		n = len - off < pkt ? len - off : pkt;
		ret = vsock_conn_send(g, c, RW, 0, buf + off, n);
		if (ret)
			return ret;
	}
	return 0;
}

/* Read exactly @len bytes from host socket @fd (bounded). */
static size_t host_read(int fd, __u8 *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if (!(wait_fd(fd, POLLIN, WAIT_MS) & POLLIN))
			break;
		n = read(fd, buf + got, len - got);
		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

/*
 * One message from non-blocking SOCK_SEQPACKET socket @fd (bounded).
 * POLLIN comes with the first bytes of a message, before its end is
 * there: until then recvmsg() says EAGAIN.
 */
static ssize_t host_recvmsg(int fd, struct msghdr *msg)
{
	ssize_t n = -1;
	int i;

	for (i = 0; i < 100; i++) {
		if (!(wait_fd(fd, POLLIN, WAIT_MS) & POLLIN))
			break;
		n = recvmsg(fd, msg, 0);
		if (n >= 0 || errno != EAGAIN)
			break;
		usleep(10000);
	}
	return n;
}

FIXTURE(cid) {
	struct vsock_guest a, b;
};

FIXTURE_SETUP(cid)
{
	self->b.dev.fd = -1;
	open_or_skip(_metadata, &self->a);
	ASSERT_EQ(0, vsock_guest_open(&self->b, vhost_vsock_dev_path()));
}

FIXTURE_TEARDOWN(cid)
{
	vhost_dev_close(&self->a.dev);
	vhost_dev_close(&self->b.dev);
}

TEST_F(cid, reserved)
{
	static const __u64 bad[] = {
		0, 1, VMADDR_CID_HOST, 0xffffffffULL,
		1ULL << 32, ~0ULL,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT_EQ(-EINVAL, vhost_vsock_set_guest_cid(&self->a.dev,
							     bad[i]))
			TH_LOG("CID 0x%llx", (unsigned long long)bad[i]);
	EXPECT_EQ(0, vhost_vsock_set_guest_cid(&self->a.dev, GUEST_CID));
	EXPECT_EQ(0, vhost_vsock_set_guest_cid(&self->a.dev, 0xfffffffeULL));
}

TEST_F(cid, duplicate)
{
	EXPECT_EQ(0, vhost_vsock_set_guest_cid(&self->a.dev, GUEST_CID));
	/* Setting our own CID again is fine. */
	EXPECT_EQ(0, vhost_vsock_set_guest_cid(&self->a.dev, GUEST_CID));
	EXPECT_EQ(-EADDRINUSE, vhost_vsock_set_guest_cid(&self->b.dev,
							 GUEST_CID));
	EXPECT_EQ(0, vhost_vsock_set_guest_cid(&self->b.dev, GUEST_CID + 1));
	/* a moves away: its old CID is free. */
	EXPECT_EQ(0, vhost_vsock_set_guest_cid(&self->a.dev, GUEST_CID + 2));
	EXPECT_EQ(0, vhost_vsock_set_guest_cid(&self->b.dev, GUEST_CID));
	EXPECT_EQ(-EADDRINUSE, vhost_vsock_set_guest_cid(&self->a.dev,
							 GUEST_CID));
	/* Closing b frees its CID. */
	vhost_dev_close(&self->b.dev);
	EXPECT_EQ(0, vhost_vsock_set_guest_cid(&self->a.dev, GUEST_CID));
}

TEST_F(cid, features_and_owner)
{
	__u64 f = 0;
	int one = 1;

	ASSERT_EQ(0, vhost_dev_get_features(&self->a.dev, &f));
	EXPECT_EQ(SEQPACKET | V1 | EVIDX, f & (SEQPACKET | V1 | EVIDX));
	EXPECT_EQ(-EOPNOTSUPP, vhost_dev_set_features(&self->a.dev,
						      BIT64(63)));
	/* Only the owner may start the device. */
	EXPECT_EQ(-EPERM, vhost_dev_ioctl(&self->a.dev,
					  VHOST_VSOCK_SET_RUNNING, &one));
	ASSERT_EQ(0, vhost_dev_set_owner(&self->a.dev));
	EXPECT_EQ(0, vhost_vsock_set_running(&self->a.dev, 1));
	EXPECT_EQ(0, vhost_vsock_set_running(&self->a.dev, 0));
}

/* No device has the CID: host connects fail, they do not hang. */
TEST(connect_no_guest)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK, .svm_cid = 4242, .svm_port = 1234,
	};
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 && errno == EAFNOSUPPORT)
		SKIP(return, "no AF_VSOCK (modprobe vsock)");
	ASSERT_LE(0, fd);
	EXPECT_NE(0, connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	close(fd);
}

FIXTURE(vsock) {
	struct vsock_guest g;
	int fd[4];
};

FIXTURE_VARIANT(vsock) {
	__u64 features;
};

FIXTURE_VARIANT_ADD(vsock, v1) {
	.features = V1 | SEQPACKET,
};

FIXTURE_VARIANT_ADD(vsock, v1_event_idx) {
	.features = V1 | SEQPACKET | EVIDX,
};

FIXTURE_VARIANT_ADD(vsock, v1_packed) {
	.features = V1 | SEQPACKET | BIT64(VIRTIO_F_RING_PACKED),
};

FIXTURE_VARIANT_ADD(vsock, v1_packed_event_idx) {
	.features = V1 | SEQPACKET | EVIDX | BIT64(VIRTIO_F_RING_PACKED),
};

FIXTURE_SETUP(vsock)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(self->fd); i++)
		self->fd[i] = -1;
	open_or_skip(_metadata, &self->g);
	ret = vsock_guest_start(&self->g, GUEST_CID, variant->features, 0);
	ASSERT_EQ(0, ret) TH_LOG("start: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(vsock)
{
	unsigned int i;

	/* The device first: host sockets are reset, none lingers. */
	vsock_guest_close(&self->g);
	for (i = 0; i < ARRAY_SIZE(self->fd); i++)
		if (self->fd[i] >= 0)
			close(self->fd[i]);
}

TEST_F(vsock, host_connects_data_both_ways)
{
	static __u8 out[100000], in[100000];
	struct virtio_vsock_hdr hdr;
	struct vsock_conn c;
	int fd;

	self->fd[0] = host_connect(_metadata, &self->g, SOCK_STREAM,
				   1024, &c);
	fd = self->fd[0];
	ASSERT_LE(0, fd);

	/* Host -> guest: split into the guest's 4 KiB buffers. */
	fill(out, sizeof(out), 1);
	ASSERT_EQ((ssize_t)sizeof(out), write(fd, out, sizeof(out)));
	memset(in, 0, sizeof(in));
	ASSERT_EQ(sizeof(in), guest_read(_metadata, &self->g, &c, in,
					 sizeof(in), NULL));
	EXPECT_EQ(0, memcmp(out, in, sizeof(in)));

	/* Guest -> host, in packets of every size up to the largest. */
	fill(out, sizeof(out), 2);
	ASSERT_EQ(0, guest_write(&self->g, &c, out, 1, 1));
	ASSERT_EQ(0, guest_write(&self->g, &c, out + 1, sizeof(out) - 1,
				 VSOCK_GUEST_MAX_PAYLOAD));
	memset(in, 0, sizeof(in));
	ASSERT_EQ(sizeof(in), host_read(fd, in, sizeof(in)));
	EXPECT_EQ(0, memcmp(out, in, sizeof(in)));
	EXPECT_EQ(1, vsock_guest_tx_done(&self->g, WAIT_MS));

	/* The host shuts its sending side: the guest hears of it. */
	ASSERT_EQ(0, shutdown(fd, SHUT_WR));
	ASSERT_LE(0, expect_pkt(_metadata, &self->g, &c,
				VIRTIO_VSOCK_OP_SHUTDOWN, &hdr, NULL, 0));
	EXPECT_EQ(VIRTIO_VSOCK_SHUTDOWN_SEND, le32toh(hdr.flags));
	/* The guest shuts its side: the host reads EOF. */
	ASSERT_EQ(0, vsock_conn_send(&self->g, &c, VIRTIO_VSOCK_OP_SHUTDOWN,
				     VIRTIO_VSOCK_SHUTDOWN_SEND, NULL, 0));
	EXPECT_TRUE(wait_fd(fd, POLLIN, WAIT_MS) & POLLIN);
	EXPECT_EQ(0, read(fd, in, 1));
	/* The host closes: it shuts both ways, the guest answers a reset. */
	close(fd);
	self->fd[0] = -1;
	ASSERT_LE(0, expect_pkt(_metadata, &self->g, &c,
				VIRTIO_VSOCK_OP_SHUTDOWN, &hdr, NULL, 0));
	EXPECT_EQ(VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND,
		  le32toh(hdr.flags));
	ASSERT_EQ(0, vsock_conn_send(&self->g, &c, VIRTIO_VSOCK_OP_RST, 0,
				     NULL, 0));
	EXPECT_EQ(1, vsock_guest_tx_done(&self->g, WAIT_MS));
}

/*
 * Dirty logging (VHOST_F_LOG_ALL): host -> guest data marks the pages of
 * the RX buffers it filled (header and payload) and of the RX used ring,
 * nothing else; a header-only packet marks its buffer's first page.  RX
 * buffers are used in the order they were posted: the connection request
 * took buffer 0, so the data lands in buffers 1 to 3.
 */
TEST_F(vsock, dirty_log_rx)
{
	const size_t bufsz = VSOCK_GUEST_RXBUF, chunk = bufsz - HDR_LEN;
	static __u8 out[3 * (VSOCK_GUEST_RXBUF - HDR_LEN)], in[sizeof(out)];
	struct virtq *rx = &self->g.vq[VSOCK_GUEST_VQ_RX];
	struct virtio_vsock_hdr hdr;
	unsigned int i, want;
	struct dlog l = {};
	struct vsock_conn c;
	__u64 b1, b4, used;
	int fd;

	ASSERT_EQ(sizeof(out), 3 * chunk);
	ASSERT_EQ(0, dlog_init(&l, &self->g.mem));
	ASSERT_EQ(0, vhost_dev_set_log_base(&self->g.dev, l.bits));
	ASSERT_EQ(0, dlog_switch(&self->g.dev, variant->features, self->g.vq,
				 2, true));
	self->fd[0] = host_connect(_metadata, &self->g, SOCK_STREAM,
				   1030, &c);
	fd = self->fd[0];
	ASSERT_LE(0, fd);
	EXPECT_NE(0U, dlog_count(&l));

	dlog_clear(&l);
	fill(out, sizeof(out), 5);
	ASSERT_EQ((ssize_t)sizeof(out), write(fd, out, sizeof(out)));
	ASSERT_EQ(sizeof(in), guest_read(_metadata, &self->g, &c, in,
					 sizeof(in), NULL));
	EXPECT_EQ(0, memcmp(out, in, sizeof(in)));
	b1 = gmem_gpa(&self->g.mem, self->g.rxbufs + bufsz);
	used = virtq_gpa(rx, rx->used);
	/* Every page of buffers 1-3, written in full. */
	for (i = 0; i < 3 * bufsz; i += 512)
		EXPECT_TRUE(dlog_test(&l, b1 + i)) TH_LOG("byte %u", i);
	EXPECT_TRUE(dlog_test(&l, b1 + 3 * bufsz - 1));
	EXPECT_TRUE(dlog_test(&l, used));
	/* Not buffer 5 (nor 4: its first page may be buffer 3's last). */
	EXPECT_FALSE(dlog_test(&l, b1 + 5 * bufsz - 1));
	/* The device only read the TX buffer of the guest's response. */
	EXPECT_FALSE(dlog_test(&l, gmem_gpa(&self->g.mem, self->g.txbufs)));
	want = dlog_pages(b1, 3 * bufsz) +
	       dlog_pages(used, 6 + 8 * VSOCK_GUEST_RING);
	EXPECT_GE(want, dlog_count(&l));

	/* A header alone: the first page of buffer 4. */
	dlog_clear(&l);
	ASSERT_EQ(0, shutdown(fd, SHUT_WR));
	ASSERT_LE(0, expect_pkt(_metadata, &self->g, &c,
				VIRTIO_VSOCK_OP_SHUTDOWN, &hdr, NULL, 0));
	b4 = b1 + 3 * bufsz;
	EXPECT_TRUE(dlog_test(&l, b4));
	EXPECT_TRUE(dlog_test(&l, used));
	EXPECT_GE(dlog_pages(b4, HDR_LEN) +
		  dlog_pages(used, 6 + 8 * VSOCK_GUEST_RING), dlog_count(&l));

	/* Logging off: nothing is marked any more. */
	ASSERT_EQ(0, dlog_switch(&self->g.dev, variant->features, self->g.vq,
				 2, false));
	dlog_clear(&l);
	ASSERT_EQ(0, vsock_conn_send(&self->g, &c, VIRTIO_VSOCK_OP_RST, 0,
				     NULL, 0));
	EXPECT_EQ(1, vsock_guest_tx_done(&self->g, WAIT_MS));
	EXPECT_EQ(0U, dlog_count(&l));
	ASSERT_EQ(0, vhost_dev_set_log_base(&self->g.dev, NULL));
	dlog_destroy(&l);
}

TEST_F(vsock, guest_connects_data_both_ways)
{
	static __u8 out[70000], in[70000];
	struct virtio_vsock_hdr hdr;
	struct vsock_conn c;
	int lfd, fd;

	self->fd[0] = host_listen(SOCK_STREAM, 1025);
	lfd = self->fd[0];
	ASSERT_LE(0, lfd);
	self->fd[1] = guest_connect(_metadata, &self->g, lfd,
				    VIRTIO_VSOCK_TYPE_STREAM, 40000, 1025,
				    &c);
	fd = self->fd[1];
	ASSERT_LE(0, fd);
	/* The host advertised its socket buffer. */
	EXPECT_LT(0, c.peer_buf_alloc);

	fill(out, sizeof(out), 3);
	ASSERT_EQ(0, guest_write(&self->g, &c, out, sizeof(out), 1000));
	ASSERT_EQ(sizeof(in), host_read(fd, in, sizeof(in)));
	EXPECT_EQ(0, memcmp(out, in, sizeof(in)));

	fill(out, sizeof(out), 4);
	ASSERT_EQ((ssize_t)sizeof(out), write(fd, out, sizeof(out)));
	memset(in, 0, sizeof(in));
	ASSERT_EQ(sizeof(in), guest_read(_metadata, &self->g, &c, in,
					 sizeof(in), NULL));
	EXPECT_EQ(0, memcmp(out, in, sizeof(in)));

	/* The guest resets: the host socket is closed by its peer. */
	ASSERT_EQ(0, vsock_conn_send(&self->g, &c, VIRTIO_VSOCK_OP_RST, 0,
				     NULL, 0));
	EXPECT_TRUE(wait_fd(fd, POLLIN | POLLRDHUP, WAIT_MS) & POLLRDHUP);
	EXPECT_EQ(0, read(fd, in, 1));
	(void)hdr;
}

TEST_F(vsock, credit)
{
	static __u8 out[65536], in[65536];
	struct virtio_vsock_hdr hdr;
	struct vsock_conn c;
	__u64 small = 16384;
	ssize_t n;
	int fd, lfd;

	/* Host -> guest: the host sends no more than the guest's credit. */
	self->fd[0] = host_connect(_metadata, &self->g, SOCK_STREAM,
				   1026, &c);
	fd = self->fd[0];
	ASSERT_LE(0, fd);
	c.buf_alloc = 8192;
	ASSERT_EQ(0, vsock_conn_send(&self->g, &c,
				     VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, NULL,
				     0));
	/* A credit request of the host is not needed: it knows now. */
	EXPECT_EQ(1, vsock_guest_tx_done(&self->g, WAIT_MS));
	fill(out, sizeof(out), 5);
	n = write(fd, out, sizeof(out));
	ASSERT_EQ(8192, n);
	ASSERT_EQ(8192, guest_read(_metadata, &self->g, &c, in, 8192, NULL));
	/* Nothing beyond the credit, until the guest gives more. */
	EXPECT_EQ(-ETIMEDOUT, vsock_guest_recv(&self->g, &hdr, NULL, 0,
					       QUIET_MS));
	EXPECT_EQ(-1, write(fd, out + 8192, sizeof(out) - 8192));
	EXPECT_EQ(EAGAIN, errno);
	c.buf_alloc = GUEST_BUF;
	ASSERT_EQ(0, vsock_conn_send(&self->g, &c,
				     VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, NULL,
				     0));
	EXPECT_TRUE(wait_fd(fd, POLLOUT, WAIT_MS) & POLLOUT);
	ASSERT_EQ((ssize_t)sizeof(out) - 8192,
		  write(fd, out + 8192, sizeof(out) - 8192));
	ASSERT_EQ(sizeof(out) - 8192,
		  guest_read(_metadata, &self->g, &c, in + 8192,
			     sizeof(out) - 8192, NULL));
	EXPECT_EQ(0, memcmp(out, in, sizeof(in)));

	/* The guest asks for the host's credit and gets it. */
	ASSERT_EQ(0, vsock_conn_send(&self->g, &c,
				     VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0, NULL,
				     0));
	ASSERT_LE(0, expect_pkt(_metadata, &self->g, &c,
				VIRTIO_VSOCK_OP_CREDIT_UPDATE, &hdr, NULL, 0));
	EXPECT_LT(0, c.peer_buf_alloc);

	/*
	 * Guest -> host: a guest that ignores the host's credit gets no
	 * more than the credit into the host socket: the connection is
	 * reset, the host socket reports ENOBUFS after the data it kept.
	 */
	self->fd[1] = host_listen(SOCK_STREAM, 1027);
	lfd = self->fd[1];
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, setsockopt(lfd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE,
				&small, sizeof(small)));
	self->fd[2] = guest_connect(_metadata, &self->g, lfd,
				    VIRTIO_VSOCK_TYPE_STREAM, 40001, 1027,
				    &c);
	fd = self->fd[2];
	ASSERT_LE(0, fd);
	EXPECT_EQ(small, c.peer_buf_alloc);
	fill(out, sizeof(out), 6);
	ASSERT_EQ(0, guest_write(&self->g, &c, out, sizeof(out), 4096));
	EXPECT_EQ(1, vsock_guest_tx_done(&self->g, WAIT_MS));
	ASSERT_LE(0, expect_pkt(_metadata, &self->g, &c, VIRTIO_VSOCK_OP_RST,
				&hdr, NULL, 0));
	memset(in, 0, sizeof(in));
	ASSERT_EQ(small, host_read(fd, in, small));
	EXPECT_EQ(0, memcmp(out, in, small));
	EXPECT_EQ(ENOBUFS, sock_error(fd));
}

TEST_F(vsock, seqpacket_boundaries)
{
	static __u8 out[10000], in[10000];
	struct virtio_vsock_hdr hdr;
	struct iovec iov = { .iov_base = in, .iov_len = sizeof(in) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	__u32 flags = 0;
	struct vsock_conn c;
	ssize_t n;
	int fd;

	self->fd[0] = host_connect(_metadata, &self->g, SOCK_SEQPACKET,
				   1028, &c);
	fd = self->fd[0];
	ASSERT_LE(0, fd);

	/* A host message split into guest buffers: only the end is marked. */
	fill(out, sizeof(out), 7);
	ASSERT_EQ((ssize_t)sizeof(out), send(fd, out, sizeof(out), MSG_EOR));
	ASSERT_EQ(sizeof(in), guest_read(_metadata, &self->g, &c, in,
					 sizeof(in), &flags));
	EXPECT_EQ(VIRTIO_VSOCK_SEQ_EOM | VIRTIO_VSOCK_SEQ_EOR, flags);
	EXPECT_EQ(0, memcmp(out, in, sizeof(in)));
	/* A message without MSG_EOR ends without a record end. */
	ASSERT_EQ(100, send(fd, out, 100, 0));
	ASSERT_EQ(100, guest_read(_metadata, &self->g, &c, in, 100, &flags));
	EXPECT_EQ(VIRTIO_VSOCK_SEQ_EOM, flags);

	/* Guest messages, one in two packets, keep their boundaries. */
	fill(out, sizeof(out), 8);
	ASSERT_EQ(0, vsock_conn_send(&self->g, &c, RW, 0, out, 3000));
	ASSERT_EQ(0, vsock_conn_send(&self->g, &c, RW,
				     VIRTIO_VSOCK_SEQ_EOM |
				     VIRTIO_VSOCK_SEQ_EOR, out + 3000, 1000));
	ASSERT_EQ(0, vsock_conn_send(&self->g, &c, RW, VIRTIO_VSOCK_SEQ_EOM,
				     out + 4000, 500));
	n = host_recvmsg(fd, &msg);
	ASSERT_EQ(4000, n);
	EXPECT_EQ(0, memcmp(out, in, 4000));
	EXPECT_TRUE(msg.msg_flags & MSG_EOR);
	msg.msg_flags = 0;
	n = host_recvmsg(fd, &msg);
	ASSERT_EQ(500, n);
	EXPECT_EQ(0, memcmp(out + 4000, in, 500));
	EXPECT_FALSE(msg.msg_flags & MSG_EOR);
	(void)hdr;
}

TEST_F(vsock, seqpacket_needs_feature)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK, .svm_cid = GUEST_CID, .svm_port = 1029,
	};
	int fd;

	if (variant->features & SEQPACKET) {
		/*
		 * Renegotiate without it, as a guest driver would; the rings
		 * are set up, so their layout stays.
		 */
		ASSERT_EQ(0, vhost_dev_set_features(&self->g.dev, V1 |
						    (variant->features &
						     BIT64(VIRTIO_F_RING_PACKED))));
	}
	self->fd[0] = socket(AF_VSOCK, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	fd = self->fd[0];
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	EXPECT_EQ(ESOCKTNOSUPPORT, errno);
}

TEST_F(vsock, rst_for_unknown_port)
{
	struct vsock_conn c = {
		.cid = GUEST_CID, .port = 40002, .peer_cid = HOST_CID,
		.peer_port = 1030, .type = VIRTIO_VSOCK_TYPE_STREAM,
		.buf_alloc = GUEST_BUF,
	};
	struct virtio_vsock_hdr hdr;

	/* Nobody listens: a request is answered with a reset. */
	ASSERT_EQ(0, vsock_conn_send(&self->g, &c, VIRTIO_VSOCK_OP_REQUEST, 0,
				     NULL, 0));
	ASSERT_LE(0, expect_pkt(_metadata, &self->g, &c, VIRTIO_VSOCK_OP_RST,
				&hdr, NULL, 0));
	/* So is data for a connection that does not exist. */
	ASSERT_EQ(0, vsock_conn_send(&self->g, &c, RW, 0, "x", 1));
	ASSERT_LE(0, expect_pkt(_metadata, &self->g, &c, VIRTIO_VSOCK_OP_RST,
				&hdr, NULL, 0));
}

TEST_F(vsock, malformed_packets_dropped)
{
	static __u8 pkt[HDR_LEN + VSOCK_GUEST_MAX_PAYLOAD + 1];
	struct virtio_vsock_hdr *hdr = (struct virtio_vsock_hdr *)pkt;
	struct vsock_conn c = {
		.cid = GUEST_CID, .port = 40003, .peer_cid = HOST_CID,
		.peer_port = 1031, .type = VIRTIO_VSOCK_TYPE_STREAM,
		.buf_alloc = GUEST_BUF,
	};
	struct virtio_vsock_hdr rh;
	int lfd, fd;

	self->fd[0] = host_listen(SOCK_STREAM, 1031);
	lfd = self->fd[0];
	ASSERT_LE(0, lfd);
	EXPECT_EQ(0, vsock_stat(&self->g, "malformed"));

	/* Shorter than a header. */
	vsock_conn_hdr(&c, hdr, VIRTIO_VSOCK_OP_REQUEST, 0, 0);
	ASSERT_EQ(0, vsock_guest_send_raw(&self->g, pkt, HDR_LEN - 1));
	/* A length beyond the chain. */
	vsock_conn_hdr(&c, hdr, RW, 0, 1000);
	ASSERT_EQ(0, vsock_guest_send_raw(&self->g, pkt, HDR_LEN + 100));
	/* A length of 4 GiB - 1. */
	vsock_conn_hdr(&c, hdr, RW, 0, 0xffffffff);
	ASSERT_EQ(0, vsock_guest_send_raw(&self->g, pkt, HDR_LEN + 100));
	/* A chain larger than the largest packet. */
	vsock_conn_hdr(&c, hdr, RW, 0, VSOCK_GUEST_MAX_PAYLOAD + 1);
	ASSERT_EQ(0, vsock_guest_send_raw(&self->g, pkt, sizeof(pkt)));
	/* A request from someone else's CID. */
	c.cid = GUEST_CID + 1;
	vsock_conn_hdr(&c, hdr, VIRTIO_VSOCK_OP_REQUEST, 0, 0);
	c.cid = GUEST_CID;
	ASSERT_EQ(0, vsock_guest_send_raw(&self->g, pkt, HDR_LEN));

	/* Every buffer came back; nothing answered, nothing connected. */
	EXPECT_EQ(1, vsock_guest_tx_done(&self->g, WAIT_MS));
	EXPECT_EQ(4, vsock_stat(&self->g, "malformed"));
	EXPECT_EQ(1, vsock_stat(&self->g, "misaddressed"));
	EXPECT_EQ(-ETIMEDOUT, vsock_guest_recv(&self->g, &rh, NULL, 0,
					       QUIET_MS));
	EXPECT_FALSE(wait_fd(lfd, POLLIN, QUIET_MS) & POLLIN);

	/* The device still works. */
	self->fd[1] = guest_connect(_metadata, &self->g, lfd,
				    VIRTIO_VSOCK_TYPE_STREAM, 40003, 1031,
				    &c);
	fd = self->fd[1];
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, vsock_conn_send(&self->g, &c, RW, 0, "ok", 2));
	ASSERT_EQ(2, host_read(fd, pkt, 2));
	EXPECT_EQ(0, memcmp(pkt, "ok", 2));
}

/*
 * A guest that never takes its RX buffers: the replies its packets cause
 * queue up to one TX ring's worth, then the device stops taking TX
 * packets until the guest reads.
 */
TEST_F(vsock, replies_bounded)
{
	struct vsock_conn c = {
		.cid = GUEST_CID, .port = 40004, .peer_cid = HOST_CID,
		.peer_port = 1032, .type = VIRTIO_VSOCK_TYPE_STREAM,
		.buf_alloc = GUEST_BUF,
	};
	struct virtio_vsock_hdr hdr;
	unsigned int i, sent = 0, got = 0;

	/* Fill the RX ring with resets, then queue a ring's worth more. */
	for (i = 0; i < 2 * VSOCK_GUEST_RING; i++, sent++) {
		ASSERT_EQ(0, vsock_conn_send(&self->g, &c,
					     VIRTIO_VSOCK_OP_REQUEST, 0, NULL,
					     0));
		if (i % 64 == 63)
			ASSERT_EQ(1, vsock_guest_tx_done(&self->g, WAIT_MS));
	}
	EXPECT_EQ(VSOCK_GUEST_RING, vsock_stat(&self->g, "replies"));
	/* One more: the device leaves it on the ring. */
	ASSERT_EQ(0, vsock_conn_send(&self->g, &c, VIRTIO_VSOCK_OP_REQUEST, 0,
				     NULL, 0));
	sent++;
	EXPECT_EQ(0, vsock_guest_tx_done(&self->g, QUIET_MS));
	EXPECT_EQ(VSOCK_GUEST_RING, vsock_stat(&self->g, "replies"));

	/* Reading resumes everything: one reset per request. */
	while (got < sent &&
	       expect_pkt(_metadata, &self->g, &c, VIRTIO_VSOCK_OP_RST, &hdr,
			  NULL, 0) >= 0)
		got++;
	EXPECT_EQ(sent, got);
	EXPECT_EQ(1, vsock_guest_tx_done(&self->g, WAIT_MS));
	EXPECT_EQ(0, vsock_stat(&self->g, "replies"));
}

/* Closing the device resets every host socket connected to the guest. */
TEST_F(vsock, close_resets_host_sockets)
{
	struct vsock_conn c1, c2;
	int lfd, fd1, fd2;
	char b;

	signal(SIGPIPE, SIG_IGN);
	self->fd[0] = host_connect(_metadata, &self->g, SOCK_STREAM,
				   1033, &c1);
	fd1 = self->fd[0];
	ASSERT_LE(0, fd1);
	self->fd[1] = host_listen(SOCK_STREAM, 1034);
	lfd = self->fd[1];
	ASSERT_LE(0, lfd);
	self->fd[2] = guest_connect(_metadata, &self->g, lfd,
				    VIRTIO_VSOCK_TYPE_STREAM, 40005,
				    1034, &c2);
	fd2 = self->fd[2];
	ASSERT_LE(0, fd2);
	EXPECT_FALSE(wait_fd(fd1, POLLIN, 0));
	EXPECT_FALSE(wait_fd(fd2, POLLIN, 0));

	vsock_guest_close(&self->g);
	EXPECT_TRUE(wait_fd(fd1, POLLIN, WAIT_MS) & (POLLERR | POLLHUP));
	EXPECT_TRUE(wait_fd(fd2, POLLIN, WAIT_MS) & (POLLERR | POLLHUP));
	EXPECT_EQ(ECONNRESET, sock_error(fd1));
	EXPECT_EQ(ECONNRESET, sock_error(fd2));
	EXPECT_EQ(-1, send(fd1, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(0, read(fd2, &b, 1));
	/* The teardown closes again: harmless. */
	self->g.dev.fd = -1;
}

TEST_HARNESS_MAIN
