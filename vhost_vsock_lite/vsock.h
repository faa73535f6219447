/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost_vsock_lite: state shared between the files of the module.
 *
 * One open file of /dev/vhost-vsock-lite is one guest's virtio-vsock
 * device: an RX virtqueue (index 0, host -> guest) and a TX virtqueue
 * (index 1, guest -> host).  The event virtqueue stays in QEMU.  The
 * packets themselves are the socket buffers of the kernel's virtio vsock
 * library (virtio_transport_common), which implements the protocol; this
 * module moves them between the library and the guest's rings.
 */
#ifndef _VHL_VSOCK_H
#define _VHL_VSOCK_H

#include <linux/atomic.h>
#include <linux/skbuff.h>
#include <linux/types.h>
#include <linux/uio.h>
#include <linux/virtio_vsock.h>

#include "vhost_lite.h"

enum {
	VHL_VSOCK_VQ_RX = 0,
	VHL_VSOCK_VQ_TX = 1,
	VHL_VSOCK_VQ_MAX = 2,
};

/* The host's CID, as with the in-tree vhost_vsock. */
#define VHL_VSOCK_HOST_CID VMADDR_CID_HOST
/* Bytes a handler moves before it lets other work run (as in-tree). */
#define VHL_VSOCK_WEIGHT 0x80000
/* Packets a handler moves before it lets other work run. */
#define VHL_VSOCK_PKT_WEIGHT 256
/* Largest chain (header + payload) the guest may send, as in-tree. */
#define VHL_VSOCK_MAX_PKT (VIRTIO_VSOCK_SKB_HEADROOM + \
			   VIRTIO_VSOCK_MAX_PKT_BUF_SIZE)

/* Features offered on top of the core's. */
#define VHL_VSOCK_FEATURES (VHL_FEATURES | BIT_ULL(VIRTIO_VSOCK_F_SEQPACKET))

/**
 * struct vhl_vsock_stats - per-device counters, exported through fdinfo
 * @malformed: guest packets dropped for a bad header or chain
 * @misaddressed: guest packets dropped for a wrong source or destination
 * @nomem: guest packets dropped because no buffer could be allocated
 *
 * Written by the worker with the TX vq mutex held, read locklessly.
 */
struct vhl_vsock_stats {
	u64 malformed;
	u64 misaddressed;
	u64 nomem;
};

/**
 * struct vhl_vsock_vq - a virtqueue of the vsock device
 * @vq: the core's virtqueue; its backend is the struct vhl_vsock once
 *	VHOST_VSOCK_SET_RUNNING started the device
 * @iov: scratch iovecs for one descriptor chain
 */
struct vhl_vsock_vq {
	struct vhl_virtqueue vq;
	struct iovec iov[UIO_MAXIOV];
};

/**
 * struct vhl_vsock - one open /dev/vhost-vsock-lite
 * @dev: the core's device
 * @vqs: the RX and TX virtqueues
 * @vq_ptrs: pointers to @vqs[i].vq, as the core wants them
 * @hash: link in the CID table, while @guest_cid is set
 * @send_pkt_work: moves @send_pkt_queue into the RX virtqueue
 * @send_pkt_queue: packets from host sockets waiting for guest buffers
 * @queued_replies: packets in @send_pkt_queue that answer guest packets;
 *	TX stops while there are as many as the TX ring has entries, so a
 *	guest that does not take its RX buffers cannot grow the queue
 * @guest_cid: the guest's CID, 0 before VHOST_VSOCK_SET_GUEST_CID
 * @seqpacket_allow: VIRTIO_VSOCK_F_SEQPACKET was negotiated
 * @running: VHOST_VSOCK_SET_RUNNING started the device (for fdinfo)
 * @stats: drop counters
 */
struct vhl_vsock {
	struct vhl_dev dev;
	struct vhl_vsock_vq vqs[VHL_VSOCK_VQ_MAX];
	struct vhl_virtqueue *vq_ptrs[VHL_VSOCK_VQ_MAX];
	struct hlist_node hash;
	struct vhl_work send_pkt_work;
	struct sk_buff_head send_pkt_queue;
	atomic_t queued_replies;
	u32 guest_cid;
	bool seqpacket_allow;
	bool running;
	struct vhl_vsock_stats stats;
};

/* vsock.c */
extern struct virtio_transport vhl_vsock_transport;
struct vhl_vsock *vhl_vsock_get(u32 guest_cid);

/* vsock_tx.c: guest -> host */
void vhl_vsock_handle_tx_kick(struct vhl_work *work);

/* vsock_rx.c: host -> guest */
int vhl_vsock_send_pkt(struct sk_buff *skb);
int vhl_vsock_cancel_pkt(struct vsock_sock *vsk);
void vhl_vsock_handle_rx_kick(struct vhl_work *work);
void vhl_vsock_send_pkt_work(struct vhl_work *work);

#endif /* _VHL_VSOCK_H */
