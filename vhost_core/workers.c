// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-lite core: a device's workers and their ioctls, with the in-tree
 * semantics (Linux 6.5 and later) on every kernel we build for.
 *
 * SET_OWNER starts worker 0 and attaches every virtqueue to it.
 * VHOST_NEW_WORKER starts another, VHOST_ATTACH_VRING_WORKER moves a
 * virtqueue to it (its queued work runs on the old worker first),
 * VHOST_GET_VRING_WORKER tells which one a virtqueue uses, and
 * VHOST_FREE_WORKER stops a worker no virtqueue uses (-EBUSY otherwise).
 * A virtqueue always has a worker; closing the device frees them all.
 * A device has at most one worker per virtqueue plus one: on kernels
 * without vhost_task they are kthreads, which RLIMIT_NPROC does not count.
 */
#include <linux/uaccess.h>
#include <linux/vhost_lite.h>

#include "internal.h"
#include "worker.h"

static unsigned int vhl_max_workers(const struct vhl_dev *dev)
{
	return dev->nvqs + 1;
}

/* Context: dev->mutex held, by the owner. */
static struct vhl_worker *vhl_dev_new_worker(struct vhl_dev *dev)
{
	struct vhl_worker *worker;
	u32 id;
	int r;

	if (dev->nworkers >= vhl_max_workers(dev))
		return ERR_PTR(-ENOSPC);
	worker = vhl_worker_create(dev);
	if (IS_ERR(worker))
		return worker;
	r = xa_alloc(&dev->workers, &id, worker, xa_limit_32b,
		     GFP_KERNEL_ACCOUNT);
	if (r) {
		vhl_worker_destroy(worker);
		return ERR_PTR(r);
	}
	worker->id = id;
	dev->nworkers++;
	return worker;
}

/* @worker has no virtqueue.  Context: dev->mutex held. */
static void vhl_dev_free_worker(struct vhl_dev *dev, struct vhl_worker *worker)
{
	xa_erase(&dev->workers, worker->id);
	dev->nworkers--;
	vhl_worker_destroy(worker);
}

/**
 * vhl_dev_workers_start() - SET_OWNER: start worker 0 for every virtqueue
 * @dev: the device, its owner (dev->mm) just set
 *
 * Context: dev->mutex held, in the owner's process; takes each vq->mutex.
 * Return: 0 or the error of starting the thread.
 */
long vhl_dev_workers_start(struct vhl_dev *dev)
{
	struct vhl_worker *worker = vhl_dev_new_worker(dev);
	int i;

	if (IS_ERR(worker))
		return PTR_ERR(worker);
	for (i = 0; i < dev->nvqs; i++) {
		struct vhl_virtqueue *vq = dev->vqs[i];

		mutex_lock(&vq->mutex);
		rcu_assign_pointer(vq->worker, worker);
		mutex_unlock(&vq->mutex);
	}
	WRITE_ONCE(worker->attached, dev->nvqs);
	return 0;
}

/**
 * vhl_dev_workers_free() - detach every virtqueue and stop every worker
 * @dev: the device, stopped: no poll queues work any more
 *
 * Context: dev->mutex held or the file being released; takes each
 * vq->mutex.
 */
void vhl_dev_workers_free(struct vhl_dev *dev)
{
	struct vhl_worker *worker;
	unsigned long id;
	int i;

	for (i = 0; i < dev->nvqs; i++) {
		struct vhl_virtqueue *vq = dev->vqs[i];

		mutex_lock(&vq->mutex);
		RCU_INIT_POINTER(vq->worker, NULL);
		mutex_unlock(&vq->mutex);
	}
	xa_for_each(&dev->workers, id, worker) {
		WRITE_ONCE(worker->attached, 0);
		vhl_dev_free_worker(dev, worker);
	}
}

/**
 * vhl_dev_worker_ioctl() - VHOST_NEW_WORKER and VHOST_FREE_WORKER
 * @dev: the device
 * @ioctl: the command
 * @argp: a struct vhost_worker_state
 *
 * Context: dev->mutex held, by the owner.
 * Return: 0; -ENOSPC when the device has one worker per virtqueue plus
 * one; -ENODEV for an unknown id; -EBUSY for a worker a virtqueue uses.
 */
long vhl_dev_worker_ioctl(struct vhl_dev *dev, unsigned int ioctl,
			  void __user *argp)
{
	struct vhost_worker_state s;
	struct vhl_worker *worker;

	switch (ioctl) {
	case VHOST_NEW_WORKER:
		worker = vhl_dev_new_worker(dev);
		if (IS_ERR(worker))
			return PTR_ERR(worker);
		s.worker_id = worker->id;
		if (copy_to_user(argp, &s, sizeof(s))) {
			vhl_dev_free_worker(dev, worker);
			return -EFAULT;
		}
		return 0;
	case VHOST_FREE_WORKER:
		if (copy_from_user(&s, argp, sizeof(s)))
			return -EFAULT;
		worker = xa_load(&dev->workers, s.worker_id);
		if (!worker)
			return -ENODEV;
		if (worker->attached)
			return -EBUSY;
		vhl_dev_free_worker(dev, worker);
		return 0;
	default:
		return -ENOIOCTLCMD;
	}
}

/* Context: dev->mutex held, by the owner; no vq->mutex held. */
static long vhl_vq_attach_worker(struct vhl_dev *dev, struct vhl_virtqueue *vq,
				 u32 id)
{
	struct vhl_worker *worker = xa_load(&dev->workers, id), *old;

	if (!worker)
		return -ENODEV;
	mutex_lock(&vq->mutex);
	old = rcu_dereference_protected(vq->worker,
					lockdep_is_held(&vq->mutex));
	rcu_assign_pointer(vq->worker, worker);
	mutex_unlock(&vq->mutex);
	if (old == worker)
		return 0;
	WRITE_ONCE(worker->attached, worker->attached + 1);
	if (!old)
		return 0;
	/*
	 * Wait for whoever read the old pointer to finish queueing, then
	 * for the old worker to run what was queued on it: afterwards all
	 * of @vq's work runs on @worker and @old may be freed.
	 */
	synchronize_rcu();
	vhl_worker_flush(old);
	WRITE_ONCE(old->attached, old->attached - 1);
	return 0;
}

/**
 * vhl_vring_worker_ioctl() - VHOST_ATTACH_VRING_WORKER, VHOST_GET_VRING_WORKER
 * @dev: the device
 * @vq: the virtqueue the argument's index names (checked by the caller)
 * @ioctl: the command
 * @argp: a struct vhost_vring_worker
 *
 * Attaching waits until the work already queued for @vq ran on its old
 * worker; the queue keeps running meanwhile.
 *
 * Context: dev->mutex held, by the owner; takes vq->mutex.
 * Return: 0, -EFAULT, or -ENODEV for an unknown worker id.
 */
long vhl_vring_worker_ioctl(struct vhl_dev *dev, struct vhl_virtqueue *vq,
			    unsigned int ioctl, void __user *argp)
{
	struct vhost_vring_worker w;
	struct vhl_worker *worker;

	if (copy_from_user(&w, argp, sizeof(w)))
		return -EFAULT;
	if (ioctl == VHOST_ATTACH_VRING_WORKER)
		return vhl_vq_attach_worker(dev, vq, w.worker_id);

	worker = rcu_dereference_protected(vq->worker,
					   lockdep_is_held(&dev->mutex));
	if (!worker)
		return -EINVAL;
	w.worker_id = worker->id;
	return copy_to_user(argp, &w, sizeof(w)) ? -EFAULT : 0;
}

/**
 * vhl_vq_worker_id() - the id of the worker a virtqueue uses, for fdinfo
 * @vq: the virtqueue
 *
 * Context: any; takes rcu_read_lock().
 * Return: the id, or -1 before SET_OWNER.
 */
int vhl_vq_worker_id(struct vhl_virtqueue *vq)
{
	struct vhl_worker *worker;
	int id = -1;

	rcu_read_lock();
	worker = rcu_dereference(vq->worker);
	if (worker)
		id = worker->id;
	rcu_read_unlock();
	return id;
}

/**
 * vhl_dev_show_workers() - one fdinfo line per worker of the device
 * @m: the seq_file
 * @dev: the device
 *
 * Prints "vhl-worker<ID>:\tvqs=<attached> works=<run> killed=<0|1>".
 *
 * Context: process context, no lock needed (workers are freed after an
 * RCU grace period).
 */
void vhl_dev_show_workers(struct seq_file *m, struct vhl_dev *dev)
{
	struct vhl_worker *worker;
	unsigned long id;

	rcu_read_lock();
	xa_for_each(&dev->workers, id, worker)
		seq_printf(m, "vhl-worker%lu:\tvqs=%u works=%llu killed=%d\n",
			   id, READ_ONCE(worker->attached),
			   READ_ONCE(worker->works), READ_ONCE(worker->killed));
	rcu_read_unlock();
}
