// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_blk_lite backends: a regular file or a block device, its geometry
 * and limits (the virtio-blk config space), and swapping it in and out of
 * the device, also while requests are in flight: stop taking requests,
 * wait for those in flight, then swap.
 */
#include <linux/blkdev.h>
#include <linux/file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "blk.h"

static struct vhl_blk_backend *vhl_blk_backend_get(int fd, u32 flags)
{
	struct vhl_blk_backend *be;
	struct inode *inode;
	struct file *file;
	int ret;

	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);
	inode = file_inode(file);
	ret = -EINVAL;
	if (!S_ISREG(inode->i_mode) && !S_ISBLK(inode->i_mode))
		goto err_put_file;
	ret = -EBADF;
	if (!(file->f_mode & FMODE_READ))
		goto err_put_file;
	ret = -EINVAL;
	if (!(file->f_mode & FMODE_CAN_READ) || !file->f_op->read_iter)
		goto err_put_file;

	ret = -ENOMEM;
	be = kzalloc(sizeof(*be), GFP_KERNEL_ACCOUNT);
	if (!be)
		goto err_put_file;
	be->file = file;
	be->ro = (flags & VHOST_BLK_LITE_F_RO) ||
		 !(file->f_mode & FMODE_WRITE) ||
		 !(file->f_mode & FMODE_CAN_WRITE) || !file->f_op->write_iter;
	be->blk_size = SECTOR_SIZE;
	if (S_ISBLK(inode->i_mode)) {
		struct block_device *bdev = I_BDEV(file->f_mapping->host);

		be->bdev = bdev;
		be->capacity = bdev_nr_sectors(bdev);
		be->blk_size = bdev_logical_block_size(bdev);
		be->ro |= bdev_read_only(bdev);
		be->discard = bdev_max_discard_sectors(bdev) > 0;
		be->discard_align = bdev_discard_granularity(bdev) >> SECTOR_SHIFT;
		if (file->f_flags & O_DIRECT)
			be->dio_mask = bdev_logical_block_size(bdev) - 1;
	} else {
		be->capacity = i_size_read(inode) >> SECTOR_SHIFT;
		be->discard = !!file->f_op->fallocate;
		be->discard_align = i_blocksize(inode) >> SECTOR_SHIFT;
		if (file->f_flags & O_DIRECT)
			be->dio_mask = (inode->i_sb->s_bdev ?
					bdev_logical_block_size(inode->i_sb->s_bdev) :
					SECTOR_SIZE) - 1;
	}
	be->discard &= !be->ro;
	be->discard_align = max(be->discard_align, 1U);
	return be;

err_put_file:
	fput(file);
	return ERR_PTR(ret);
}

/**
 * vhl_blk_backend_put() - release a detached backend
 * @be: the backend, or NULL
 *
 * Context: process context; no request may use @be any more.
 */
void vhl_blk_backend_put(struct vhl_blk_backend *be)
{
	if (!be)
		return;
	fput(be->file);
	kfree(be);
}

/* Context: dev.mutex held. */
static void vhl_blk_attach(struct vhl_blk *blk, struct vhl_blk_backend *be)
{
	int i;

	blk->backend = be;
	for (i = 0; i < VHL_BLK_VQ_MAX; i++) {
		struct vhl_virtqueue *vq = &blk->vqs[i].vq;

		mutex_lock(&vq->mutex);
		blk->vqs[i].backend = be;
		mutex_unlock(&vq->mutex);
		/* Requests may have queued up while there was no backend. */
		if (be)
			vhl_poll_queue(&vq->poll);
	}
}

/**
 * vhl_blk_detach() - stop every virtqueue from taking new requests
 * @blk: the device
 *
 * Requests in flight go on; vhl_blk_drain() waits for them.
 *
 * Context: dev.mutex held.
 * Return: the backend that was attached, or NULL.
 */
struct vhl_blk_backend *vhl_blk_detach(struct vhl_blk *blk)
{
	struct vhl_blk_backend *be = blk->backend;
	int i;

	blk->backend = NULL;
	for (i = 0; i < VHL_BLK_VQ_MAX; i++) {
		struct vhl_virtqueue *vq = &blk->vqs[i].vq;

		mutex_lock(&vq->mutex);
		blk->vqs[i].backend = NULL;
		mutex_unlock(&vq->mutex);
	}
	return be;
}

static bool vhl_blk_idle(struct vhl_blk *blk, unsigned long vq_mask)
{
	bool idle = true;
	int i;

	spin_lock_irq(&blk->lock);
	for (i = 0; i < VHL_BLK_VQ_MAX; i++)
		if ((vq_mask & BIT(i)) && blk->vqs[i].pending)
			idle = false;
	spin_unlock_irq(&blk->lock);
	return idle;
}

/**
 * vhl_blk_drain() - wait until the requests taken so far are published
 * @blk: the device
 * @vq_mask: the virtqueues to wait for, bit i for vqs[i]
 *
 * Waits for the I/O of every request in flight, then for the worker to
 * publish their used entries.  When the worker is gone (its owner was
 * killed), the requests are freed without touching the rings.
 *
 * Context: process context, no vq.mutex held.  The caller keeps the
 * virtqueues from taking requests (no backend, or stopped), or the wait
 * may not end.
 */
void vhl_blk_drain(struct vhl_blk *blk, unsigned long vq_mask)
{
	int i;

	wait_event(blk->wait, vhl_blk_idle(blk, vq_mask));
	vhl_dev_flush(&blk->dev);
	for (i = 0; i < VHL_BLK_VQ_MAX; i++)
		if (vq_mask & BIT(i))
			vhl_blk_reap(&blk->vqs[i]);
}

/**
 * vhl_blk_quiesce() - hold one virtqueue without requests, or release it
 * @blk: the device
 * @idx: the virtqueue
 * @hold: true: stop taking requests and wait for those in flight; false:
 *	go on with the device's backend
 *
 * Context: dev.mutex held, no vq.mutex.
 */
void vhl_blk_quiesce(struct vhl_blk *blk, unsigned int idx, bool hold)
{
	struct vhl_blk_vq *bvq = &blk->vqs[idx];

	mutex_lock(&bvq->vq.mutex);
	bvq->backend = hold ? NULL : blk->backend;
	mutex_unlock(&bvq->vq.mutex);
	if (hold)
		vhl_blk_drain(blk, BIT(idx));
	else if (blk->backend)
		vhl_poll_queue(&bvq->vq.poll);
}

/**
 * vhl_blk_set_backend() - VHOST_BLK_LITE_SET_BACKEND
 * @blk: the device
 * @b: the new backend; fd -1 detaches
 *
 * Context: process context, by the owner.
 * Return: 0, -EPERM (not the owner), -EINVAL (bad flags, not a regular
 * file or block device, unreadable), -EBADF or -ENOMEM.
 */
long vhl_blk_set_backend(struct vhl_blk *blk,
			 const struct vhost_blk_lite_backend *b)
{
	struct vhl_blk_backend *be = NULL, *old = NULL;
	long r;

	if (b->flags & ~VHOST_BLK_LITE_F_RO)
		return -EINVAL;
	mutex_lock(&blk->dev.mutex);
	r = vhl_dev_check_owner(&blk->dev);
	if (r)
		goto out_unlock;
	if (b->fd != -1) {
		be = vhl_blk_backend_get(b->fd, b->flags);
		if (IS_ERR(be)) {
			r = PTR_ERR(be);
			be = NULL;
			goto out_unlock;
		}
	}
	old = vhl_blk_detach(blk);
	vhl_blk_drain(blk, ~0UL);
	vhl_blk_attach(blk, be);
out_unlock:
	mutex_unlock(&blk->dev.mutex);
	vhl_blk_backend_put(old);
	return r;
}

/**
 * vhl_blk_features() - the features VHOST_GET_FEATURES offers
 * @blk: the device
 *
 * VIRTIO_BLK_F_RO, _DISCARD and _WRITE_ZEROES follow the backend: set it
 * before asking.
 *
 * Context: process context.
 * Return: the feature bits.
 */
u64 vhl_blk_features(struct vhl_blk *blk)
{
	struct vhl_blk_backend *be;
	u64 f = VHL_BLK_FEATURES_BASE;

	mutex_lock(&blk->dev.mutex);
	be = blk->backend;
	if (be && be->ro)
		f |= BIT_ULL(VIRTIO_BLK_F_RO);
	if (be && be->discard)
		f |= BIT_ULL(VIRTIO_BLK_F_DISCARD);
	if (be && !be->ro)
		f |= BIT_ULL(VIRTIO_BLK_F_WRITE_ZEROES);
	mutex_unlock(&blk->dev.mutex);
	return f;
}

/**
 * vhl_blk_get_config() - VHOST_BLK_LITE_GET_CONFIG
 * @blk: the device
 * @argp: where the config space goes (VHOST_BLK_LITE_CONFIG_SIZE bytes)
 *
 * Context: process context.
 * Return: 0, -ENODEV without a backend, or -EFAULT.
 */
long vhl_blk_get_config(struct vhl_blk *blk, void __user *argp)
{
	struct virtio_blk_config c = {};
	struct vhl_blk_backend *be;

	BUILD_BUG_ON(sizeof(c) < VHOST_BLK_LITE_CONFIG_SIZE);
	mutex_lock(&blk->dev.mutex);
	be = blk->backend;
	if (!be) {
		mutex_unlock(&blk->dev.mutex);
		return -ENODEV;
	}
	c.capacity = (__force __virtio64)cpu_to_le64(be->capacity);
	c.seg_max = (__force __virtio32)cpu_to_le32(VHL_BLK_SEG_MAX);
	c.blk_size = (__force __virtio32)cpu_to_le32(be->blk_size);
	c.num_queues = (__force __virtio16)cpu_to_le16(VHL_BLK_VQ_MAX);
	if (be->discard) {
		c.max_discard_sectors = (__force __virtio32)
			cpu_to_le32(VHL_BLK_MAX_DISCARD_SECTORS);
		c.max_discard_seg = (__force __virtio32)
			cpu_to_le32(VHL_BLK_MAX_DISCARD_SEG);
		c.discard_sector_alignment = (__force __virtio32)
			cpu_to_le32(be->discard_align);
	}
	if (!be->ro) {
		c.max_write_zeroes_sectors = (__force __virtio32)
			cpu_to_le32(VHL_BLK_MAX_WZ_SECTORS);
		c.max_write_zeroes_seg = (__force __virtio32)
			cpu_to_le32(VHL_BLK_MAX_WZ_SEG);
		/* Files punch holes for WRITE_ZEROES with the unmap flag. */
		c.write_zeroes_may_unmap = !be->bdev;
	}
	mutex_unlock(&blk->dev.mutex);
	if (copy_to_user(argp, &c, VHOST_BLK_LITE_CONFIG_SIZE))
		return -EFAULT;
	return 0;
}
