// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_net_lite TX: packets the guest queued on the TX virtqueue are sent
 * to the backend socket, copying: in batches to a tun socket
 * (net_tx_batch.c), else one sendmsg() per descriptor chain.
 */
#include <linux/net.h>
#include <linux/socket.h>

#include "net.h"

/* Send one chain of @out iovecs; returns sendmsg()'s result. */
static int vhl_net_tx_send(struct vhl_net_vq *nvq, struct socket *sock,
			   unsigned int out, size_t len)
{
	struct msghdr msg = {
		.msg_flags = MSG_DONTWAIT,
	};

	iov_iter_init(&msg.msg_iter, VHL_ITER_SOURCE, nvq->iov, out, len);
	/*
	 * The guest's header, when vhost handles it, carries nothing the
	 * socket could use: skip it, wherever the guest's descriptors split.
	 */
	iov_iter_advance(&msg.msg_iter, nvq->vhost_hlen);
	return sock->ops->sendmsg(sock, &msg, len - nvq->vhost_hlen);
}

static void vhl_net_handle_tx(struct vhl_net_vq *nvq)
{
	struct vhl_virtqueue *vq = &nvq->vq;
	unsigned int out, in, pending = 0;
	int head, err, sent_pkts = 0;
	size_t len, total_len = 0;
	struct socket *sock;
	bool batch;

	mutex_lock(&vq->mutex);
	sock = vhl_vq_get_backend(vq);
	if (!sock || !vhl_vq_ready(vq))
		goto out_unlock;

	vhl_net_update_hlens(nvq);
	vhl_disable_notify(vq);
	/* Kicks drive us from here on; the socket only if it fills up. */
	vhl_poll_stop(&nvq->sock_poll);
	batch = vhl_net_tx_can_batch(nvq, sock);

	do {
		if (nvq->batched == VHL_NET_TX_BATCH &&
		    unlikely(vhl_net_tx_batch_flush(nvq, sock, &pending)))
			break;
		head = vhl_get_vq_desc(vq, nvq->iov, ARRAY_SIZE(nvq->iov),
				       &out, &in);
		if (unlikely(head < 0))
			break;
		if (head == vq->num) {
			/* Empty: send the batch, poll a while (busyloop
			 * timeout), then ask for kicks, unless more slipped
			 * in.
			 */
			if (unlikely(vhl_net_tx_batch_flush(nvq, sock,
							    &pending)))
				break;
			if (vq->busyloop_timeout && pending) {
				vhl_signal(vq);
				pending = 0;
			}
			if (vhl_vq_busy_poll(vq))
				continue;
			if (unlikely(vhl_enable_notify(vq))) {
				vhl_disable_notify(vq);
				continue;
			}
			break;
		}
		if (unlikely(in)) {
			vhl_vq_err(vq, "TX chain %d has %u in descriptors\n",
				   head, in);
			vhl_discard_vq_desc(vq, 1);
			break;
		}
		len = iov_length(nvq->iov, out);
		if (unlikely(len < nvq->vhost_hlen)) {
			vhl_vq_err(vq, "TX chain %d: %zu bytes, header is %zu\n",
				   head, len, nvq->vhost_hlen);
			vhl_discard_vq_desc(vq, 1);
			break;
		}

		err = -ENOSPC;
		if (batch) {
			err = vhl_net_tx_batch_add(nvq, out, len, head);
			if (likely(!err))
				goto next;
			/* This one goes on its own, after the batch. */
			if (unlikely(vhl_net_tx_batch_flush(nvq, sock,
							    &pending))) {
				vhl_discard_vq_desc(vq, 1);
				break;
			}
		}
		if (err == -ENOSPC || err == -ENOMEM)
			err = vhl_net_tx_send(nvq, sock, out, len);
		if (unlikely(err < 0)) {
			if (err == -EAGAIN || err == -ENOMEM ||
			    err == -ENOBUFS) {
				/* Retry when the socket has room again. */
				vhl_discard_vq_desc(vq, 1);
				vhl_poll_start(&nvq->sock_poll, sock->file);
				break;
			}
			/* Dropped, as a NIC would. */
			pr_debug_ratelimited("dropped TX packet: %d\n", err);
		}

		if (unlikely(vhl_add_used(vq, head, 0)))
			break;
		if (++pending >= VHL_NET_SIGNAL_BATCH) {
			vhl_signal(vq);
			pending = 0;
		}
		if (err >= 0)
			vhl_vq_count(vq, 1, len - nvq->vhost_hlen -
				     nvq->sock_hlen);
next:
		total_len += len - nvq->vhost_hlen;
	} while (likely(!vhl_exceeds_weight(vq, ++sent_pkts, total_len)));

	vhl_net_tx_batch_flush(nvq, sock, &pending);
	if (pending)
		vhl_signal(vq);
out_unlock:
	mutex_unlock(&vq->mutex);
}

/**
 * vhl_net_handle_tx_kick() - the guest kicked the TX virtqueue
 * @work: the work of the virtqueue's kick poll
 *
 * Context: the device's worker.
 */
void vhl_net_handle_tx_kick(struct vhl_work *work)
{
	struct vhl_virtqueue *vq = container_of(work, struct vhl_virtqueue,
						poll.work);

	vhl_net_handle_tx(vhl_net_vq(vq));
}

/**
 * vhl_net_handle_tx_sock() - the TX socket became writable
 * @work: the work of the virtqueue's socket poll
 *
 * Context: the device's worker.
 */
void vhl_net_handle_tx_sock(struct vhl_work *work)
{
	struct vhl_poll *poll = container_of(work, struct vhl_poll, work);

	vhl_net_handle_tx(vhl_net_vq(poll->vq));
}
