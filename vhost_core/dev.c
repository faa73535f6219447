// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-lite device core: owner, features, memory table and virtqueue
 * set-up, with the ioctl numbers of <linux/vhost.h>.
 */
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/sched/mm.h>
#include <linux/uaccess.h>
#include <linux/vhost_lite.h>

#include "internal.h"

/* Source of vhl_dev.id. */
static atomic_t vhl_dev_ids = ATOMIC_INIT(0);

/* Context: vq->mutex held or the device not yet shared. */
static void vhl_vq_reset(struct vhl_virtqueue *vq)
{
	kvfree(vq->packed_ndescs);
	vq->packed_ndescs = NULL;
	vq->packed_taken = NULL;
	vq->packed_ntaken = 0;
	vq->packed_unsignalled = 0;
	/* A fresh packed ring starts in lap 1 (VIRTIO 1.1 2.8.1). */
	vq->avail_wrap = true;
	vq->used_wrap = true;
	vq->ops = &vhl_split_ops;
	vq->num = 0;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->desc_user_addr = 0;
	vq->avail_user_addr = 0;
	vq->used_user_addr = 0;
	vq->last_avail_idx = 0;
	vq->avail_idx = 0;
	vq->last_used_idx = 0;
	vq->used_flags = 0;
	vq->signalled_used = 0;
	vq->signalled_used_valid = false;
	vq->broken = false;
	vq->stopped = false;
	vq->busyloop_timeout = 0;
	vq->acked_features = 0;
	vq->acked_backend_features = 0;
	vq->private_data = NULL;
	vq->mem = NULL;
	vq->mem_hint = 0;
	vq->kick = NULL;
	vq->call_ctx = NULL;
	vq->error_ctx = NULL;
	vq->log_base = NULL;
	vq->log_ctx = NULL;
	vq->log_used = false;
	vq->log_guest_addr = 0;
}

/**
 * vhl_dev_init() - initialise a device and its virtqueues
 * @dev: the device, embedded in the back end's structure
 * @vqs: the virtqueues; each vq->handle_kick must be set
 * @nvqs: number of virtqueues
 * @iov_limit: largest number of iovecs per chain the back end handles
 * @weight: packets/requests per handler run before yielding (0: no limit)
 * @byte_weight: bytes per handler run before yielding (0: no limit)
 * @kind: back end name for fdinfo, e.g. "net"
 *
 * Context: process context, at open time; nothing else sees @dev yet.
 */
void vhl_dev_init(struct vhl_dev *dev, struct vhl_virtqueue **vqs, int nvqs,
		  int iov_limit, int weight, int byte_weight, const char *kind)
{
	int i;

	mutex_init(&dev->mutex);
	dev->id = (u32)atomic_inc_return(&vhl_dev_ids);
	dev->mm = NULL;
	dev->owner_pid = 0;
	dev->owner_comm[0] = '\0';
	dev->vqs = vqs;
	dev->nvqs = nvqs;
	dev->mem = NULL;
	xa_init_flags(&dev->workers, XA_FLAGS_ALLOC);
	dev->nworkers = 0;
	dev->iov_limit = iov_limit;
	dev->weight = weight;
	dev->byte_weight = byte_weight;
	dev->kind = kind;

	for (i = 0; i < nvqs; i++) {
		struct vhl_virtqueue *vq = vqs[i];

		vq->dev = dev;
		vq->index = i;
		RCU_INIT_POINTER(vq->worker, NULL);
		vq->packed_ndescs = NULL;
		mutex_init(&vq->mutex);
		memset(&vq->stats, 0, sizeof(vq->stats));
		vhl_vq_reset(vq);
		vhl_poll_init(&vq->poll, vq->handle_kick, EPOLLIN, vq);
	}
}
EXPORT_SYMBOL_GPL(vhl_dev_init);

/**
 * vhl_dev_check_owner() - is the caller the device's owner?
 * @dev: the device
 *
 * Context: dev->mutex held.
 * Return: 0, or -EPERM for any other process (or before SET_OWNER).
 */
long vhl_dev_check_owner(struct vhl_dev *dev)
{
	return dev->mm == current->mm ? 0 : -EPERM;
}
EXPORT_SYMBOL_GPL(vhl_dev_check_owner);

/**
 * vhl_dev_check_caller() - may the calling process use the device at all?
 * @dev: the device
 *
 * Before VHOST_SET_OWNER any process holding the file may query and set
 * it up (GET_FEATURES, SET_OWNER, ...); once it has an owner, only the
 * owner's process may, whatever the ioctl: another process that inherited
 * the file gets -EPERM even for queries and feature negotiation.
 *
 * Context: process context; takes and releases dev->mutex.
 * Return: 0, or -EPERM for a process other than the owner.
 */
long vhl_dev_check_caller(struct vhl_dev *dev)
{
	long r;

	mutex_lock(&dev->mutex);
	r = dev->mm && dev->mm != current->mm ? -EPERM : 0;
	mutex_unlock(&dev->mutex);
	return r;
}
EXPORT_SYMBOL_GPL(vhl_dev_check_caller);

/**
 * vhl_dev_set_owner() - make the caller the owner and start the worker
 * @dev: the device
 *
 * Context: dev->mutex held, process context of the owner-to-be.
 * Return: 0, -EBUSY if the device has an owner, or an allocation error.
 */
long vhl_dev_set_owner(struct vhl_dev *dev)
{
	long r;

	if (dev->mm)
		return -EBUSY;
	dev->mm = get_task_mm(current);
	if (!dev->mm)
		return -EINVAL;

	r = vhl_dev_workers_start(dev);
	if (r) {
		mmput(dev->mm);
		dev->mm = NULL;
		return r;
	}
	dev->owner_pid = task_tgid_nr(current);
	get_task_comm(dev->owner_comm, current);
	return 0;
}
EXPORT_SYMBOL_GPL(vhl_dev_set_owner);

/**
 * vhl_dev_stop() - stop every kick poll and wait for the worker
 * @dev: the device
 *
 * The back end must stop its own polls (e.g. sockets) before, so that
 * nothing queues work afterwards.
 *
 * Context: process context; no vq->mutex held.
 */
void vhl_dev_stop(struct vhl_dev *dev)
{
	int i;

	for (i = 0; i < dev->nvqs; i++) {
		struct vhl_virtqueue *vq = dev->vqs[i];

		mutex_lock(&vq->mutex);
		vhl_poll_stop(&vq->poll);
		mutex_unlock(&vq->mutex);
	}
	vhl_dev_flush(dev);
}
EXPORT_SYMBOL_GPL(vhl_dev_stop);

/**
 * vhl_dev_cleanup() - release everything SET_OWNER and set-up acquired
 * @dev: the device, stopped with vhl_dev_stop() and without back ends
 *
 * Afterwards the device is as after vhl_dev_init() (counters excepted).
 *
 * Context: process context; dev->mutex held or the file being released.
 */
void vhl_dev_cleanup(struct vhl_dev *dev)
{
	int i;

	for (i = 0; i < dev->nvqs; i++) {
		struct vhl_virtqueue *vq = dev->vqs[i];

		mutex_lock(&vq->mutex);
		vhl_poll_stop(&vq->poll);
		if (vq->kick)
			fput(vq->kick);
		if (vq->call_ctx)
			eventfd_ctx_put(vq->call_ctx);
		if (vq->error_ctx)
			eventfd_ctx_put(vq->error_ctx);
		vhl_vq_reset(vq);
		mutex_unlock(&vq->mutex);
	}
	vhl_dev_log_cleanup(dev);
	vhl_mem_free(dev->mem);
	dev->mem = NULL;
	vhl_dev_workers_free(dev);
	if (dev->mm) {
		mmput(dev->mm);
		dev->mm = NULL;
	}
	dev->owner_pid = 0;
	dev->owner_comm[0] = '\0';
}
EXPORT_SYMBOL_GPL(vhl_dev_cleanup);

/**
 * vhl_dev_reset_owner() - VHOST_RESET_OWNER: drop owner and all set-up
 * @dev: the device; the back end detached its back ends before
 *
 * Context: dev->mutex held, by the owner.
 * Return: 0 or -EPERM.
 */
long vhl_dev_reset_owner(struct vhl_dev *dev)
{
	long r = vhl_dev_check_owner(dev);

	if (r)
		return r;
	vhl_dev_stop(dev);
	vhl_dev_cleanup(dev);
	return 0;
}
EXPORT_SYMBOL_GPL(vhl_dev_reset_owner);

/**
 * vhl_dev_set_features() - record negotiated features on every virtqueue
 * @dev: the device
 * @features: features the back end accepted
 *
 * Switching VHOST_F_LOG_ALL on needs a log bitmap (if one is set) that
 * covers guest memory and the logged used rings.  Before SET_OWNER any
 * process may negotiate; afterwards only the owner.
 *
 * Context: dev->mutex held.
 * Return: 0, -EPERM for a process other than the owner, -EINVAL for
 * packed rings without VIRTIO_F_VERSION_1, -EBUSY to change the ring layout
 * while a ring is set up, or -EFAULT if the log bitmap is too small.
 */
int vhl_dev_set_features(struct vhl_dev *dev, u64 features)
{
	bool packed = features & BIT_ULL(VIRTIO_F_RING_PACKED);
	int i;

	if (dev->mm && dev->mm != current->mm)
		return -EPERM;
	/* Packed rings are a VIRTIO 1.x layout: always little endian. */
	if (packed && !(features & BIT_ULL(VIRTIO_F_VERSION_1)))
		return -EINVAL;
	/* The layout of rings that are set up cannot change under them. */
	for (i = 0; i < dev->nvqs; i++) {
		struct vhl_virtqueue *vq = dev->vqs[i];
		bool busy;

		mutex_lock(&vq->mutex);
		busy = vq->desc && vhl_vq_packed(vq) != packed;
		mutex_unlock(&vq->mutex);
		if (busy)
			return -EBUSY;
	}
	if ((features & BIT_ULL(VHOST_F_LOG_ALL)) &&
	    !vhl_dev_log_ok(dev, dev->log_base, dev->mem))
		return -EFAULT;

	for (i = 0; i < dev->nvqs; i++) {
		struct vhl_virtqueue *vq = dev->vqs[i];

		mutex_lock(&vq->mutex);
		vq->acked_features = features;
		vq->ops = packed ? &vhl_packed_ops : &vhl_split_ops;
		mutex_unlock(&vq->mutex);
	}
	return 0;
}
EXPORT_SYMBOL_GPL(vhl_dev_set_features);

/**
 * vhl_dev_ioctl() - device-wide vhost ioctls
 * @dev: the device
 * @ioctl: the command
 * @argp: its argument
 *
 * Handles SET_OWNER, SET_MEM_TABLE, SET_LOG_BASE, SET_LOG_FD and
 * NEW_WORKER/FREE_WORKER (workers.c); every command but SET_OWNER needs the
 * owner.
 *
 * Context: dev->mutex held.
 * Return: the command's result, -EPERM, or -ENOIOCTLCMD for a command that
 * is not device-wide (try vhl_vring_ioctl()).
 */
long vhl_dev_ioctl(struct vhl_dev *dev, unsigned int ioctl, void __user *argp)
{
	long r;

	if (ioctl == VHOST_SET_OWNER)
		return vhl_dev_set_owner(dev);

	r = vhl_dev_check_owner(dev);
	if (r)
		return r;

	switch (ioctl) {
	case VHOST_SET_MEM_TABLE:
		return vhl_set_mem_table(dev, argp);
	case VHOST_SET_LOG_BASE:
		return vhl_dev_set_log_base(dev, argp);
	case VHOST_SET_LOG_FD:
		return vhl_dev_set_log_fd(dev, argp);
	case VHOST_NEW_WORKER:
	case VHOST_FREE_WORKER:
		return vhl_dev_worker_ioctl(dev, ioctl, argp);
	default:
		return -ENOIOCTLCMD;
	}
}
EXPORT_SYMBOL_GPL(vhl_dev_ioctl);

/* Take a new eventfd context (or none for VHOST_FILE_UNBIND). */
static struct eventfd_ctx *vhl_eventfd_get(int fd)
{
	return fd == VHOST_FILE_UNBIND ? NULL : eventfd_ctx_fdget(fd);
}

static long vhl_vring_set_kick(struct vhl_virtqueue *vq, int fd)
{
	struct file *file = NULL;

	if (fd != VHOST_FILE_UNBIND) {
		file = eventfd_fget(fd);
		if (IS_ERR(file))
			return PTR_ERR(file);
	}
	/* Re-arm even for the same file: GET_VRING_BASE stopped the poll. */
	vhl_poll_stop(&vq->poll);
	if (vq->kick)
		fput(vq->kick);
	vq->kick = file;
	return file ? vhl_poll_start(&vq->poll, file) : 0;
}

static long vhl_vring_set_addr(struct vhl_virtqueue *vq,
			       struct vhost_vring_addr *a)
{
	size_t sizes[3], align[3];
	void __user *desc, *avail, *used;
	bool log = a->flags & BIT(VHOST_VRING_F_LOG);
	int r;

	if (a->flags & ~BIT(VHOST_VRING_F_LOG))
		return -EOPNOTSUPP;
	if (!vq->num)
		return -EINVAL;
	/*
	 * A running queue may only switch used-ring logging, as QEMU does
	 * when a migration starts or ends; its rings stay where they are.
	 */
	if (vq->private_data) {
		if (a->desc_user_addr != vq->desc_user_addr ||
		    a->avail_user_addr != vq->avail_user_addr ||
		    a->used_user_addr != vq->used_user_addr || !vq->desc)
			return -EBUSY;
		return vhl_log_set_used(vq, log, a->log_guest_addr);
	}
	vq->ops->ring_sizes(vq->num, sizes, align);
	if ((a->desc_user_addr & (align[0] - 1)) ||
	    (a->avail_user_addr & (align[1] - 1)) ||
	    (a->used_user_addr & (align[2] - 1)))
		return -EINVAL;
	if ((u64)(unsigned long)a->desc_user_addr != a->desc_user_addr ||
	    (u64)(unsigned long)a->avail_user_addr != a->avail_user_addr ||
	    (u64)(unsigned long)a->used_user_addr != a->used_user_addr)
		return -EFAULT;

	desc = (void __user *)(unsigned long)a->desc_user_addr;
	avail = (void __user *)(unsigned long)a->avail_user_addr;
	used = (void __user *)(unsigned long)a->used_user_addr;
	if (!access_ok(desc, sizes[0]) || !access_ok(avail, sizes[1]) ||
	    !access_ok(used, sizes[2]))
		return -EFAULT;
	r = vhl_log_set_used(vq, log, a->log_guest_addr);
	if (r)
		return r;

	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->desc_user_addr = a->desc_user_addr;
	vq->avail_user_addr = a->avail_user_addr;
	vq->used_user_addr = a->used_user_addr;
	vq->broken = false;

	r = vq->ops->init_access(vq);
	if (r) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
	}
	return r;
}

/* Context: dev->mutex and vq->mutex held, by the owner. */
static long vhl_vring_cmd(struct vhl_virtqueue *vq, u32 idx,
			  unsigned int ioctl, void __user *argp)
{
	struct eventfd_ctx *ctx, **slot;
	struct vhost_vring_state s;
	struct vhost_vring_file f;
	struct vhost_vring_addr a;

	switch (ioctl) {
	case VHOST_SET_VRING_NUM:
		if (vq->private_data)
			return -EBUSY;
		if (copy_from_user(&s, argp, sizeof(s)))
			return -EFAULT;
		if (!s.num || s.num > VHL_MAX_VRING_NUM || (s.num & (s.num - 1)))
			return -EINVAL;
		vq->num = s.num;
		vq->log_used = false;
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		vq->broken = false;
		return 0;
	case VHOST_SET_VRING_BASE:
		if (vq->private_data)
			return -EBUSY;
		if (copy_from_user(&s, argp, sizeof(s)))
			return -EFAULT;
		if (vhl_vq_packed(vq)) {
			/*
			 * As QEMU passes it: bits 0-14 the next avail
			 * position, 15 its wrap counter; bits 16-30 the next
			 * used position, 31 its wrap counter.
			 */
			u16 avail = s.num & 0x7fff, used = (s.num >> 16) & 0x7fff;

			if (vq->num && (avail >= vq->num || used >= vq->num))
				return -EINVAL;
			vq->last_avail_idx = avail;
			vq->avail_wrap = s.num & BIT(15);
			vq->last_used_idx = used;
			vq->used_wrap = s.num & BIT(31);
		} else {
			if (s.num > 0xffff)
				return -EINVAL;
			vq->last_avail_idx = s.num;
		}
		vq->avail_idx = vq->last_avail_idx;
		vq->broken = false;
		if (vq->stopped && vq->kick) {
			vq->stopped = false;
			return vhl_poll_start(&vq->poll, vq->kick);
		}
		vq->stopped = false;
		return 0;
	case VHOST_GET_VRING_BASE:
		/* Stop the queue: nothing is consumed after we answer. */
		vhl_poll_stop(&vq->poll);
		vq->stopped = true;
		s.index = idx;
		s.num = vq->last_avail_idx;
		if (vhl_vq_packed(vq))
			s.num |= (vq->avail_wrap ? BIT(15) : 0) |
				 (u32)vq->last_used_idx << 16 |
				 (vq->used_wrap ? BIT(31) : 0);
		return copy_to_user(argp, &s, sizeof(s)) ? -EFAULT : 0;
	case VHOST_SET_VRING_ADDR:
		if (copy_from_user(&a, argp, sizeof(a)))
			return -EFAULT;
		return vhl_vring_set_addr(vq, &a);
	case VHOST_SET_VRING_BUSYLOOP_TIMEOUT:
		if (copy_from_user(&s, argp, sizeof(s)))
			return -EFAULT;
		if (s.num > VHL_MAX_BUSYLOOP_US)
			return -EINVAL;
		vq->busyloop_timeout = s.num;
		return 0;
	case VHOST_GET_VRING_BUSYLOOP_TIMEOUT:
		s.index = idx;
		s.num = vq->busyloop_timeout;
		return copy_to_user(argp, &s, sizeof(s)) ? -EFAULT : 0;
	case VHOST_SET_VRING_KICK:
		if (copy_from_user(&f, argp, sizeof(f)))
			return -EFAULT;
		return vhl_vring_set_kick(vq, f.fd);
	case VHOST_SET_VRING_CALL:
	case VHOST_SET_VRING_ERR:
		if (copy_from_user(&f, argp, sizeof(f)))
			return -EFAULT;
		ctx = vhl_eventfd_get(f.fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
		slot = ioctl == VHOST_SET_VRING_CALL ? &vq->call_ctx :
						       &vq->error_ctx;
		swap(*slot, ctx);
		if (ctx)
			eventfd_ctx_put(ctx);
		return 0;
	default:
		return -ENOIOCTLCMD;
	}
}

/**
 * vhl_vring_ioctl() - per-virtqueue vhost ioctls
 * @dev: the device
 * @ioctl: the command
 * @argp: its argument; starts with the virtqueue index
 *
 * Handles SET_VRING_NUM/ADDR/BASE, GET_VRING_BASE (which stops the queue
 * until the next SET_VRING_BASE), SET_VRING_KICK/CALL/ERR and
 * SET/GET_VRING_BUSYLOOP_TIMEOUT (microseconds, at most
 * VHL_MAX_BUSYLOOP_US; -EINVAL above) and ATTACH/GET_VRING_WORKER
 * (workers.c).
 *
 * Context: dev->mutex held, by the owner (vhl_dev_ioctl() checked it).
 * Return: the command's result, -ENOBUFS for a bad index, -ENOIOCTLCMD for
 * an unknown command.
 */
long vhl_vring_ioctl(struct vhl_dev *dev, unsigned int ioctl, void __user *argp)
{
	struct vhl_virtqueue *vq;
	u32 idx;
	long r;

	switch (ioctl) {
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_BASE:
	case VHOST_GET_VRING_BASE:
	case VHOST_SET_VRING_ADDR:
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
	case VHOST_SET_VRING_ERR:
	case VHOST_SET_VRING_BUSYLOOP_TIMEOUT:
	case VHOST_GET_VRING_BUSYLOOP_TIMEOUT:
	case VHOST_ATTACH_VRING_WORKER:
	case VHOST_GET_VRING_WORKER:
		break;
	default:
		return -ENOIOCTLCMD;
	}

	r = vhl_dev_check_owner(dev);
	if (r)
		return r;
	if (get_user(idx, (u32 __user *)argp))
		return -EFAULT;
	if (idx >= dev->nvqs)
		return -ENOBUFS;
	idx = array_index_nospec(idx, dev->nvqs);
	vq = dev->vqs[idx];
	/* These wait for the old worker, which takes vq->mutex. */
	if (ioctl == VHOST_ATTACH_VRING_WORKER ||
	    ioctl == VHOST_GET_VRING_WORKER)
		return vhl_vring_worker_ioctl(dev, vq, ioctl, argp);

	mutex_lock(&vq->mutex);
	r = vhl_vring_cmd(vq, idx, ioctl, argp);
	mutex_unlock(&vq->mutex);
	return r;
}
EXPORT_SYMBOL_GPL(vhl_vring_ioctl);

static int __init vhl_core_init(void)
{
	pr_debug("loaded, max_mem_regions=%u, %s workers\n",
		 vhl_max_mem_regions,
		 VHL_HAVE_VHOST_TASK ? "vhost_task" : "kthread");
	return 0;
}

static void __exit vhl_core_exit(void)
{
}

module_init(vhl_core_init);
module_exit(vhl_core_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("vhost-lite developers");
MODULE_DESCRIPTION("vhost-lite core: in-kernel virtio back end engine");
