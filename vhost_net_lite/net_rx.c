// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_net_lite RX: packets waiting in the backend socket are received
 * straight into the buffers the guest posted on the RX virtqueue.
 *
 * Each packet is preceded in guest memory by a virtio-net header of
 * vhost_hlen + sock_hlen bytes (one of them is 0).  With
 * VIRTIO_NET_F_MRG_RXBUF a packet may span several descriptor chains and
 * the header's num_buffers field tells the guest how many.
 */
#include <linux/if_vlan.h>
#include <linux/net.h>
#include <linux/skbuff.h>
#include <linux/socket.h>
#include <net/sock.h>

#include "net.h"

/* Length of the next packet in @sock without its vnet header, or 0. */
static int vhl_net_rx_peek_len(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct sk_buff *skb;
	unsigned long flags;
	int len = 0;

	/* tun/tap keep packets in their own ring. */
	if (sock->ops->peek_len)
		return sock->ops->peek_len(sock);

	spin_lock_irqsave(&sk->sk_receive_queue.lock, flags);
	skb = skb_peek(&sk->sk_receive_queue);
	if (skb) {
		len = skb->len;
		if (skb_vlan_tag_present(skb))
			len += VLAN_HLEN;
	}
	spin_unlock_irqrestore(&sk->sk_receive_queue.lock, flags);
	return len;
}

/*
 * Take guest buffers for @datalen bytes into nvq->iov and nvq->heads: one
 * chain without MRG_RXBUF, as many as needed with it.  heads[].len is what
 * each chain will hold.
 *
 * Return: the number of chains taken; 0 if the guest has not posted enough
 * buffers yet; -EMSGSIZE if the packet cannot fit however long we wait; or
 * another negative errno if a chain is malformed (the queue is broken).
 * Nothing is kept unless chains are returned.
 */
/* vhl_busy_poll() condition: the backend socket has a packet. */
static bool vhl_net_rx_sock_ready(void *sock)
{
	return vhl_net_rx_peek_len(sock) > 0;
}

static int vhl_net_rx_get_bufs(struct vhl_net_vq *nvq, size_t datalen,
			       bool mergeable, unsigned int *iovcount)
{
	struct vhl_virtqueue *vq = &nvq->vq;
	unsigned int out, in, seg = 0;
	int head, headcount = 0;
	size_t len;

	for (;;) {
		head = vhl_get_vq_desc(vq, nvq->iov + seg,
				       ARRAY_SIZE(nvq->iov) - seg, &out, &in);
		if (unlikely(head < 0))
			goto err_discard;
		if (head == vq->num) {
			head = 0;
			goto err_discard;
		}
		nvq->heads[headcount].id = head;
		headcount++;
		if (unlikely(out || !in)) {
			vhl_vq_err(vq, "RX chain %d has %u out, %u in buffers\n",
				   head, out, in);
			head = -EINVAL;
			goto err_discard;
		}
		len = iov_length(nvq->iov + seg, in);
		seg += in;
		*iovcount = seg;
		if (len >= datalen) {
			nvq->heads[headcount - 1].len = datalen;
			return headcount;
		}
		/* datalen is at most a packet: so is len, it fits in u32. */
		nvq->heads[headcount - 1].len = len;
		datalen -= len;
		/*
		 * Every chain must fit in what is left of nvq->iov: stop at
		 * UIO_MAXIOV iovecs.  The whole ring, or all the heads we
		 * can track, not being enough means waiting forever.
		 */
		if (!mergeable || seg >= UIO_MAXIOV ||
		    headcount == ARRAY_SIZE(nvq->heads) ||
		    headcount == vq->num) {
			head = -EMSGSIZE;
			goto err_discard;
		}
	}

err_discard:
	vhl_discard_vq_desc(vq, headcount);
	return head;
}

/*
 * Throw away the next packet of @sock.  tun/tap do not dequeue anything
 * for an empty buffer, so receive (at most) one byte into a scratch one.
 */
static void vhl_net_rx_drop(struct socket *sock)
{
	struct msghdr msg = {};
	struct kvec kv;
	u8 scratch;
	int err;

	kv.iov_base = &scratch;
	kv.iov_len = sizeof(scratch);
	iov_iter_kvec(&msg.msg_iter, VHL_ITER_DEST, &kv, 1, sizeof(scratch));
	err = sock->ops->recvmsg(sock, &msg, sizeof(scratch),
				 MSG_DONTWAIT | MSG_TRUNC);
	pr_debug_ratelimited("dropped RX packet too big for the guest: %d\n",
			     err);
}

/*
 * Write the parts of the virtio-net header that vhost owns through @hdr,
 * an iterator at the start of the packet in guest memory.
 */
static int vhl_net_rx_fill_hdr(struct vhl_net_vq *nvq, struct iov_iter *hdr,
			       int headcount)
{
	static const struct virtio_net_hdr vnet_hdr = {
		.flags = 0,
		.gso_type = VIRTIO_NET_HDR_GSO_NONE,
	};
	struct vhl_virtqueue *vq = &nvq->vq;
	__virtio16 num_buffers;

	if (nvq->vhost_hlen) {
		/* No offloads: the socket gives us complete frames. */
		if (copy_to_iter(&vnet_hdr, sizeof(vnet_hdr), hdr) !=
		    sizeof(vnet_hdr))
			return -EFAULT;
	} else {
		/* The socket wrote it, all but num_buffers. */
		iov_iter_advance(hdr, sizeof(vnet_hdr));
	}

	/*
	 * The 12-byte header (MRG_RXBUF or VERSION_1) ends with the number
	 * of chains used; without MRG_RXBUF it is always 1.
	 */
	if (nvq->vhost_hlen + nvq->sock_hlen <
	    sizeof(struct virtio_net_hdr_mrg_rxbuf))
		return 0;
	num_buffers = __cpu_to_virtio16(vhl_vq_is_le(vq), headcount);
	if (copy_to_iter(&num_buffers, sizeof(num_buffers), hdr) !=
	    sizeof(num_buffers))
		return -EFAULT;
	return 0;
}

static void vhl_net_handle_rx(struct vhl_net_vq *nvq)
{
	struct vhl_virtqueue *vq = &nvq->vq;
	int headcount, err, sock_len = 0, recv_pkts = 0;
	size_t vhost_len, total_len = 0;
	unsigned int in = 0, pending = 0;
	bool mergeable;
	struct iov_iter fixup;
	struct socket *sock;
	struct msghdr msg;

	mutex_lock(&vq->mutex);
	sock = vhl_vq_get_backend(vq);
	if (!sock || !vhl_vq_ready(vq))
		goto out_unlock;

	vhl_net_update_hlens(nvq);
	mergeable = vhl_has_feature(vq, VIRTIO_NET_F_MRG_RXBUF);
	vhl_disable_notify(vq);
	/* Re-armed below once the socket is drained. */
	vhl_poll_stop(&nvq->sock_poll);

	do {
		sock_len = vhl_net_rx_peek_len(sock);
		if (sock_len <= 0) {
			/* Poll a while (busyloop timeout) for the next. */
			if (vhl_busy_poll(vq, vhl_net_rx_sock_ready, sock))
				continue;
			sock_len = 0;
			break;
		}
		sock_len += nvq->sock_hlen;
		vhost_len = sock_len + nvq->vhost_hlen;

		headcount = vhl_net_rx_get_bufs(nvq, vhost_len, mergeable,
						&in);
		/*
		 * Too big for the guest's buffers: drop it, as a NIC would,
		 * and leave the buffers to the next packet (as in-tree).
		 */
		if (unlikely(headcount == -EMSGSIZE)) {
			vhl_net_rx_drop(sock);
			continue;
		}
		/* Malformed chain: the queue is broken now. */
		if (unlikely(headcount < 0))
			goto out_signal;
		if (!headcount) {
			/* Poll, then wait for buffers, unless some slipped in. */
			if (vhl_vq_busy_poll(vq))
				continue;
			if (unlikely(vhl_enable_notify(vq))) {
				vhl_disable_notify(vq);
				continue;
			}
			goto out_signal;
		}

		memset(&msg, 0, sizeof(msg));
		iov_iter_init(&msg.msg_iter, VHL_ITER_DEST, nvq->iov, in,
			      vhost_len);
		fixup = msg.msg_iter;
		/* Leave room for the header we write ourselves. */
		iov_iter_advance(&msg.msg_iter, nvq->vhost_hlen);
		err = sock->ops->recvmsg(sock, &msg, sock_len,
					 MSG_DONTWAIT | MSG_TRUNC);
		/*
		 * Somebody else (userspace on the same socket) may have taken
		 * the packet we peeked, or copying faulted: the packet is
		 * gone, the buffers are still free.
		 */
		if (unlikely(err != sock_len)) {
			pr_debug_ratelimited("discarded RX packet: got %d, expected %d\n",
					     err, sock_len);
			vhl_discard_vq_desc(vq, headcount);
			continue;
		}

		if (unlikely(vhl_net_rx_fill_hdr(nvq, &fixup, headcount))) {
			vhl_vq_err(vq, "cannot write the vnet header\n");
			vhl_discard_vq_desc(vq, headcount);
			goto out_signal;
		}
		/* Pages before the entries that publish them (migration). */
		if (unlikely(vhl_log_write(vq, nvq->iov, in, vhost_len))) {
			vhl_discard_vq_desc(vq, headcount);
			goto out_signal;
		}
		if (unlikely(vhl_add_used_n(vq, nvq->heads, headcount)))
			goto out_signal;
		pending += headcount;
		if (pending >= VHL_NET_SIGNAL_BATCH) {
			vhl_signal(vq);
			pending = 0;
		}
		vhl_vq_count(vq, 1, sock_len - nvq->sock_hlen);
		total_len += vhost_len;
	} while (likely(!vhl_exceeds_weight(vq, ++recv_pkts, total_len)));

	/* Drained: let the next packet wake us. */
	if (!sock_len)
		vhl_poll_start(&nvq->sock_poll, sock->file);
out_signal:
	if (pending)
		vhl_signal(vq);
out_unlock:
	mutex_unlock(&vq->mutex);
}

/**
 * vhl_net_handle_rx_kick() - the guest kicked the RX virtqueue
 * @work: the work of the virtqueue's kick poll
 *
 * Context: the device's worker.
 */
void vhl_net_handle_rx_kick(struct vhl_work *work)
{
	struct vhl_virtqueue *vq = container_of(work, struct vhl_virtqueue,
						poll.work);

	vhl_net_handle_rx(vhl_net_vq(vq));
}

/**
 * vhl_net_handle_rx_sock() - the RX socket became readable
 * @work: the work of the virtqueue's socket poll
 *
 * Context: the device's worker.
 */
void vhl_net_handle_rx_sock(struct vhl_work *work)
{
	struct vhl_poll *poll = container_of(work, struct vhl_poll, work);

	vhl_net_handle_rx(vhl_net_vq(poll->vq));
}
