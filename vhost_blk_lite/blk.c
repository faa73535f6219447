// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_blk_lite: /dev/vhost-blk-lite, a virtio-blk back end on the
 * vhost-lite core.  Each open file is one virtio-blk device with
 * VHL_BLK_VQ_MAX request virtqueues on one backend, a regular file or a
 * block device set with VHOST_BLK_LITE_SET_BACKEND.
 *
 * This file holds the device's life cycle and ioctls; blk_backend.c the
 * backends, blk_req.c the request parser and blk_io.c the I/O path.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "blk.h"

static int vhl_blk_open(struct inode *inode, struct file *f)
{
	struct vhl_blk *blk;
	int i;

	blk = kvzalloc(sizeof(*blk), GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL);
	if (!blk)
		return -ENOMEM;
	blk->wq = alloc_workqueue("vhl-blk", WQ_UNBOUND, 0);
	if (!blk->wq) {
		kvfree(blk);
		return -ENOMEM;
	}
	spin_lock_init(&blk->lock);
	init_waitqueue_head(&blk->wait);
	INIT_LIST_HEAD(&blk->writes);

	for (i = 0; i < VHL_BLK_VQ_MAX; i++) {
		struct vhl_blk_vq *bvq = &blk->vqs[i];

		bvq->blk = blk;
		bvq->vq.handle_kick = vhl_blk_handle_kick;
		init_llist_head(&bvq->done);
		vhl_work_init(&bvq->done_work, vhl_blk_done_work);
		blk->vq_ptrs[i] = &bvq->vq;
	}
	vhl_dev_init(&blk->dev, blk->vq_ptrs, VHL_BLK_VQ_MAX, VHL_BLK_IOV_MAX,
		     VHL_BLK_PKT_WEIGHT, 0, "blk");

	f->private_data = blk;
	return 0;
}

static int vhl_blk_release(struct inode *inode, struct file *f)
{
	struct vhl_blk *blk = f->private_data;
	struct vhl_blk_backend *be;

	mutex_lock(&blk->dev.mutex);
	be = vhl_blk_detach(blk);
	mutex_unlock(&blk->dev.mutex);
	/* Kick polls off, then let every request in flight end. */
	vhl_dev_stop(&blk->dev);
	vhl_blk_drain(blk, ~0UL);
	vhl_dev_cleanup(&blk->dev);
	vhl_blk_backend_put(be);
	destroy_workqueue(blk->wq);
	kvfree(blk);
	return 0;
}

static long vhl_blk_reset_owner(struct vhl_blk *blk)
{
	struct vhl_blk_backend *be = NULL;
	long r;

	mutex_lock(&blk->dev.mutex);
	r = vhl_dev_check_owner(&blk->dev);
	if (r)
		goto out_unlock;
	be = vhl_blk_detach(blk);
	vhl_blk_drain(blk, ~0UL);
	r = vhl_dev_reset_owner(&blk->dev);
out_unlock:
	mutex_unlock(&blk->dev.mutex);
	vhl_blk_backend_put(be);
	return r;
}

static long vhl_blk_set_serial(struct vhl_blk *blk, void __user *argp)
{
	struct vhost_blk_lite_serial s;
	long r;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	mutex_lock(&blk->dev.mutex);
	r = vhl_dev_check_owner(&blk->dev);
	if (!r) {
		spin_lock_irq(&blk->lock);
		memcpy(blk->serial, s.id, sizeof(blk->serial));
		spin_unlock_irq(&blk->lock);
	}
	mutex_unlock(&blk->dev.mutex);
	return r;
}

static long vhl_blk_set_features(struct vhl_blk *blk, u64 features)
{
	long r;

	if (features & ~VHL_BLK_FEATURES)
		return -EOPNOTSUPP;
	mutex_lock(&blk->dev.mutex);
	r = vhl_dev_set_features(&blk->dev, features);
	mutex_unlock(&blk->dev.mutex);
	return r;
}

/*
 * Ring ioctls that end or change a ring wait for the requests taken from
 * it: GET_VRING_BASE stops the queue, and its answer is only final once the
 * requests taken before are published (vhost-user front ends read the used
 * ring right after); SET_VRING_NUM/ADDR/BASE must not let old requests
 * complete into a new ring.
 */
static long vhl_blk_vring_ioctl(struct vhl_blk *blk, unsigned int ioctl,
				void __user *argp)
{
	u32 idx;
	long r;

	if (get_user(idx, (u32 __user *)argp))
		return -EFAULT;
	mutex_lock(&blk->dev.mutex);
	r = vhl_dev_check_owner(&blk->dev);
	if (r)
		goto out_unlock;
	if (idx >= VHL_BLK_VQ_MAX) {
		r = vhl_vring_ioctl(&blk->dev, ioctl, argp);
		goto out_unlock;
	}
	idx = array_index_nospec(idx, VHL_BLK_VQ_MAX);
	if (ioctl == VHOST_GET_VRING_BASE) {
		r = vhl_vring_ioctl(&blk->dev, ioctl, argp);
		/* Stopped: the queue takes nothing new while we wait. */
		if (!r) {
			vhl_blk_drain(blk, BIT(idx));
			/* Answer again: a packed ring's base has the used position. */
			r = vhl_vring_ioctl(&blk->dev, ioctl, argp);
		}
	} else {
		vhl_blk_quiesce(blk, idx, true);
		r = vhl_vring_ioctl(&blk->dev, ioctl, argp);
		vhl_blk_quiesce(blk, idx, false);
	}
out_unlock:
	mutex_unlock(&blk->dev.mutex);
	return r;
}

static long vhl_blk_ioctl(struct file *f, unsigned int ioctl,
			  unsigned long arg)
{
	struct vhl_blk *blk = f->private_data;
	void __user *argp = (void __user *)arg;
	u64 __user *featurep = argp;
	struct vhost_blk_lite_backend b;
	u64 features;
	long r;

	/* Once owned, the device is the owner's alone (SET_OWNER: -EBUSY). */
	if (ioctl != VHOST_SET_OWNER) {
		r = vhl_dev_check_caller(&blk->dev);
		if (r)
			return r;
	}

	switch (ioctl) {
	case VHOST_BLK_LITE_SET_BACKEND:
		if (copy_from_user(&b, argp, sizeof(b)))
			return -EFAULT;
		return vhl_blk_set_backend(blk, &b);
	case VHOST_BLK_LITE_SET_SERIAL:
		return vhl_blk_set_serial(blk, argp);
	case VHOST_BLK_LITE_GET_CONFIG:
		return vhl_blk_get_config(blk, argp);
	case VHOST_GET_FEATURES:
		features = vhl_blk_features(blk);
		if (copy_to_user(featurep, &features, sizeof(features)))
			return -EFAULT;
		return 0;
	case VHOST_SET_FEATURES:
		if (copy_from_user(&features, featurep, sizeof(features)))
			return -EFAULT;
		return vhl_blk_set_features(blk, features);
	case VHOST_RESET_OWNER:
		return vhl_blk_reset_owner(blk);
	case VHOST_GET_VRING_BASE:
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_ADDR:
	case VHOST_SET_VRING_BASE:
		return vhl_blk_vring_ioctl(blk, ioctl, argp);
	default:
		return vhl_dev_common_ioctl(&blk->dev, ioctl, argp);
	}
}

static void vhl_blk_show_fdinfo(struct seq_file *m, struct file *f)
{
	struct vhl_blk *blk = f->private_data;
	struct vhl_blk_backend *be;
	int i;

	vhl_dev_show_fdinfo(m, &blk->dev);
	mutex_lock(&blk->dev.mutex);
	be = blk->backend;
	if (be)
		seq_printf(m, "vhl-blk-backend:\t%s capacity=%llu ro=%d direct=%d discard=%d\n",
			   be->bdev ? "bdev" : "file", be->capacity, be->ro,
			   !!be->dio_mask, be->discard);
	else
		seq_puts(m, "vhl-blk-backend:\tnone\n");
	mutex_unlock(&blk->dev.mutex);
	/* Lockless, like the core's lines. */
	for (i = 0; i < VHL_BLK_VQ_MAX; i++) {
		struct vhl_blk_vq *bvq = &blk->vqs[i];

		seq_printf(m, "vhl-blk-vq%d:\tinflight=%u ioerr=%llu unsupp=%llu\n",
			   i, READ_ONCE(bvq->inflight), READ_ONCE(bvq->ioerr),
			   READ_ONCE(bvq->unsupp));
	}
}

static const struct file_operations vhl_blk_fops = {
	.owner = THIS_MODULE,
	.open = vhl_blk_open,
	.release = vhl_blk_release,
	.unlocked_ioctl = vhl_blk_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
	.show_fdinfo = vhl_blk_show_fdinfo,
};

static struct miscdevice vhl_blk_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vhost-blk-lite",
	.fops = &vhl_blk_fops,
};
module_misc_device(vhl_blk_misc);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("vhost-lite developers");
MODULE_DESCRIPTION("vhost-lite virtio-blk back end (files and block devices)");
