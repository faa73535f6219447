/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost_net_lite: state shared between the files of the module.
 *
 * One open file of /dev/vhost-net-lite is one virtio-net queue pair: an RX
 * virtqueue (index 0, socket -> guest) and a TX virtqueue (index 1, guest ->
 * socket), each with its own socket backend.
 */
#ifndef _VHL_NET_H
#define _VHL_NET_H

#include <linux/net.h>
#include <linux/uio.h>
#include <linux/virtio_net.h>
#include <net/xdp.h>

#include "vhost_lite.h"

enum {
	VHL_NET_VQ_RX = 0,
	VHL_NET_VQ_TX = 1,
	VHL_NET_VQ_MAX = 2,
};

/* Bytes a handler moves before it lets other work run (as in-tree). */
#define VHL_NET_WEIGHT 0x80000
/* Packets a handler moves before it lets other work run. */
#define VHL_NET_PKT_WEIGHT 256
/* Used entries published before the guest gets an interrupt. */
#define VHL_NET_SIGNAL_BATCH 64
/* TX frames handed to a tun backend in one sendmsg() (net_tx_batch.c). */
#define VHL_NET_TX_BATCH 64
/*
 * iovecs per virtqueue: a TX chain, or all the RX chains one packet is
 * merged into.  The slack leaves room for the chain that crosses
 * UIO_MAXIOV, see vhl_net_rx_get_bufs().
 */
#define VHL_NET_IOV_SLACK 64
#define VHL_NET_IOV_MAX (UIO_MAXIOV + VHL_NET_IOV_SLACK)

/* Features offered on top of the core's. */
#define VHL_NET_FEATURES (VHL_FEATURES | \
			  BIT_ULL(VHOST_NET_F_VIRTIO_NET_HDR) | \
			  BIT_ULL(VIRTIO_NET_F_MRG_RXBUF))

/**
 * enum vhl_net_backend_kind - what kind of socket a virtqueue is attached to
 * @VHL_NET_BACKEND_NONE: no backend
 * @VHL_NET_BACKEND_TAP: a tun/tap file (or macvtap/ipvtap)
 * @VHL_NET_BACKEND_PACKET: an AF_PACKET SOCK_RAW socket
 */
enum vhl_net_backend_kind {
	VHL_NET_BACKEND_NONE,
	VHL_NET_BACKEND_TAP,
	VHL_NET_BACKEND_PACKET,
};

/**
 * struct vhl_net_vq - a virtqueue of the net device and its socket
 * @vq: the core's virtqueue; its backend is the struct socket
 * @sock_poll: wakes the worker when the socket is readable (RX) or
 *	writable (TX)
 * @kind: kind of the backend socket, for fdinfo
 * @tun: the backend is a tun socket (TX frames may be batched)
 * @vhost_hlen: virtio-net header length vhost adds (RX) or strips (TX)
 *	itself (VHOST_NET_F_VIRTIO_NET_HDR negotiated), else 0
 * @sock_hlen: virtio-net header length the socket adds or parses itself
 *	(tap with IFF_VNET_HDR), else 0; one of the two lengths is 0
 * @iov: scratch iovecs for descriptor chains
 * @heads: used entries of the packet being received (RX), of the batch
 *	(TX)
 * @batched: frames in @xdp, their chains in @heads (TX; 0 outside the
 *	TX handler)
 * @xdp: the TX batch, tun's XDP buffers
 *
 * Everything below @sock_poll is protected by vq.mutex.
 */
struct vhl_net_vq {
	struct vhl_virtqueue vq;
	struct vhl_poll sock_poll;
	enum vhl_net_backend_kind kind;
	bool tun;
	size_t vhost_hlen;
	size_t sock_hlen;
	struct iovec iov[VHL_NET_IOV_MAX];
	struct vhl_used_elem heads[UIO_MAXIOV];
	unsigned int batched;
	struct xdp_buff xdp[VHL_NET_TX_BATCH];
};

/**
 * struct vhl_net - one open /dev/vhost-net-lite
 * @dev: the core's device
 * @vqs: the RX and TX virtqueues
 * @vq_ptrs: pointers to @vqs[i].vq, as the core wants them
 */
struct vhl_net {
	struct vhl_dev dev;
	struct vhl_net_vq vqs[VHL_NET_VQ_MAX];
	struct vhl_virtqueue *vq_ptrs[VHL_NET_VQ_MAX];
};

static inline struct vhl_net_vq *vhl_net_vq(struct vhl_virtqueue *vq)
{
	return container_of(vq, struct vhl_net_vq, vq);
}

/**
 * vhl_net_update_hlens() - derive the header lengths from the features
 * @nvq: the virtqueue
 *
 * The header is 12 bytes (struct virtio_net_hdr_mrg_rxbuf) with
 * VIRTIO_NET_F_MRG_RXBUF or VIRTIO_F_VERSION_1, else 10.  vhost handles it
 * when VHOST_NET_F_VIRTIO_NET_HDR is negotiated, else the socket does.
 *
 * Context: vq.mutex held.
 */
static inline void vhl_net_update_hlens(struct vhl_net_vq *nvq)
{
	struct vhl_virtqueue *vq = &nvq->vq;
	size_t hlen;

	if (vhl_has_feature(vq, VIRTIO_NET_F_MRG_RXBUF) ||
	    vhl_has_feature(vq, VIRTIO_F_VERSION_1))
		hlen = sizeof(struct virtio_net_hdr_mrg_rxbuf);
	else
		hlen = sizeof(struct virtio_net_hdr);

	/* fdinfo reads them locklessly. */
	if (vhl_has_feature(vq, VHOST_NET_F_VIRTIO_NET_HDR)) {
		WRITE_ONCE(nvq->vhost_hlen, hlen);
		WRITE_ONCE(nvq->sock_hlen, 0);
	} else {
		WRITE_ONCE(nvq->vhost_hlen, 0);
		WRITE_ONCE(nvq->sock_hlen, hlen);
	}
}

/* net_sock.c */
long vhl_net_set_backend(struct vhl_net *n, unsigned int index, int fd);
struct socket *vhl_net_detach(struct vhl_net_vq *nvq);

/* net_tx.c, net_tx_batch.c */
bool vhl_net_tx_can_batch(struct vhl_net_vq *nvq, struct socket *sock);
int vhl_net_tx_batch_add(struct vhl_net_vq *nvq, unsigned int out,
			 size_t len, int head);
int vhl_net_tx_batch_flush(struct vhl_net_vq *nvq, struct socket *sock,
			   unsigned int *pending);
void vhl_net_handle_tx_kick(struct vhl_work *work);
void vhl_net_handle_tx_sock(struct vhl_work *work);

/* net_rx.c */
void vhl_net_handle_rx_kick(struct vhl_work *work);
void vhl_net_handle_rx_sock(struct vhl_work *work);

#endif /* _VHL_NET_H */
