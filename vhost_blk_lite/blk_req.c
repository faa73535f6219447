// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_blk_lite requests: take chains from a request virtqueue, check the
 * virtio-blk header, the buffers and the sector range, and start the I/O.
 *
 * A chain is the 16-byte header and the data-out bytes (device-readable),
 * then the data-in bytes and the status byte, its last writable byte
 * (VIRTIO_F_ANY_LAYOUT: the split between descriptors is free).  A request
 * the guest got wrong ends with VIRTIO_BLK_S_IOERR (bad buffers or range)
 * or VIRTIO_BLK_S_UNSUPP (unknown type or flags); a chain without a
 * writable byte cannot be answered and breaks the queue (vhl_vq_err()).
 */
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "blk.h"

/* Copy the iovecs covering bytes [skip, skip + len) of @src into @dst. */
static unsigned int vhl_blk_copy_iov(struct iovec *dst,
				     const struct iovec *src, unsigned int n,
				     size_t skip, size_t len)
{
	unsigned int i, k = 0;

	for (i = 0; i < n && len; i++) {
		size_t l = src[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l = min(l - skip, len);
		dst[k].iov_base = src[i].iov_base + skip;
		dst[k].iov_len = l;
		k++;
		len -= l;
		skip = 0;
	}
	return k;
}

/* Is [sector, sector + nr) on the disk? */
static bool vhl_blk_in_range(const struct vhl_blk_backend *be, u64 sector,
			     u64 nr)
{
	return sector <= be->capacity && nr <= be->capacity - sector;
}

/* Status of a DISCARD or WRITE_ZEROES whose ranges are in req->seg. */
static u8 vhl_blk_check_segs(struct vhl_blk_req *req)
{
	bool wz = req->type == VIRTIO_BLK_T_WRITE_ZEROES;
	u32 max = wz ? VHL_BLK_MAX_WZ_SECTORS : VHL_BLK_MAX_DISCARD_SECTORS;
	u32 allowed = wz ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0;
	unsigned int i;

	for (i = 0; i < req->nr_seg; i++) {
		const struct virtio_blk_discard_write_zeroes *s = &req->seg[i];
		u32 nr = le32_to_cpu(s->num_sectors);

		/* The spec wants UNSUPP for unknown flags, unmap on DISCARD. */
		if (le32_to_cpu(s->flags) & ~allowed)
			return VIRTIO_BLK_S_UNSUPP;
		if (nr > max ||
		    !vhl_blk_in_range(req->backend, le64_to_cpu(s->sector), nr))
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/*
 * Check the header of a request whose data-out bytes follow in @it and
 * whose data-in area is @in_len bytes; set req->type, ->len, ->pos and
 * ->status and say how many data iovecs or ranges the request needs.
 */
static u8 vhl_blk_check_hdr(struct vhl_blk_vq *bvq, struct vhl_blk_req *req,
			    const struct virtio_blk_outhdr *hdr,
			    size_t out_len, size_t in_len)
{
	const struct vhl_blk_backend *be = req->backend;
	bool le = vhl_vq_is_le(&bvq->vq);
	u64 sector = __virtio64_to_cpu(le, hdr->sector);

	req->type = __virtio32_to_cpu(le, hdr->type);
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (req->type == VIRTIO_BLK_T_IN ? out_len : in_len)
			return VIRTIO_BLK_S_IOERR;	/* wrong direction */
		req->len = req->type == VIRTIO_BLK_T_IN ? in_len : out_len;
		if (req->type == VIRTIO_BLK_T_OUT && be->ro)
			return VIRTIO_BLK_S_IOERR;
		if (req->len % SECTOR_SIZE || req->len > VHL_BLK_MAX_BYTES ||
		    !vhl_blk_in_range(be, sector, req->len >> SECTOR_SHIFT))
			return VIRTIO_BLK_S_IOERR;
		req->pos = sector << SECTOR_SHIFT;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		if (out_len)
			return VIRTIO_BLK_S_IOERR;
		req->len = min_t(size_t, in_len, VIRTIO_BLK_ID_BYTES);
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		return out_len || in_len ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (req->type == VIRTIO_BLK_T_DISCARD && !be->discard)
			return be->ro ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_UNSUPP;
		if (be->ro || in_len || !out_len ||
		    out_len % sizeof(req->seg[0]) ||
		    out_len / sizeof(req->seg[0]) >
		    (req->type == VIRTIO_BLK_T_DISCARD ?
		     VHL_BLK_MAX_DISCARD_SEG : VHL_BLK_MAX_WZ_SEG))
			return VIRTIO_BLK_S_IOERR;
		req->len = out_len;
		return VIRTIO_BLK_S_OK;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* How many iovecs or ranges (16 bytes each) a checked request carries. */
static unsigned int vhl_blk_nr_items(const struct vhl_blk_req *req,
				     unsigned int out, unsigned int in)
{
	if (req->status != VIRTIO_BLK_S_OK)
		return 0;
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_GET_ID:
		return in;
	case VIRTIO_BLK_T_OUT:
		return out;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return req->len / sizeof(req->seg[0]);
	default:
		return 0;
	}
}

/* Answer GET_ID from the serial. */
static void vhl_blk_get_id(struct vhl_blk *blk, struct vhl_blk_req *req)
{
	char id[VIRTIO_BLK_ID_BYTES];
	struct iov_iter it;

	spin_lock_irq(&blk->lock);
	memcpy(id, blk->serial, sizeof(id));
	spin_unlock_irq(&blk->lock);
	iov_iter_init(&it, VHL_ITER_DEST, req->iov, req->nr_iov, req->len);
	req->written = copy_to_iter(id, req->len, &it);
	if (req->written != req->len)
		req->status = VIRTIO_BLK_S_IOERR;
}

/*
 * Take the request in bvq->iov (@out readable, @in writable iovecs) and
 * start it.  Return: 0, or a negative errno when the queue must stop
 * (the chain was given back).
 */
static int vhl_blk_handle_req(struct vhl_blk_vq *bvq,
			      struct vhl_blk_backend *be, int head,
			      unsigned int out, unsigned int in)
{
	struct vhl_virtqueue *vq = &bvq->vq;
	struct iovec *iov = bvq->iov;
	struct vhl_blk_req tmp = { .backend = be };
	struct virtio_blk_outhdr hdr;
	size_t out_len, in_len;
	u8 __user *status = NULL;
	struct vhl_blk_req *req;
	struct iov_iter it;
	unsigned int i, n;

	for (i = out + in; i > out; i--) {
		if (iov[i - 1].iov_len) {
			status = iov[i - 1].iov_base + iov[i - 1].iov_len - 1;
			break;
		}
	}
	if (!status) {
		vhl_vq_err(vq, "request %d has no status byte\n", head);
		vhl_discard_vq_desc(vq, 1);
		return -EINVAL;
	}
	out_len = iov_length(iov, out);
	in_len = iov_length(iov + out, in) - 1;

	iov_iter_init(&it, VHL_ITER_SOURCE, iov, out, out_len);
	tmp.type = U32_MAX;
	if (out_len < sizeof(hdr) ||
	    copy_from_iter(&hdr, sizeof(hdr), &it) != sizeof(hdr))
		tmp.status = VIRTIO_BLK_S_IOERR;
	else
		tmp.status = vhl_blk_check_hdr(bvq, &tmp, &hdr,
					       out_len - sizeof(hdr), in_len);

	n = vhl_blk_nr_items(&tmp, out, in);
	req = kmalloc(struct_size(req, iov, n), GFP_KERNEL_ACCOUNT);
	if (!req) {
		vhl_discard_vq_desc(vq, 1);
		/* Try again later rather than leave the request behind. */
		vhl_poll_queue(&vq->poll);
		return -ENOMEM;
	}
	*req = tmp;
	req->bvq = bvq;
	req->head = head;
	req->status_addr = status;
	INIT_LIST_HEAD(&req->wnode);

	if (req->status == VIRTIO_BLK_S_OK) {
		switch (req->type) {
		case VIRTIO_BLK_T_IN:
		case VIRTIO_BLK_T_GET_ID:
			req->nr_iov = vhl_blk_copy_iov(req->iov, iov + out, in,
						       0, req->len);
			break;
		case VIRTIO_BLK_T_OUT:
			req->nr_iov = vhl_blk_copy_iov(req->iov, iov, out,
						       sizeof(hdr), req->len);
			break;
		case VIRTIO_BLK_T_DISCARD:
		case VIRTIO_BLK_T_WRITE_ZEROES:
			req->nr_seg = n;
			if (copy_from_iter(req->seg, req->len, &it) != req->len)
				req->status = VIRTIO_BLK_S_IOERR;
			else
				req->status = vhl_blk_check_segs(req);
			break;
		}
	}

	vhl_blk_req_start(req);
	if (req->status != VIRTIO_BLK_S_OK) {
		vhl_blk_req_done(req);
		return 0;
	}
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		vhl_blk_submit_rw(req);
		break;
	case VIRTIO_BLK_T_GET_ID:
		vhl_blk_get_id(bvq->blk, req);
		vhl_blk_req_done(req);
		break;
	default:
		vhl_blk_submit_slow(req);
		break;
	}
	return 0;
}

static void vhl_blk_handle_vq(struct vhl_blk_vq *bvq)
{
	struct vhl_virtqueue *vq = &bvq->vq;
	struct vhl_blk_backend *be;
	unsigned int out, in;
	int head, reqs = 0;

	mutex_lock(&vq->mutex);
	be = bvq->backend;
	if (!be || !vhl_vq_ready(vq))
		goto out_unlock;

	vhl_disable_notify(vq);
	do {
		if (bvq->inflight >= VHL_BLK_VQ_INFLIGHT) {
			/* The done work takes us up again. */
			bvq->throttled = true;
			break;
		}
		head = vhl_get_vq_desc(vq, bvq->iov, ARRAY_SIZE(bvq->iov),
				       &out, &in);
		if (unlikely(head < 0))
			break;
		if (head == vq->num) {
			/* Empty: ask for kicks, unless more slipped in. */
			if (unlikely(vhl_enable_notify(vq))) {
				vhl_disable_notify(vq);
				continue;
			}
			break;
		}
		if (vhl_blk_handle_req(bvq, be, head, out, in))
			break;
	} while (likely(!vhl_exceeds_weight(vq, ++reqs, 0)));
out_unlock:
	mutex_unlock(&vq->mutex);
}

/**
 * vhl_blk_handle_kick() - the guest kicked a request virtqueue
 * @work: the work of the virtqueue's kick poll
 *
 * Context: the device's worker.
 */
void vhl_blk_handle_kick(struct vhl_work *work)
{
	struct vhl_virtqueue *vq = container_of(work, struct vhl_virtqueue,
						poll.work);

	vhl_blk_handle_vq(vhl_blk_vq(vq));
}
