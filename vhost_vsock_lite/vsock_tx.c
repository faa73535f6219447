// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_vsock_lite TX: packets the guest posts on the TX virtqueue are
 * copied into socket buffers and handed to the vsock library, which
 * delivers them to host sockets (or answers with a reset).
 *
 * Every length in a packet comes from the guest.  The buffer is sized by
 * the chain, which must hold a header and at most the largest payload the
 * in-tree driver accepts (64 KiB); the header's length must fit in the
 * chain.  A packet that breaks these rules is dropped and counted, its
 * buffer given back, and the queue keeps working.  How much a host socket
 * keeps of what the guest sends is bounded by the socket's own buffer
 * size (credit), which the library enforces.
 */
#include <linux/skbuff.h>
#include <linux/virtio_vsock.h>
#include <net/af_vsock.h>

#include "vsock.h"

static void vhl_vsock_count(u64 *counter)
{
	WRITE_ONCE(*counter, *counter + 1);
}

/* Is there room for the replies the next guest packet may cause? */
static bool vhl_vsock_more_replies(struct vhl_vsock *vsock)
{
	struct vhl_virtqueue *vq = &vsock->vqs[VHL_VSOCK_VQ_TX].vq;

	/* Paired with the atomics of send_pkt and the RX handler. */
	smp_rmb();
	return atomic_read(&vsock->queued_replies) < vq->num;
}

/*
 * Copy the packet of a TX chain into a new socket buffer.  Return it, or
 * NULL if the packet was dropped (and counted).
 */
static struct sk_buff *vhl_vsock_tx_alloc_skb(struct vhl_vsock *vsock,
					      struct vhl_vsock_vq *tx,
					      unsigned int out, unsigned int in)
{
	struct virtio_vsock_hdr *hdr;
	struct iov_iter iter;
	struct sk_buff *skb;
	size_t len, payload;

	len = iov_length(tx->iov, out);
	if (in || len < sizeof(*hdr) || len > VHL_VSOCK_MAX_PKT) {
		pr_debug_ratelimited("TX chain with %u out (%zu bytes), %u in buffers dropped\n",
				     out, len, in);
		goto err_malformed;
	}

	skb = virtio_vsock_alloc_skb(len, GFP_KERNEL);
	if (!skb) {
		vhl_vsock_count(&vsock->stats.nomem);
		return NULL;
	}

	iov_iter_init(&iter, VHL_ITER_SOURCE, tx->iov, out, len);
	hdr = virtio_vsock_hdr(skb);
	if (copy_from_iter(hdr, sizeof(*hdr), &iter) != sizeof(*hdr)) {
		pr_debug_ratelimited("cannot read a TX header\n");
		goto err_free;
	}
	payload = le32_to_cpu(hdr->len);
	if (payload > len - sizeof(*hdr)) {
		pr_debug_ratelimited("TX header length %zu exceeds its %zu byte chain\n",
				     payload, len);
		goto err_free;
	}
	if (payload) {
		vhl_vsock_skb_put(skb, payload);
		if (skb_copy_datagram_from_iter(skb, 0, &iter, payload)) {
			pr_debug_ratelimited("cannot read a TX payload\n");
			goto err_free;
		}
	}
	return skb;

err_free:
	kfree_skb(skb);
err_malformed:
	vhl_vsock_count(&vsock->stats.malformed);
	return NULL;
}

/**
 * vhl_vsock_handle_tx_kick() - the guest posted packets on the TX queue
 * @work: the work of the TX virtqueue's kick poll
 *
 * Context: the device's worker.
 */
void vhl_vsock_handle_tx_kick(struct vhl_work *work)
{
	struct vhl_virtqueue *vq = container_of(work, struct vhl_virtqueue,
						poll.work);
	struct vhl_vsock *vsock = container_of(vq->dev, struct vhl_vsock, dev);
	struct vhl_vsock_vq *tx = &vsock->vqs[VHL_VSOCK_VQ_TX];
	struct virtio_vsock_hdr *hdr;
	int head, pkts = 0, total_len = 0;
	unsigned int out, in;
	struct sk_buff *skb;
	bool added = false;

	mutex_lock(&vq->mutex);
	if (!vhl_vq_get_backend(vq) || !vhl_vq_ready(vq))
		goto out_unlock;

	vhl_disable_notify(vq);
	do {
		/*
		 * Stop until the guest takes the replies already queued;
		 * the RX handler queues us again.  Kicks stay disabled.
		 */
		if (!vhl_vsock_more_replies(vsock))
			break;

		head = vhl_get_vq_desc(vq, tx->iov, ARRAY_SIZE(tx->iov),
				       &out, &in);
		if (unlikely(head < 0))
			break;
		if (head == vq->num) {
			if (unlikely(vhl_enable_notify(vq))) {
				vhl_disable_notify(vq);
				continue;
			}
			break;
		}

		skb = vhl_vsock_tx_alloc_skb(vsock, tx, out, in);
		if (skb) {
			total_len += sizeof(*hdr) + skb->len;
			vhl_vq_count(vq, 1, skb->len);
			/* Monitoring devices see every packet we receive. */
			virtio_transport_deliver_tap_pkt(skb);
			hdr = virtio_vsock_hdr(skb);
			/* Only correctly addressed packets reach sockets. */
			if (le64_to_cpu(hdr->src_cid) == READ_ONCE(vsock->guest_cid) &&
			    le64_to_cpu(hdr->dst_cid) == VHL_VSOCK_HOST_CID) {
				virtio_transport_recv_pkt(&vhl_vsock_transport,
							  skb);
			} else {
				vhl_vsock_count(&vsock->stats.misaddressed);
				kfree_skb(skb);
			}
		} else {
			total_len += sizeof(*hdr);
		}

		if (unlikely(vhl_add_used(vq, head, 0)))
			break;
		added = true;
	} while (likely(!vhl_exceeds_weight(vq, ++pkts, total_len)));

	if (added)
		vhl_signal(vq);
out_unlock:
	mutex_unlock(&vq->mutex);
}
