/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest side of a virtio-vsock device, for tests that play the guest of
 * a vhost-vsock device (/dev/vhost-vsock-lite).
 *
 * A struct vsock_guest owns the device, the guest memory and both
 * virtqueues (0 RX: host -> guest, 1 TX: guest -> host); it keeps every
 * RX buffer posted and recycles TX buffers as the device uses them.
 * Packets are raw virtio-vsock packets (struct virtio_vsock_hdr, then the
 * payload): the caller plays the guest's vsock protocol itself, with the
 * help of struct vsock_conn for the fields of one connection.
 */
#ifndef VHL_VSOCK_PKT_H
#define VHL_VSOCK_PKT_H

#include <stddef.h>
#include <linux/types.h>
#include <linux/virtio_vsock.h>

#include "guest_mem.h"
#include "vhost_dev.h"
#include "virtq.h"

#define VSOCK_GUEST_VQ_RX	0
#define VSOCK_GUEST_VQ_TX	1
#define VSOCK_GUEST_RING	128
/* Largest payload the device accepts in one packet (as in-tree). */
#define VSOCK_GUEST_MAX_PAYLOAD	(64 * 1024)
/* Default RX buffer, header included: one page, like Linux's driver. */
#define VSOCK_GUEST_RXBUF	4096

/**
 * struct vsock_guest - one guest of a vhost-vsock device
 * @dev: the device
 * @mem: guest memory: rings, RX and TX buffers
 * @vq: RX and TX virtqueues
 * @cid: the guest's CID (0 before vsock_guest_start())
 * @features: negotiated features
 * @rxbuf_size: bytes per RX buffer, header included
 * @rxbufs: VSOCK_GUEST_RING RX buffers
 * @txbufs: VSOCK_GUEST_RING TX buffers of a header and the largest payload
 * @tx_free: free TX buffer indexes, @tx_nfree of them
 * @tx_nfree: number of entries in @tx_free
 */
struct vsock_guest {
	struct vhost_dev dev;
	struct gmem mem;
	struct virtq vq[2];
	__u64 cid;
	__u64 features;
	__u32 rxbuf_size;
	__u8 *rxbufs;
	__u8 *txbufs;
	unsigned int tx_free[VSOCK_GUEST_RING];
	unsigned int tx_nfree;
};

/**
 * struct vsock_conn - the guest's view of one connection
 * @cid: guest CID (source of what we send)
 * @port: guest port
 * @peer_cid: host CID
 * @peer_port: host port
 * @type: VIRTIO_VSOCK_TYPE_STREAM or _SEQPACKET
 * @buf_alloc: receive buffer we advertise
 * @fwd_cnt: payload bytes we consumed (advertised)
 * @tx_cnt: payload bytes we sent
 * @peer_buf_alloc: the host's receive buffer, from its last packet
 * @peer_fwd_cnt: what the host consumed, from its last packet
 */
struct vsock_conn {
	__u64 cid;
	__u32 port;
	__u64 peer_cid;
	__u32 peer_port;
	__u16 type;
	__u32 buf_alloc;
	__u32 fwd_cnt;
	__u32 tx_cnt;
	__u32 peer_buf_alloc;
	__u32 peer_fwd_cnt;
};

int vsock_guest_open(struct vsock_guest *g, const char *path);
int vsock_guest_start(struct vsock_guest *g, __u64 cid, __u64 features,
		      __u32 rxbuf_size);
void vsock_guest_close(struct vsock_guest *g);

int vsock_guest_send_raw(struct vsock_guest *g, const void *buf, size_t len);
int vsock_guest_send(struct vsock_guest *g, const struct virtio_vsock_hdr *hdr,
		     const void *payload);
int vsock_guest_recv(struct vsock_guest *g, struct virtio_vsock_hdr *hdr,
		     void *payload, size_t max, int timeout_ms);
int vsock_guest_tx_done(struct vsock_guest *g, int timeout_ms);
int vsock_guest_refill(struct vsock_guest *g, unsigned int idx);

void vsock_conn_hdr(const struct vsock_conn *c, struct virtio_vsock_hdr *hdr,
		    __u16 op, __u32 flags, __u32 len);
int vsock_conn_send(struct vsock_guest *g, struct vsock_conn *c, __u16 op,
		    __u32 flags, const void *payload, __u32 len);
void vsock_conn_update(struct vsock_conn *c,
		       const struct virtio_vsock_hdr *hdr);
__u32 vsock_conn_credit(const struct vsock_conn *c);

#endif /* VHL_VSOCK_PKT_H */
