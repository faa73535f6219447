// SPDX-License-Identifier: GPL-2.0
/*
 * Guest side of a virtio-vsock device (see vsock_pkt.h).
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "vsock_pkt.h"

/* Room for one byte more than the device accepts, for hostile tests. */
#define TXBUF_SIZE	(sizeof(struct virtio_vsock_hdr) + \
			 VSOCK_GUEST_MAX_PAYLOAD + 64)
/* Rings and buffers, with room to spare. */
#define ARENA_SIZE	(TXBUF_SIZE * VSOCK_GUEST_RING + (4UL << 20))

static void *slot_token(unsigned int i)
{
	return (void *)(uintptr_t)(i + 1);
}

static unsigned int token_slot(void *token)
{
	return (unsigned int)((uintptr_t)token - 1);
}

/**
 * vsock_guest_open() - open a vhost-vsock device, nothing else
 * @g: guest
 * @path: device node, e.g. vhost_vsock_dev_path()
 *
 * Return: 0 or a negative errno (-ENOENT: no such node).
 */
int vsock_guest_open(struct vsock_guest *g, const char *path)
{
	int i;

	memset(g, 0, sizeof(*g));
	g->mem.memfd = -1;
	for (i = 0; i < 2; i++) {
		g->vq[i].kick_fd = -1;
		g->vq[i].call_fd = -1;
		g->vq[i].err_fd = -1;
	}
	return vhost_dev_open(&g->dev, path);
}

static int post_rxbuf(struct vsock_guest *g, unsigned int i)
{
	return virtq_add_inbuf(&g->vq[VSOCK_GUEST_VQ_RX],
			       g->rxbufs + (size_t)i * g->rxbuf_size,
			       g->rxbuf_size, slot_token(i));
}

/**
 * vsock_guest_start() - set the device up as a guest driver would
 * @g: guest, opened
 * @cid: guest CID
 * @features: features to acknowledge
 * @rxbuf_size: bytes per RX buffer (header included), 0 for the default
 *
 * SET_OWNER, SET_FEATURES, the memory table, both rings with every RX
 * buffer posted, SET_GUEST_CID, SET_RUNNING 1.
 *
 * Return: 0 or the first negative errno.
 */
int vsock_guest_start(struct vsock_guest *g, __u64 cid, __u64 features,
		      __u32 rxbuf_size)
{
	unsigned int i;
	int ret;

	g->rxbuf_size = rxbuf_size ? rxbuf_size : VSOCK_GUEST_RXBUF;
	if (g->rxbuf_size < sizeof(struct virtio_vsock_hdr))
		return -EINVAL;
	ret = vhost_dev_set_owner(&g->dev);
	if (!ret)
		ret = vhost_dev_set_features(&g->dev, features);
	if (ret)
		return ret;
	g->features = features;
	ret = gmem_init(&g->mem, ARENA_SIZE + (size_t)g->rxbuf_size *
			VSOCK_GUEST_RING, GMEM_GPA_BASE_DEFAULT);
	if (ret)
		return ret;
	ret = vhost_dev_set_mem_gmem(&g->dev, &g->mem, 1);
	if (ret)
		return ret;
	for (i = 0; i < 2; i++) {
		ret = virtq_init(&g->vq[i], &g->mem, i, VSOCK_GUEST_RING,
				 features);
		if (!ret)
			ret = vhost_dev_setup_vq(&g->dev, &g->vq[i]);
		if (ret)
			return ret;
	}
	g->rxbufs = gmem_alloc(&g->mem, (size_t)g->rxbuf_size *
			       VSOCK_GUEST_RING, 64);
	g->txbufs = gmem_alloc(&g->mem, TXBUF_SIZE * VSOCK_GUEST_RING, 64);
	if (!g->rxbufs || !g->txbufs)
		return -ENOMEM;
	for (i = 0; i < VSOCK_GUEST_RING; i++) {
		ret = post_rxbuf(g, i);
		if (ret)
			return ret;
		g->tx_free[i] = VSOCK_GUEST_RING - 1 - i;
	}
	g->tx_nfree = VSOCK_GUEST_RING;
	ret = virtq_kick(&g->vq[VSOCK_GUEST_VQ_RX]);
	if (ret < 0)
		return ret;
	ret = vhost_vsock_set_guest_cid(&g->dev, cid);
	if (ret)
		return ret;
	g->cid = cid;
	return vhost_vsock_set_running(&g->dev, 1);
}

/**
 * vsock_guest_close() - close the device, then free the guest's memory
 * @g: guest
 */
void vsock_guest_close(struct vsock_guest *g)
{
	int i;

	vhost_dev_close(&g->dev);
	for (i = 0; i < 2; i++)
		virtq_destroy(&g->vq[i]);
	gmem_destroy(&g->mem);
}

/* Take back the TX buffers the device used. */
static void reclaim_tx(struct vsock_guest *g)
{
	struct virtq *vq = &g->vq[VSOCK_GUEST_VQ_TX];
	void *token;
	__u32 len;

	while ((token = virtq_get_buf(vq, &len)))
		g->tx_free[g->tx_nfree++] = token_slot(token);
}

/**
 * vsock_guest_tx_done() - wait until the device used every TX buffer
 * @g: guest
 * @timeout_ms: bound of the wait
 *
 * Return: 1 when all are back, 0 on timeout, or a negative errno.
 */
int vsock_guest_tx_done(struct vsock_guest *g, int timeout_ms)
{
	int ret;

	for (;;) {
		reclaim_tx(g);
		if (g->tx_nfree == VSOCK_GUEST_RING)
			return 1;
		ret = virtq_wait_used(&g->vq[VSOCK_GUEST_VQ_TX], timeout_ms);
		if (ret <= 0)
			return ret;
	}
}

/**
 * vsock_guest_send_raw() - put any bytes on the TX queue as one packet
 * @g: guest, started
 * @buf: the packet, header first (or not: hostile tests)
 * @len: its length, at most a header, VSOCK_GUEST_MAX_PAYLOAD and 64
 *
 * Waits (bounded, 5 s) for a free TX buffer if all are in flight.
 *
 * Return: 0 or a negative errno (-ETIMEDOUT: the device took none back).
 */
int vsock_guest_send_raw(struct vsock_guest *g, const void *buf, size_t len)
{
	struct virtq *vq = &g->vq[VSOCK_GUEST_VQ_TX];
	unsigned int i;
	__u8 *p;
	int ret;

	if (len > TXBUF_SIZE)
		return -EMSGSIZE;
	reclaim_tx(g);
	if (!g->tx_nfree) {
		ret = virtq_wait_used(vq, 5000);
		if (ret < 0)
			return ret;
		reclaim_tx(g);
		if (!g->tx_nfree)
			return -ETIMEDOUT;
	}
	i = g->tx_free[--g->tx_nfree];
	p = g->txbufs + (size_t)i * TXBUF_SIZE;
	memcpy(p, buf, len);
	ret = virtq_add_outbuf(vq, p, len, slot_token(i));
	if (ret) {
		g->tx_free[g->tx_nfree++] = i;
		return ret;
	}
	ret = virtq_kick(vq);
	return ret < 0 ? ret : 0;
}

/**
 * vsock_guest_send() - send a header and its payload (le32 hdr->len bytes)
 * @g: guest, started
 * @hdr: header, little endian as on the wire
 * @payload: le32toh(hdr->len) bytes, or NULL when that is 0
 *
 * Return: 0 or a negative errno.
 */
int vsock_guest_send(struct vsock_guest *g, const struct virtio_vsock_hdr *hdr,
		     const void *payload)
{
	static __u8 pkt[TXBUF_SIZE];
	size_t len = le32toh(hdr->len);

	if (len > VSOCK_GUEST_MAX_PAYLOAD)
		return -EMSGSIZE;
	memcpy(pkt, hdr, sizeof(*hdr));
	if (len)
		memcpy(pkt + sizeof(*hdr), payload, len);
	return vsock_guest_send_raw(g, pkt, sizeof(*hdr) + len);
}

/**
 * vsock_guest_recv() - take the next packet the device put in an RX buffer
 * @g: guest, started
 * @hdr: the packet's header (little endian, as written by the device)
 * @payload: room for the payload, or NULL to drop it
 * @max: size of @payload
 * @timeout_ms: bound of the wait
 *
 * The buffer is posted again at once.
 *
 * Return: the payload length written by the device (it may exceed @max;
 * only @max bytes are copied), -ETIMEDOUT, -EPROTO for a used length the
 * buffer cannot hold or that disagrees with the header, or a negative
 * errno.
 */
int vsock_guest_recv(struct vsock_guest *g, struct virtio_vsock_hdr *hdr,
		     void *payload, size_t max, int timeout_ms)
{
	struct virtq *vq = &g->vq[VSOCK_GUEST_VQ_RX];
	unsigned int i;
	void *token;
	__u32 used, plen;
	__u8 *buf;
	int ret;

	ret = virtq_wait_used(vq, timeout_ms);
	if (ret < 0)
		return ret;
	if (!ret)
		return -ETIMEDOUT;
	token = virtq_get_buf(vq, &used);
	if (!token)
		return -EPROTO;
	i = token_slot(token);
	buf = g->rxbufs + (size_t)i * g->rxbuf_size;
	ret = -EPROTO;
	if (used >= sizeof(*hdr) && used <= g->rxbuf_size) {
		memcpy(hdr, buf, sizeof(*hdr));
		plen = le32toh(hdr->len);
		if (plen == used - sizeof(*hdr)) {
			if (payload)
				memcpy(payload, buf + sizeof(*hdr),
				       plen < max ? plen : max);
			ret = (int)plen;
		}
	}
	if (post_rxbuf(g, i) || virtq_kick(vq) < 0)
		return -EIO;
	return ret;
}

/**
 * vsock_conn_hdr() - a header for a packet of connection @c
 * @c: connection
 * @hdr: filled in, little endian
 * @op: VIRTIO_VSOCK_OP_*
 * @flags: op-specific flags
 * @len: payload length
 */
void vsock_conn_hdr(const struct vsock_conn *c, struct virtio_vsock_hdr *hdr,
		    __u16 op, __u32 flags, __u32 len)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->src_cid = htole64(c->cid);
	hdr->dst_cid = htole64(c->peer_cid);
	hdr->src_port = htole32(c->port);
	hdr->dst_port = htole32(c->peer_port);
	hdr->len = htole32(len);
	hdr->type = htole16(c->type);
	hdr->op = htole16(op);
	hdr->flags = htole32(flags);
	hdr->buf_alloc = htole32(c->buf_alloc);
	hdr->fwd_cnt = htole32(c->fwd_cnt);
}

/**
 * vsock_conn_send() - send a packet of connection @c
 * @g: guest
 * @c: connection; tx_cnt grows by @len for OP_RW
 * @op: VIRTIO_VSOCK_OP_*
 * @flags: op-specific flags
 * @payload: @len bytes
 * @len: payload length
 *
 * Return: 0 or a negative errno.
 */
int vsock_conn_send(struct vsock_guest *g, struct vsock_conn *c, __u16 op,
		    __u32 flags, const void *payload, __u32 len)
{
	struct virtio_vsock_hdr hdr;
	int ret;

	vsock_conn_hdr(c, &hdr, op, flags, len);
	ret = vsock_guest_send(g, &hdr, payload);
	if (!ret && op == VIRTIO_VSOCK_OP_RW)
		c->tx_cnt += len;
	return ret;
}

/**
 * vsock_conn_update() - learn the host's credit from one of its packets
 * @c: connection
 * @hdr: a header the host sent on @c
 */
void vsock_conn_update(struct vsock_conn *c, const struct virtio_vsock_hdr *hdr)
{
	c->peer_buf_alloc = le32toh(hdr->buf_alloc);
	c->peer_fwd_cnt = le32toh(hdr->fwd_cnt);
}

/**
 * vsock_conn_credit() - payload bytes the host can take now
 * @c: connection
 */
__u32 vsock_conn_credit(const struct vsock_conn *c)
{
	return c->peer_buf_alloc - (c->tx_cnt - c->peer_fwd_cnt);
}

/**
 * vsock_guest_refill() - give a re-initialised virtqueue its buffers again
 * @g: guest, started
 * @idx: VSOCK_GUEST_VQ_RX or VSOCK_GUEST_VQ_TX
 *
 * For tests that set one virtqueue up anew (virtq_init() and
 * vhost_dev_setup_vq() on g->vq[@idx], e.g. after a hostile ring broke
 * it): RX gets every RX buffer posted and kicked, TX has every TX buffer
 * free again.  Buffers the old ring still held are forgotten.
 *
 * Return: 0 or a negative errno.
 */
int vsock_guest_refill(struct vsock_guest *g, unsigned int idx)
{
	unsigned int i;
	int ret;

	if (idx == VSOCK_GUEST_VQ_TX) {
		for (i = 0; i < VSOCK_GUEST_RING; i++)
			g->tx_free[i] = VSOCK_GUEST_RING - 1 - i;
		g->tx_nfree = VSOCK_GUEST_RING;
		return 0;
	}
	if (idx != VSOCK_GUEST_VQ_RX)
		return -EINVAL;
	for (i = 0; i < VSOCK_GUEST_RING; i++) {
		ret = post_rxbuf(g, i);
		if (ret)
			return ret;
	}
	ret = virtq_kick(&g->vq[VSOCK_GUEST_VQ_RX]);
	return ret < 0 ? ret : 0;
}
