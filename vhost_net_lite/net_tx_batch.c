// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_net_lite TX batching for tun backends.  Each frame is copied from
 * the guest into a page fragment of its own, laid out the way tun's XDP
 * input wants it (struct tun_xdp_hdr, headroom, the frame, room for
 * skb_shared_info), and up to VHL_NET_TX_BATCH of them go to tun in one
 * sendmsg(TUN_MSG_PTR), which builds the skbs around the fragments: one
 * call into tun per batch instead of per frame.
 *
 * Only small frames are batched.  Measured in one test VM boot (TCG, five
 * rounds each, Mpps): 64-byte frames 0.233 per frame, 0.275 batched;
 * 1500-byte frames 0.128 per frame, 0.105 batched (the in-tree vhost_net,
 * which batches both: 0.269 and 0.114).  The cut between, at
 * VHL_NET_TX_BATCH_FRAME, is not measured finer than that.
 *
 * tun does not charge those skbs to the socket's send buffer, so a socket
 * with a send buffer limit (TUNSETSNDBUF) is not batched: it keeps the
 * per-frame sendmsg() and its backpressure.  Bigger frames take the
 * per-frame path too, after the batch before them.
 */
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/skbuff.h>
#include <linux/virtio_net.h>
#include <net/sock.h>
#include <net/xdp.h>

#include "net.h"

/* Headroom in front of the frame, as tun leaves for its own skbs. */
#define VHL_NET_TX_HEADROOM (NET_SKB_PAD + NET_IP_ALIGN)
/* The biggest frame (without the virtio-net header) that is batched. */
#define VHL_NET_TX_BATCH_FRAME 256

/**
 * vhl_net_tx_can_batch() - may TX frames to @sock go through the batch?
 * @nvq: the TX virtqueue
 * @sock: its backend
 *
 * Context: vq->mutex held.
 * Return: true for a tun socket without a send buffer limit.
 */
bool vhl_net_tx_can_batch(struct vhl_net_vq *nvq, struct socket *sock)
{
	return nvq->tun && READ_ONCE(sock->sk->sk_sndbuf) == INT_MAX;
}

/*
 * A checksum request whose field lies beyond the header length the guest
 * gives: stretch the length over it, as tun does for a frame it copies
 * itself.  Return: false if the header claims more than the frame holds.
 */
static bool vhl_net_tx_fix_hdr(struct vhl_virtqueue *vq,
			       struct virtio_net_hdr *gso, size_t frame)
{
	bool le = vhl_vq_is_le(vq);
	u32 end;

	if (gso->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		end = (u32)__virtio16_to_cpu(le, gso->csum_start) +
		      __virtio16_to_cpu(le, gso->csum_offset) + 2;
		if (end > __virtio16_to_cpu(le, gso->hdr_len))
			gso->hdr_len = __cpu_to_virtio16(le, end);
	}
	return __virtio16_to_cpu(le, gso->hdr_len) <= frame;
}

/**
 * vhl_net_tx_batch_add() - copy a TX chain's frame into the batch
 * @nvq: the TX virtqueue, with room in its batch
 * @out: iovecs of the chain in @nvq->iov
 * @len: bytes in them, at least @nvq->vhost_hlen
 * @head: the chain's head, used once the batch is sent
 *
 * Context: vq->mutex held; the worker (the guest's mm).
 * Return: 0 if batched; -ENOSPC if the frame is bigger than
 * VHL_NET_TX_BATCH_FRAME and -ENOMEM if no fragment could be had (send it
 * on its own); -EINVAL or -EFAULT if it is malformed (shorter than an
 * Ethernet header, or a header claiming more than the frame) or unreadable
 * (drop it).
 */
int vhl_net_tx_batch_add(struct vhl_net_vq *nvq, unsigned int out,
			 size_t len, int head)
{
	struct xdp_buff *xdp = &nvq->xdp[nvq->batched];
	size_t hlen = nvq->sock_hlen, frame, pad, buflen;
	struct tun_xdp_hdr *hdr;
	struct iov_iter from;
	int err = -EFAULT;
	u8 *buf;

	if (unlikely(len - nvq->vhost_hlen < hlen))
		return -EINVAL;
	frame = len - nvq->vhost_hlen - hlen;
	if (frame > VHL_NET_TX_BATCH_FRAME)
		return -ENOSPC;
	/* tun would drop it too, unseen by the packet counter: drop it here. */
	if (unlikely(frame < ETH_HLEN))
		return -EINVAL;
	/* The guest's header (up to 12 bytes) is read into hdr->gso. */
	pad = SKB_DATA_ALIGN(sizeof(*hdr) + hlen + VHL_NET_TX_HEADROOM);
	buflen = SKB_DATA_ALIGN(pad + frame) +
		 SKB_DATA_ALIGN(sizeof(struct skb_shared_info));
	buf = netdev_alloc_frag_align(buflen, SMP_CACHE_BYTES);
	if (unlikely(!buf))
		return -ENOMEM;

	hdr = (struct tun_xdp_hdr *)buf;
	memset(hdr, 0, sizeof(*hdr));
	iov_iter_init(&from, VHL_ITER_SOURCE, nvq->iov, out, len);
	iov_iter_advance(&from, nvq->vhost_hlen);
	if (copy_from_iter(buf + offsetof(struct tun_xdp_hdr, gso), hlen,
			   &from) != hlen)
		goto err_free_frag;
	if (hlen && !vhl_net_tx_fix_hdr(&nvq->vq, &hdr->gso, frame)) {
		err = -EINVAL;
		goto err_free_frag;
	}
	if (copy_from_iter(buf + pad, frame, &from) != frame)
		goto err_free_frag;

	hdr->buflen = buflen;
	xdp_init_buff(xdp, buflen, NULL);
	xdp_prepare_buff(xdp, buf, pad, frame, true);
	nvq->heads[nvq->batched].id = head;
	nvq->heads[nvq->batched].len = 0;
	nvq->batched++;
	return 0;

err_free_frag:
	skb_free_frag(buf);
	return err;
}

/**
 * vhl_net_tx_batch_flush() - hand the batch to tun and use its chains
 * @nvq: the TX virtqueue
 * @sock: its backend, a tun socket
 * @pending: used entries not signalled yet; the guest is signalled when
 *	they reach VHL_NET_SIGNAL_BATCH
 *
 * tun takes every fragment (into an skb, or it frees it); only if it is
 * detached from its device does it take none, and the frames are dropped
 * here, as a NIC would.
 *
 * Context: vq->mutex held; the worker.
 * Return: 0, or the error of writing the used entries.
 */
int vhl_net_tx_batch_flush(struct vhl_net_vq *nvq, struct socket *sock,
			   unsigned int *pending)
{
	struct tun_msg_ctl ctl = {
		.type = TUN_MSG_PTR,
		.num = nvq->batched,
		.ptr = nvq->xdp,
	};
	struct msghdr msg = {
		.msg_control = &ctl,
		.msg_controllen = sizeof(ctl),
		.msg_flags = MSG_DONTWAIT,
	};
	unsigned int i, n = nvq->batched;
	u64 bytes = 0;
	int err;

	if (!n)
		return 0;
	nvq->batched = 0;
	for (i = 0; i < n; i++)
		bytes += nvq->xdp[i].data_end - nvq->xdp[i].data;
	err = sock->ops->sendmsg(sock, &msg, 0);
	if (unlikely(err < 0)) {
		pr_debug_ratelimited("dropped %u TX packets: %d\n", n, err);
		for (i = 0; i < n; i++)
			skb_free_frag(nvq->xdp[i].data_hard_start);
	} else {
		vhl_vq_count(&nvq->vq, n, bytes);
	}

	err = vhl_add_used_n(&nvq->vq, nvq->heads, n);
	if (unlikely(err))
		return err;
	*pending += n;
	if (*pending >= VHL_NET_SIGNAL_BATCH) {
		vhl_signal(&nvq->vq);
		*pending = 0;
	}
	return 0;
}
