// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_blk_lite I/O: IN and OUT go to the backend as asynchronous kiocbs
 * (direct I/O when the backend fd was opened with O_DIRECT and the request
 * is aligned, else buffered); FLUSH, DISCARD and WRITE_ZEROES block, so
 * they run on the device's workqueue.  Completions may come from interrupt
 * context: they only put the request on its virtqueue's done list, and the
 * done work publishes in the worker, in batches.
 *
 * FLUSH: every write (OUT, DISCARD, WRITE_ZEROES) gets a sequence number
 * and sits on blk->writes, oldest first, until it completes.  A FLUSH waits
 * until no write older than itself is left, then calls vfs_fsync(): a
 * write the guest saw completed before it sent the FLUSH is then on
 * stable storage.
 */
#include <linux/blkdev.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "blk.h"

static bool vhl_blk_is_write(u32 type)
{
	return type == VIRTIO_BLK_T_OUT || type == VIRTIO_BLK_T_DISCARD ||
	       type == VIRTIO_BLK_T_WRITE_ZEROES;
}

/**
 * vhl_blk_req_start() - account a request taken from the avail ring
 * @req: the request, parsed
 *
 * From here on the request ends with exactly one vhl_blk_req_done().
 *
 * Context: the worker, vq.mutex held.
 */
void vhl_blk_req_start(struct vhl_blk_req *req)
{
	struct vhl_blk_vq *bvq = req->bvq;
	struct vhl_blk *blk = bvq->blk;

	spin_lock_irq(&blk->lock);
	bvq->pending++;
	if (req->status == VIRTIO_BLK_S_OK) {
		if (vhl_blk_is_write(req->type)) {
			req->wseq = blk->wseq++;
			list_add_tail(&req->wnode, &blk->writes);
		} else if (req->type == VIRTIO_BLK_T_FLUSH) {
			req->wseq = blk->wseq;
		}
	}
	spin_unlock_irq(&blk->lock);
	WRITE_ONCE(bvq->inflight, bvq->inflight + 1);
}

/**
 * vhl_blk_req_done() - a request's I/O ended; hand it to the worker
 * @req: the request, with its status set
 *
 * @req must not be touched afterwards: the worker may free it at once.
 *
 * Context: any, including hard interrupt context.
 */
void vhl_blk_req_done(struct vhl_blk_req *req)
{
	struct vhl_blk_vq *bvq = req->bvq;
	struct vhl_blk *blk = bvq->blk;
	unsigned long flags;

	/*
	 * All under the lock: a drain that sees pending reach 0 may free the
	 * device right after, so nothing of it is touched after the unlock.
	 */
	spin_lock_irqsave(&blk->lock, flags);
	list_del_init(&req->wnode);
	llist_add(&req->node, &bvq->done);
	/* Fails only without a worker: vhl_blk_drain() reaps the list. */
	vhl_vq_work_queue(&bvq->vq, &bvq->done_work);
	bvq->pending--;
	wake_up(&blk->wait);
	spin_unlock_irqrestore(&blk->lock, flags);
}

static void vhl_blk_rw_complete(struct kiocb *iocb, long ret)
{
	struct vhl_blk_req *req = container_of(iocb, struct vhl_blk_req, iocb);

	if (req->type == VIRTIO_BLK_T_IN && ret > 0)
		req->written = ret;
	/* Errors (EIO, ENOSPC, ...) and short transfers fail this request. */
	if (ret < 0 || (size_t)ret != req->len)
		req->status = VIRTIO_BLK_S_IOERR;
	vhl_blk_req_done(req);
}

/**
 * vhl_blk_submit_rw() - start the I/O of an IN or OUT request
 * @req: the request, started with vhl_blk_req_start()
 *
 * Context: the worker, vq.mutex held, in the owner's mm.
 */
void vhl_blk_submit_rw(struct vhl_blk_req *req)
{
	struct file *file = req->backend->file;
	bool write = req->type == VIRTIO_BLK_T_OUT;
	struct iov_iter iter;
	ssize_t ret;

	if (!req->len) {
		vhl_blk_req_done(req);
		return;
	}
	iov_iter_init(&iter, write ? VHL_ITER_SOURCE : VHL_ITER_DEST,
		      req->iov, req->nr_iov, req->len);
	init_sync_kiocb(&req->iocb, file);
	req->iocb.ki_pos = req->pos;
	req->iocb.ki_complete = vhl_blk_rw_complete;
	/* O_DIRECT backends: buffered I/O for what direct I/O refuses. */
	if ((req->iocb.ki_flags & IOCB_DIRECT) &&
	    ((iov_iter_alignment(&iter) | req->pos) & req->backend->dio_mask))
		req->iocb.ki_flags &= ~IOCB_DIRECT;

	if (write) {
		/* Freeze protection, handed over to the completion. */
		kiocb_start_write(&req->iocb);
		req->iocb.ki_flags |= IOCB_WRITE;
		req->write_started = true;
		ret = file->f_op->write_iter(&req->iocb, &iter);
	} else {
		ret = file->f_op->read_iter(&req->iocb, &iter);
	}
	if (ret != -EIOCBQUEUED)
		vhl_blk_rw_complete(&req->iocb, ret);
}

/* Is every write older than @seq complete? */
static bool vhl_blk_writes_done(struct vhl_blk *blk, u64 seq)
{
	struct vhl_blk_req *first;
	bool done;

	spin_lock_irq(&blk->lock);
	first = list_first_entry_or_null(&blk->writes, struct vhl_blk_req,
					 wnode);
	done = !first || first->wseq >= seq;
	spin_unlock_irq(&blk->lock);
	return done;
}

/* Write zeroes the slow way, for files and devices without fallocate. */
static int vhl_blk_write_zero_pages(struct file *file, loff_t pos, u64 len)
{
	struct bio_vec bv[16];
	struct iov_iter it;
	ssize_t ret;

	while (len) {
		size_t n = 0;
		int i;

		for (i = 0; i < ARRAY_SIZE(bv) && n < len; i++) {
			bv[i].bv_page = ZERO_PAGE(0);
			bv[i].bv_offset = 0;
			bv[i].bv_len = min_t(u64, PAGE_SIZE, len - n);
			n += bv[i].bv_len;
		}
		iov_iter_bvec(&it, VHL_ITER_SOURCE, bv, i, n);
		ret = vfs_iter_write(file, &it, &pos, 0);
		if (ret < 0)
			return ret;
		if (!ret)
			return -EIO;
		len -= ret;
		cond_resched();
	}
	return 0;
}

static int vhl_blk_write_zeroes(struct vhl_blk_backend *be, loff_t pos,
				u64 len, bool unmap)
{
	int ret = -EOPNOTSUPP;

	if (unmap && !be->bdev)
		ret = vfs_fallocate(be->file,
				    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				    pos, len);
	if (ret == -EOPNOTSUPP)
		ret = vfs_fallocate(be->file,
				    FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
				    pos, len);
	/* E.g. tmpfs: a hole reads as zeroes too. */
	if (ret == -EOPNOTSUPP && !be->bdev)
		ret = vfs_fallocate(be->file,
				    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				    pos, len);
	if (ret == -EOPNOTSUPP)
		ret = vhl_blk_write_zero_pages(be->file, pos, len);
	return ret;
}

static int vhl_blk_discard(struct vhl_blk_backend *be, u64 sector, u32 nr)
{
	int ret;

	if (be->bdev)
		ret = blkdev_issue_discard(be->bdev, sector, nr, GFP_KERNEL);
	else
		ret = vfs_fallocate(be->file,
				    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				    sector << SECTOR_SHIFT,
				    (u64)nr << SECTOR_SHIFT);
	/* DISCARD is a hint: a backend may ignore it. */
	return ret == -EOPNOTSUPP ? 0 : ret;
}

static void vhl_blk_slow_work(struct work_struct *work)
{
	struct vhl_blk_req *req = container_of(work, struct vhl_blk_req, work);
	struct vhl_blk_backend *be = req->backend;
	struct vhl_blk *blk = req->bvq->blk;
	unsigned int i;
	int ret = 0;

	switch (req->type) {
	case VIRTIO_BLK_T_FLUSH:
		wait_event(blk->wait, vhl_blk_writes_done(blk, req->wseq));
		ret = vfs_fsync(be->file, 0);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		for (i = 0; i < req->nr_seg && !ret; i++) {
			const struct virtio_blk_discard_write_zeroes *s =
				&req->seg[i];
			u64 sector = le64_to_cpu(s->sector);
			u32 nr = le32_to_cpu(s->num_sectors);
			bool unmap = le32_to_cpu(s->flags) &
				     VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;

			if (!nr)
				continue;
			if (req->type == VIRTIO_BLK_T_DISCARD)
				ret = vhl_blk_discard(be, sector, nr);
			else
				ret = vhl_blk_write_zeroes(be, sector << SECTOR_SHIFT,
							   (u64)nr << SECTOR_SHIFT,
							   unmap);
		}
		break;
	}
	if (ret)
		req->status = VIRTIO_BLK_S_IOERR;
	vhl_blk_req_done(req);
}

/**
 * vhl_blk_submit_slow() - start a FLUSH, DISCARD or WRITE_ZEROES
 * @req: the request, started with vhl_blk_req_start()
 *
 * Context: the worker, vq.mutex held.
 */
void vhl_blk_submit_slow(struct vhl_blk_req *req)
{
	INIT_WORK(&req->work, vhl_blk_slow_work);
	queue_work(req->bvq->blk->wq, &req->work);
}

static void vhl_blk_req_free(struct vhl_blk_req *req)
{
	if (req->write_started)
		kiocb_end_write(&req->iocb);
	kfree(req);
}

/* Write the status byte and queue the used entry of @req. */
static void vhl_blk_publish(struct vhl_blk_vq *bvq, struct vhl_blk_req *req,
			    unsigned int *n)
{
	struct vhl_virtqueue *vq = &bvq->vq;
	struct iovec st = {
		.iov_base = req->status_addr,
		.iov_len = 1,
	};

	if (req->written)
		vhl_log_write(vq, req->iov, req->nr_iov, req->written);
	if (put_user(req->status, req->status_addr))
		vhl_vq_err(vq, "cannot write the status of request %u\n",
			   req->head);
	else
		vhl_log_write(vq, &st, 1, 1);

	switch (req->status) {
	case VIRTIO_BLK_S_OK:
		vhl_vq_count(vq, 1, req->type == VIRTIO_BLK_T_IN ||
			     req->type == VIRTIO_BLK_T_OUT ? req->len : 0);
		break;
	case VIRTIO_BLK_S_IOERR:
		vhl_vq_count(vq, 1, 0);
		WRITE_ONCE(bvq->ioerr, bvq->ioerr + 1);
		break;
	default:
		vhl_vq_count(vq, 1, 0);
		WRITE_ONCE(bvq->unsupp, bvq->unsupp + 1);
		break;
	}

	bvq->heads[*n].id = req->head;
	bvq->heads[*n].len = req->written + 1;
	if (++*n == ARRAY_SIZE(bvq->heads)) {
		vhl_add_used_n(vq, bvq->heads, *n);
		vhl_signal(vq);
		*n = 0;
	}
}

/**
 * vhl_blk_done_work() - publish the completed requests of a virtqueue
 * @work: the virtqueue's done work
 *
 * Writes status bytes and used entries in batches of VHL_BLK_USED_BATCH,
 * one signal per batch, and takes the kick handler up again if it stopped
 * at the in-flight limit.
 *
 * Context: the device's worker.
 */
void vhl_blk_done_work(struct vhl_work *work)
{
	struct vhl_blk_vq *bvq = container_of(work, struct vhl_blk_vq,
					      done_work);
	struct vhl_virtqueue *vq = &bvq->vq;
	struct vhl_blk_req *req, *next;
	struct llist_node *node;
	unsigned int n = 0;

	node = llist_del_all(&bvq->done);
	if (!node)
		return;
	node = llist_reverse_order(node);

	mutex_lock(&vq->mutex);
	llist_for_each_entry_safe(req, next, node, node) {
		vhl_blk_publish(bvq, req, &n);
		WRITE_ONCE(bvq->inflight, bvq->inflight - 1);
		vhl_blk_req_free(req);
	}
	if (n) {
		vhl_add_used_n(vq, bvq->heads, n);
		vhl_signal(vq);
	}
	if (bvq->throttled && bvq->inflight < VHL_BLK_VQ_INFLIGHT) {
		bvq->throttled = false;
		if (bvq->backend)
			vhl_poll_queue(&vq->poll);
	}
	mutex_unlock(&vq->mutex);
}

/**
 * vhl_blk_reap() - free completed requests without publishing them
 * @bvq: the virtqueue
 *
 * For requests that completed after the worker went away (its owner was
 * killed); with a worker, vhl_blk_drain() flushed it and the list is empty.
 *
 * Context: process context, no vq.mutex held.
 */
void vhl_blk_reap(struct vhl_blk_vq *bvq)
{
	struct vhl_blk_req *req, *next;
	struct llist_node *node;

	node = llist_del_all(&bvq->done);
	if (!node)
		return;
	mutex_lock(&bvq->vq.mutex);
	llist_for_each_entry_safe(req, next, node, node) {
		WRITE_ONCE(bvq->inflight, bvq->inflight - 1);
		vhl_blk_req_free(req);
	}
	bvq->throttled = false;
	mutex_unlock(&bvq->vq.mutex);
}
