// SPDX-License-Identifier: GPL-2.0
/*
 * Device set-up and traffic for the hostile-ring and fault selftests
 * (see hostile_dev.h).
 */
#define _GNU_SOURCE
#include <linux/if_tun.h>

#include "hostile_dev.h"

const char * const kind_mod[] = {
	[K_NET] = "vhost_net_lite",
	[K_VSOCK] = "vhost_vsock_lite",
	[K_BLK] = "vhost_blk_lite",
};

/* Why the last helper failed (helpers also run in children). */
char why[256];

/* The queue each case attacks (served on a kick) and the other one. */
unsigned int aq(const struct hdev *d)
{
	return d->kind == K_BLK ? 0 : 1;
}

unsigned int other_q(const struct hdev *d, unsigned int q)
{
	return d->kind == K_BLK ? q ^ 1 : 1 - q;
}

const char *kind_path(enum kind k)
{
	return k == K_NET ? vhost_net_dev_path() :
	       k == K_VSOCK ? vhost_vsock_dev_path() : vhost_blk_dev_path();
}

unsigned long long vq_stat(struct hdev *d, unsigned int q, const char *key)
{
	return fdinfo_stat(0, DEV(d)->fd, "vhl-vq", q, key);
}

int q_stop(struct hdev *d, unsigned int q)
{
	if (d->kind == K_NET)
		return vhost_net_set_backend(DEV(d), q, -1);
	if (d->kind == K_VSOCK)
		return vhost_vsock_set_running(DEV(d), 0);
	return 0;
}

int q_start(struct hdev *d, unsigned int q)
{
	if (d->kind == K_NET)
		return vhost_net_set_backend(DEV(d), q, d->tap.fd);
	if (d->kind == K_VSOCK)
		return vhost_vsock_set_running(DEV(d), 1);
	return 0;
}

/*
 * Set queue @q up anew as a driver resetting it would: stop it, new rings
 * (on pages of their own) and eventfds, SET_VRING_NUM/BASE/ADDR/KICK/
 * CALL/ERR, buffers, start.
 */
int q_reinit(struct hdev *d, unsigned int q)
{
	struct virtq *vq = VQ(d, q);
	int ret = q_stop(d, q);

	if (ret)
		return FAIL("stop vq %u: %s", q, strerror(-ret));
	virtq_destroy(vq);
	ret = virtq_init(vq, MEM(d), q, d->num, d->features);
	if (!ret)
		ret = virtq_hostile_isolate(vq);
	if (!ret)
		ret = vhost_dev_setup_vq(DEV(d), vq);
	if (!ret && d->kind == K_VSOCK)
		ret = vsock_guest_refill(&d->g, q);
	if (ret)
		return FAIL("set up vq %u: %s", q, strerror(-ret));
	ret = q_start(d, q);
	return ret ? FAIL("start vq %u: %s", q, strerror(-ret)) : 0;
}

static int blk_file(struct hdev *d)
{
	static __u8 buf[BLK_BYTES];
	const char *t = getenv("TMPDIR");

	snprintf(d->path, sizeof(d->path), "%s/vhl-hostile-XXXXXX",
		 t && *t ? t : "/tmp");
	d->bfd = mkstemp(d->path);
	if (d->bfd < 0) {
		d->path[0] = '\0';
		return FAIL("mkstemp: %s", strerror(errno));
	}
	memset(buf, 0x5a, sizeof(buf));
	if (pwrite(d->bfd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		return FAIL("cannot write the backing file");
	return 0;
}

/*
 * Open, own and set up a device of kind @k with its backend; @idx tells
 * devices of one test apart.  Return 0, 1 if the device node is missing,
 * 2 if it is not a vhost-lite device (e.g. $VHOST_NET_DEV=/dev/vhost-net:
 * skip), or -1 (see why).
 */
int hdev_up(struct hdev *d, enum kind k, unsigned int idx)
{
	__u64 offered = 0;
	unsigned int q;
	int ret;

	memset(d, 0, sizeof(*d));
	d->kind = k;
	d->pkt = -1;
	d->tap.fd = -1;
	d->bfd = -1;
	ret = vsock_guest_open(&d->g, kind_path(k));
	if (ret == -ENOENT)
		return 1;
	if (ret)
		return FAIL("open %s: %s", kind_path(k), strerror(-ret));
	d->up = true;
	if (!vhost_fd_is_lite(DEV(d)->fd))
		return 2;
	if (vhost_dev_get_features(DEV(d), &offered))
		return FAIL("GET_FEATURES");
	d->port = 40000 + idx * 1000;

	if (k == K_VSOCK) {
		d->features = V1 | INDIR;
		d->num = VSOCK_GUEST_RING;
		ret = vsock_guest_start(&d->g, CID_BASE + idx, d->features, 0);
		if (ret)
			return FAIL("vsock start: %s", strerror(-ret));
		/* Rings on pages of their own, as for the other kinds. */
		for (q = 0; q < 2; q++)
			if (q_reinit(d, q))
				return -1;
		return 0;
	}

	d->num = RING;
	if (vhost_dev_set_owner(DEV(d)))
		return FAIL("SET_OWNER");
	if (k == K_BLK) {
		if (blk_file(d))
			return -1;
		ret = vhost_blk_set_backend(DEV(d), d->bfd, 0);
		if (ret)
			return FAIL("blk backend: %s", strerror(-ret));
		if (vhost_dev_get_features(DEV(d), &offered))
			return FAIL("GET_FEATURES");
		/* Split rings: the cases write split ring structures. */
		d->features = offered & ~(BIT64(VHOST_F_LOG_ALL) |
					  BIT64(VIRTIO_F_RING_PACKED));
	} else {
		d->features = V1 | INDIR;
	}
	ret = vhost_dev_set_features(DEV(d), d->features);
	if (!ret)
		ret = gmem_init(MEM(d), 8 << 20, GMEM_GPA_BASE_DEFAULT);
	if (!ret)
		ret = vhost_dev_set_mem_gmem(DEV(d), MEM(d), 1);
	for (q = 0; !ret && q < 2; q++) {
		ret = virtq_init(VQ(d, q), MEM(d), q, d->num, d->features);
		if (!ret)
			ret = virtq_hostile_isolate(VQ(d, q));
		if (!ret)
			ret = vhost_dev_setup_vq(DEV(d), VQ(d, q));
	}
	if (ret)
		return FAIL("set up: %s", strerror(-ret));
	if (k == K_BLK)
		return 0;

	ret = tap_open(&d->tap, NULL, IFF_VNET_HDR, NET_HDR);
	if (ret)
		return FAIL("tap: %s", strerror(-ret));
	d->pkt = tap_packet_socket(&d->tap, ETYPE);
	if (d->pkt < 0)
		return FAIL("packet socket: %s", strerror(-d->pkt));
	for (q = 0; q < 2; q++) {
		ret = vhost_net_set_backend(DEV(d), q, d->tap.fd);
		if (ret)
			return FAIL("net backend: %s", strerror(-ret));
	}
	return 0;
}

void hdev_down(struct hdev *d)
{
	if (!d->up)
		return;
	/* The device first: it must not outlive its memory. */
	vsock_guest_close(&d->g);
	if (d->pkt >= 0)
		close(d->pkt);
	tap_close(&d->tap);
	if (d->bfd >= 0)
		close(d->bfd);
	if (d->path[0])
		unlink(d->path);
	d->up = false;
}

/* ---- traffic ---------------------------------------------------------- */

void make_frame(struct hdev *d, __u8 *f)
{
	static const __u8 mac[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	unsigned int i;

	memcpy(f, mac, sizeof(mac));
	f[12] = ETYPE >> 8;
	f[13] = ETYPE & 0xff;
	d->seq++;
	for (i = 14; i < FRAME; i++)
		f[i] = (__u8)(d->seq * 13 + i);
}

/* The frame last made, on the tap within @ms; 1 if it came, 0 if not. */
int tap_got_frame(struct hdev *d, int ms)
{
	__u8 buf[2048];
	ssize_t n;

	do {
		n = tap_packet_recv(d->pkt, buf, sizeof(buf), ms);
		if (n == FRAME && !memcmp(buf, d->frame, FRAME))
			return 1;
	} while (n > 0);
	return 0;
}

/* Next packet for guest port @port with op @op within @ms; 1, 0 or < 0. */
int vsock_got(struct hdev *d, __u16 op, __u32 port, int ms)
{
	struct virtio_vsock_hdr h;
	int n;

	for (;;) {
		n = vsock_guest_recv(&d->g, &h, NULL, 0, ms);
		if (n == -ETIMEDOUT)
			return 0;
		if (n < 0)
			return n;
		if (le16toh(h.op) == op && le32toh(h.dst_port) == port)
			return 1;
	}
}

void vsock_req_hdr(struct hdev *d, struct virtio_vsock_hdr *h, __u32 port)
{
	struct vsock_conn c = {
		.cid = d->g.cid, .port = port, .peer_cid = VMADDR_CID_HOST,
		.peer_port = UNBOUND_PORT, .type = VIRTIO_VSOCK_TYPE_STREAM,
		.buf_alloc = 65536,
	};

	vsock_conn_hdr(&c, h, VIRTIO_VSOCK_OP_REQUEST, 0, 0);
}

static int used_one(struct virtq *vq, void *token, __u32 *len)
{
	__u32 l = 0;

	if (virtq_wait_used(vq, WAIT_MS) != 1)
		return FAIL("vq %u: buffer not used", vq->index);
	if (virtq_get_buf(vq, &l) != token)
		return FAIL("vq %u: unexpected used entry", vq->index);
	if (len)
		*len = l;
	return 0;
}

static int blk_rw(struct hdev *d, unsigned int q)
{
	struct virtq *vq = VQ(d, q);
	struct blk_req r;
	__u8 *data, check[4096];
	__u64 sector = (__u64)q * 8 + (d->seq++ % 64) * 16;
	int st;

	if (blk_req_alloc(&r, MEM(d)))
		return FAIL("arena full");
	data = gmem_alloc(MEM(d), 4096, 4096);
	if (!data)
		return FAIL("arena full");
	memset(data, (int)(d->seq & 0xff), 4096);
	blk_req_prep(&r, VIRTIO_BLK_T_OUT, sector, data, 4096);
	st = blk_req_run(vq, &r, WAIT_MS);
	if (st != VIRTIO_BLK_S_OK)
		return FAIL("blk write on vq %u: %d", q, st);
	if (pread(d->bfd, check, 4096, (off_t)sector * SECT) != 4096 ||
	    memcmp(check, data, 4096))
		return FAIL("blk write on vq %u did not reach the file", q);
	memset(data, 0, 4096);
	blk_req_prep(&r, VIRTIO_BLK_T_IN, sector, data, 4096);
	st = blk_req_run(vq, &r, WAIT_MS);
	if (st != VIRTIO_BLK_S_OK || memcmp(check, data, 4096))
		return FAIL("blk read on vq %u: %d", q, st);
	return 0;
}

/*
 * Traffic through queue @q alone: net TX a frame to the tap, net RX a
 * frame from it; vsock TX a request whose reset comes back on RX (with
 * @rx_ok false only the TX buffer is checked), vsock RX a host connect
 * whose request arrives; blk a write and a read back.
 */
int traffic_q(struct hdev *d, unsigned int q, bool rx_ok)
{
	struct virtq *vq = VQ(d, q);
	int ret, tries;
	__u32 len = 0;
	__u8 *p;

	if (d->kind == K_BLK)
		return blk_rw(d, q);
	if (d->kind == K_VSOCK && q == VSOCK_GUEST_VQ_TX) {
		struct virtio_vsock_hdr h;
		__u32 port = ++d->port;

		vsock_req_hdr(d, &h, port);
		ret = vsock_guest_send_raw(&d->g, &h, sizeof(h));
		if (ret)
			return FAIL("vsock send: %s", strerror(-ret));
		if (vsock_guest_tx_done(&d->g, WAIT_MS) != 1)
			return FAIL("vsock TX buffer not used");
		if (rx_ok && vsock_got(d, VIRTIO_VSOCK_OP_RST, port,
				       WAIT_MS) != 1)
			return FAIL("no reset for port %u", port);
		return 0;
	}
	if (d->kind == K_VSOCK) {
		struct sockaddr_vm sa = {
			.svm_family = AF_VSOCK, .svm_cid = d->g.cid,
			.svm_port = 1234,
		};
		int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK |
				SOCK_CLOEXEC, 0);
		int got;

		if (fd < 0)
			return FAIL("AF_VSOCK socket: %s", strerror(errno));
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    errno != EINPROGRESS) {
			close(fd);
			return FAIL("connect: %s", strerror(errno));
		}
		got = vsock_got(d, VIRTIO_VSOCK_OP_REQUEST, 1234, WAIT_MS);
		close(fd);
		return got == 1 ? 0 : FAIL("host request not received");
	}
	if (q == NET_VQ_TX) {
		p = gmem_alloc(MEM(d), NET_HDR + FRAME, 64);
		if (!p)
			return FAIL("arena full");
		make_frame(d, d->frame);
		memcpy(p + NET_HDR, d->frame, FRAME);
		ret = virtq_add_outbuf(vq, p, NET_HDR + FRAME, p);
		if (!ret)
			ret = virtq_kick(vq) < 0 ? -EIO : 0;
		if (ret)
			return FAIL("TX add: %s", strerror(-ret));
		if (!tap_got_frame(d, WAIT_MS))
			return FAIL("TX frame not on the tap");
		return used_one(vq, p, NULL);
	}
	p = gmem_alloc(MEM(d), 2048, 64);
	if (!p)
		return FAIL("arena full");
	ret = virtq_add_inbuf(vq, p, 2048, p);
	if (!ret)
		ret = virtq_kick(vq) < 0 ? -EIO : 0;
	if (ret)
		return FAIL("RX add: %s", strerror(-ret));
	make_frame(d, d->frame);
	if (tap_packet_send(d->pkt, &d->tap, d->frame, FRAME) != FRAME)
		return FAIL("tap send: %s", strerror(errno));
	/* Frames a broken RX queue left in the tap come first: skip them. */
	for (tries = 0; tries < 8; tries++) {
		if (used_one(vq, p, &len))
			return -1;
		if (len == NET_HDR + FRAME &&
		    !memcmp(p + NET_HDR, d->frame, FRAME))
			return 0;
		if (virtq_add_inbuf(vq, p, 2048, p) || virtq_kick(vq) < 0)
			return FAIL("RX add again");
	}
	return FAIL("RX frame corrupted (%u bytes)", len);
}

/*
 * Traffic through both queues.  vsock: a request and its reset cover TX
 * and RX; no host socket is involved (a host socket holds a reference to
 * the module for a while after it is closed, which would blur the
 * refcount checks).
 */
int traffic(struct hdev *d)
{
	if (traffic_q(d, aq(d), true))
		return -1;
	if (d->kind == K_VSOCK)
		return 0;
	return traffic_q(d, other_q(d, aq(d)), true);
}
