// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_vsock_lite RX: packets of host sockets (and replies to guest
 * packets) queued by the vsock library go into the buffers the guest
 * posted on the RX virtqueue.
 *
 * A packet larger than a guest buffer is split: every piece gets a copy
 * of the header with its own length, and for SOCK_SEQPACKET only the
 * last piece keeps the end-of-message and end-of-record flags.
 */
#include <linux/skbuff.h>
#include <linux/virtio_vsock.h>
#include <net/af_vsock.h>

#include "vsock.h"

/*
 * Write the next piece of @skb into the chain at @iov: a header, then as
 * much payload as fits.  Return the bytes written or a negative errno.
 */
static ssize_t vhl_vsock_rx_copy(struct vhl_virtqueue *vq, struct sk_buff *skb,
				 struct iovec *iov, unsigned int in,
				 u32 *payload)
{
	struct virtio_vsock_hdr hdr = *virtio_vsock_hdr(skb);
	u32 offset = vhl_vsock_skb_offset(skb);
	struct iov_iter iter;
	size_t room, len;

	room = iov_length(iov, in);
	if (room < sizeof(hdr)) {
		vhl_vq_err(vq, "RX buffer of %zu bytes is too small\n", room);
		return -EINVAL;
	}
	len = skb->len - offset;
	if (len > room - sizeof(hdr)) {
		len = room - sizeof(hdr);
		/* Not the last piece: no message or record ends here. */
		hdr.flags &= ~cpu_to_le32(VIRTIO_VSOCK_SEQ_EOM |
					  VIRTIO_VSOCK_SEQ_EOR);
	}
	hdr.len = cpu_to_le32(len);

	iov_iter_init(&iter, VHL_ITER_DEST, iov, in, room);
	if (copy_to_iter(&hdr, sizeof(hdr), &iter) != sizeof(hdr) ||
	    skb_copy_datagram_iter(skb, offset, &iter, len)) {
		vhl_vq_err(vq, "cannot write an RX buffer\n");
		return -EFAULT;
	}
	/* Before the used entry: a migration that sees it sees the pages. */
	if (vhl_log_write(vq, iov, in, sizeof(hdr) + len))
		return -EFAULT;
	*payload = len;
	return sizeof(hdr) + len;
}

static void vhl_vsock_do_send_pkt(struct vhl_vsock *vsock)
{
	struct vhl_vsock_vq *rx = &vsock->vqs[VHL_VSOCK_VQ_RX];
	struct vhl_virtqueue *tx_vq = &vsock->vqs[VHL_VSOCK_VQ_TX].vq;
	struct vhl_virtqueue *vq = &rx->vq;
	int pkts = 0, total_len = 0;
	bool added = false, restart_tx = false;
	unsigned int out, in;
	struct sk_buff *skb;
	ssize_t written;
	u32 payload;
	int head;

	mutex_lock(&vq->mutex);
	if (!vhl_vq_get_backend(vq) || !vhl_vq_ready(vq))
		goto out_unlock;

	vhl_disable_notify(vq);
	do {
		skb = virtio_vsock_skb_dequeue(&vsock->send_pkt_queue);
		if (!skb) {
			/* A new packet queues this work again. */
			vhl_enable_notify(vq);
			break;
		}
		head = vhl_get_vq_desc(vq, rx->iov, ARRAY_SIZE(rx->iov),
				       &out, &in);
		if (unlikely(head < 0)) {
			/* Broken ring: keep the packet for a reset ring. */
			virtio_vsock_skb_queue_head(&vsock->send_pkt_queue, skb);
			break;
		}
		if (head == vq->num) {
			virtio_vsock_skb_queue_head(&vsock->send_pkt_queue, skb);
			/* Wait for buffers, unless some slipped in. */
			if (unlikely(vhl_enable_notify(vq))) {
				vhl_disable_notify(vq);
				continue;
			}
			break;
		}
		if (unlikely(out)) {
			vhl_vq_err(vq, "RX chain %d has %u out buffers\n", head,
				   out);
			written = -EINVAL;
		} else {
			written = vhl_vsock_rx_copy(vq, skb, rx->iov, in,
						    &payload);
		}
		if (unlikely(written < 0)) {
			vhl_discard_vq_desc(vq, 1);
			virtio_vsock_skb_queue_head(&vsock->send_pkt_queue, skb);
			break;
		}

		/* Monitoring devices (vsockmon) see every piece we send. */
		virtio_transport_deliver_tap_pkt(skb);
		if (unlikely(vhl_add_used(vq, head, written))) {
			virtio_vsock_skb_queue_head(&vsock->send_pkt_queue, skb);
			break;
		}
		added = true;
		vhl_vq_count(vq, 1, payload);
		total_len += written;

		if (vhl_vsock_skb_advance(skb, payload)) {
			/* The rest goes into the next buffer. */
			virtio_vsock_skb_clear_tap_delivered(skb);
			virtio_vsock_skb_queue_head(&vsock->send_pkt_queue, skb);
			continue;
		}
		if (virtio_vsock_skb_reply(skb) &&
		    atomic_dec_return(&vsock->queued_replies) + 1 ==
		    READ_ONCE(tx_vq->num))
			restart_tx = true;
		vhl_vsock_skb_sent(skb);
	} while (likely(!vhl_exceeds_weight(vq, ++pkts, total_len)));

	if (added)
		vhl_signal(vq);
out_unlock:
	mutex_unlock(&vq->mutex);

	/* TX stopped for lack of room for replies: there is room now. */
	if (restart_tx)
		vhl_poll_queue(&tx_vq->poll);
}

/**
 * vhl_vsock_send_pkt_work() - move queued host packets to the guest
 * @work: the device's send_pkt_work
 *
 * Context: the device's worker.
 */
void vhl_vsock_send_pkt_work(struct vhl_work *work)
{
	vhl_vsock_do_send_pkt(container_of(work, struct vhl_vsock,
					   send_pkt_work));
}

/**
 * vhl_vsock_handle_rx_kick() - the guest posted RX buffers
 * @work: the work of the RX virtqueue's kick poll
 *
 * Context: the device's worker.
 */
void vhl_vsock_handle_rx_kick(struct vhl_work *work)
{
	struct vhl_virtqueue *vq = container_of(work, struct vhl_virtqueue,
						poll.work);

	vhl_vsock_do_send_pkt(container_of(vq->dev, struct vhl_vsock, dev));
}

/**
 * vhl_vsock_send_pkt() - the vsock library sends a packet to a guest
 * @skb: the packet; we own it from now on
 *
 * Context: any, may be atomic (the library calls it under socket locks).
 * Return: the packet's payload length, or -ENODEV if no device has the
 * destination CID.
 */
int vhl_vsock_send_pkt(struct sk_buff *skb)
{
	struct virtio_vsock_hdr *hdr = virtio_vsock_hdr(skb);
	struct vhl_vsock *vsock;
	int len = skb->len;

	rcu_read_lock();
	vsock = vhl_vsock_get(le64_to_cpu(hdr->dst_cid));
	if (!vsock) {
		rcu_read_unlock();
		kfree_skb(skb);
		return -ENODEV;
	}
	if (virtio_vsock_skb_reply(skb))
		atomic_inc(&vsock->queued_replies);
	virtio_vsock_skb_queue_tail(&vsock->send_pkt_queue, skb);
	vhl_vq_work_queue(&vsock->vqs[VHL_VSOCK_VQ_RX].vq,
			  &vsock->send_pkt_work);
	rcu_read_unlock();
	return len;
}

/**
 * vhl_vsock_cancel_pkt() - drop the queued packets of a closing socket
 * @vsk: the socket
 *
 * Context: process, socket locked.
 * Return: 0, or -ENODEV if its guest is gone.
 */
int vhl_vsock_cancel_pkt(struct vsock_sock *vsk)
{
	struct vhl_virtqueue *tx_vq;
	struct vhl_vsock *vsock;
	int cnt, left, num;

	rcu_read_lock();
	vsock = vhl_vsock_get(vsk->remote_addr.svm_cid);
	if (!vsock) {
		rcu_read_unlock();
		return -ENODEV;
	}
	cnt = virtio_transport_purge_skbs(vsk, &vsock->send_pkt_queue);
	if (cnt) {
		tx_vq = &vsock->vqs[VHL_VSOCK_VQ_TX].vq;
		num = READ_ONCE(tx_vq->num);
		left = atomic_sub_return(cnt, &vsock->queued_replies);
		/* TX may have stopped for lack of room for replies. */
		if (left + cnt >= num && left < num)
			vhl_poll_queue(&tx_vq->poll);
	}
	rcu_read_unlock();
	return 0;
}
