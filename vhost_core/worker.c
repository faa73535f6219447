// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-lite workers: threads that run queued virtqueue work in the owner's
 * mm, charged to the owner (one per device by default, more with
 * VHOST_NEW_WORKER: workers.c).  Where the kernel offers vhost_task the
 * worker is a thread of the owner's process (it shares its mm, cgroups and
 * limits); elsewhere it is a kthread that adopts the owner's mm with
 * kthread_use_mm() and joins the owner's cgroups.
 */
#include <linux/cgroup.h>
#include <linux/kthread.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "internal.h"
#include "worker.h"

struct vhl_flush_work {
	struct vhl_work work;
	struct completion done;
};

/**
 * vhl_work_init() - initialise a work item
 * @work: the work
 * @fn: the function the worker calls with @work
 *
 * Context: any; @work must not be queued.
 */
void vhl_work_init(struct vhl_work *work, vhl_work_fn_t fn)
{
	clear_bit(VHL_WORK_QUEUED, &work->flags);
	work->fn = fn;
}
EXPORT_SYMBOL_GPL(vhl_work_init);

static void vhl_worker_wake(struct vhl_worker *worker)
{
#if VHL_HAVE_VHOST_TASK
	vhost_task_wake(worker->vtsk);
#else
	wake_up_process(worker->task);
#endif
}

static bool vhl_worker_queue(struct vhl_worker *worker, struct vhl_work *work)
{
	unsigned long flags;

	if (test_and_set_bit(VHL_WORK_QUEUED, &work->flags))
		return true;	/* already queued: it will run */

	spin_lock_irqsave(&worker->lock, flags);
	if (unlikely(worker->killed)) {
		spin_unlock_irqrestore(&worker->lock, flags);
		clear_bit(VHL_WORK_QUEUED, &work->flags);
		return false;
	}
	llist_add(&work->node, &worker->work_list);
	/* Under the lock: vhl_worker_destroy() may free the task after it. */
	vhl_worker_wake(worker);
	spin_unlock_irqrestore(&worker->lock, flags);
	return true;
}

/**
 * vhl_vq_work_queue() - queue work on the worker that serves a virtqueue
 * @vq: the virtqueue
 * @work: the work
 *
 * Context: any, including hard interrupt context.
 * Return: true if @work is queued (or already was), false if the device has
 * no worker or its worker was killed.
 */
bool vhl_vq_work_queue(struct vhl_virtqueue *vq, struct vhl_work *work)
{
	struct vhl_worker *worker;
	bool queued = false;

	/* VHOST_ATTACH_VRING_WORKER waits for us before it frees @worker. */
	rcu_read_lock();
	worker = rcu_dereference(vq->worker);
	if (worker)
		queued = vhl_worker_queue(worker, work);
	rcu_read_unlock();
	return queued;
}
EXPORT_SYMBOL_GPL(vhl_vq_work_queue);

/* Run what is queued; called in the worker with its state set to sleep. */
static bool vhl_worker_run(struct vhl_worker *worker)
{
	struct llist_node *node = llist_del_all(&worker->work_list);
	struct vhl_work *work, *next;

	if (!node)
		return false;

	__set_current_state(TASK_RUNNING);
	node = llist_reverse_order(node);
	/* Clear QUEUED only after the list no longer holds the work. */
	smp_wmb();
	llist_for_each_entry_safe(work, next, node, node) {
		clear_bit(VHL_WORK_QUEUED, &work->flags);
		work->fn(work);
		WRITE_ONCE(worker->works, worker->works + 1);
		cond_resched();
	}
	return true;
}

/* Is work queued on @worker (NULL: none)?  Context: any. */
bool vhl_worker_pending(struct vhl_worker *worker)
{
	return worker && !llist_empty(&worker->work_list);
}

static void vhl_flush_fn(struct vhl_work *work)
{
	struct vhl_flush_work *f = container_of(work, struct vhl_flush_work,
						 work);

	complete(&f->done);
}

void vhl_worker_flush(struct vhl_worker *worker)
{
	struct vhl_flush_work f;

	init_completion(&f.done);
	vhl_work_init(&f.work, vhl_flush_fn);
	if (vhl_worker_queue(worker, &f.work))
		wait_for_completion(&f.done);
}

/**
 * vhl_dev_flush() - wait until all work queued so far on the device ran
 * @dev: the device
 *
 * Flushes every worker of the device, one after the other.
 *
 * Context: process context; may sleep.  dev->mutex held, or the file
 * being released (nothing frees workers meanwhile).  Must not be called
 * with a vq->mutex held (the work takes it).
 */
void vhl_dev_flush(struct vhl_dev *dev)
{
	struct vhl_worker *worker;
	unsigned long id;

	xa_for_each(&dev->workers, id, worker)
		vhl_worker_flush(worker);
}
EXPORT_SYMBOL_GPL(vhl_dev_flush);

#if VHL_HAVE_VHOST_TASK

static bool vhl_worker_fn(void *data)
{
	return vhl_worker_run(data);
}

/* The owner got SIGKILL: refuse new work and finish what is queued. */
static void vhl_worker_killed(void *data)
{
	struct vhl_worker *worker = data;
	unsigned long flags;

	spin_lock_irqsave(&worker->lock, flags);
	worker->killed = true;
	spin_unlock_irqrestore(&worker->lock, flags);
	vhl_worker_run(worker);
	__set_current_state(TASK_RUNNING);
}

static int vhl_worker_start(struct vhl_worker *worker, struct vhl_dev *dev)
{
	char name[TASK_COMM_LEN];
	struct vhost_task *vtsk;

	snprintf(name, sizeof(name), "vhl-%d", current->pid);
	vtsk = vhost_task_create(vhl_worker_fn, vhl_worker_killed, worker,
				 name);
	if (IS_ERR_OR_NULL(vtsk))
		return vtsk ? PTR_ERR(vtsk) : -ENOMEM;
	worker->vtsk = vtsk;
	vhost_task_start(vtsk);
	return 0;
}

static void vhl_worker_stop(struct vhl_worker *worker)
{
	vhost_task_stop(worker->vtsk);
}

#else /* !VHL_HAVE_VHOST_TASK */

static int vhl_worker_thread(void *data)
{
	struct vhl_worker *worker = data;

	kthread_use_mm(worker->mm);
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop()) {
			__set_current_state(TASK_RUNNING);
			break;
		}
		if (!vhl_worker_run(worker))
			schedule();
	}
	kthread_unuse_mm(worker->mm);
	return 0;
}

static int vhl_worker_start(struct vhl_worker *worker, struct vhl_dev *dev)
{
	struct task_struct *task;
	int ret;

	worker->mm = dev->mm;
	task = kthread_create(vhl_worker_thread, worker, "vhl-%d",
			      current->pid);
	if (IS_ERR(task))
		return PTR_ERR(task);

	/* Charge the worker to the owner's cgroups, as its own threads. */
	ret = cgroup_attach_task_all(current, task);
	if (ret)
		goto err_stop_task;

	worker->task = task;
	wake_up_process(task);
	return 0;

err_stop_task:
	kthread_stop(task);
	return ret;
}

static void vhl_worker_stop(struct vhl_worker *worker)
{
	kthread_stop(worker->task);
}

#endif /* VHL_HAVE_VHOST_TASK */

struct vhl_worker *vhl_worker_create(struct vhl_dev *dev)
{
	struct vhl_worker *worker;
	int ret;

	worker = kzalloc(sizeof(*worker), GFP_KERNEL_ACCOUNT);
	if (!worker)
		return ERR_PTR(-ENOMEM);
	init_llist_head(&worker->work_list);
	spin_lock_init(&worker->lock);

	ret = vhl_worker_start(worker, dev);
	if (ret)
		goto err_free_worker;
	return worker;

err_free_worker:
	kfree(worker);
	return ERR_PTR(ret);
}

/*
 * No virtqueue may point to @worker any more and the polls feeding it must
 * be stopped; fdinfo readers may still look at it under rcu_read_lock().
 */
void vhl_worker_destroy(struct vhl_worker *worker)
{
	unsigned long flags;

	/* A late queuer, still holding the old vq pointer, finds it killed. */
	spin_lock_irqsave(&worker->lock, flags);
	WARN_ON_ONCE(!llist_empty(&worker->work_list) && !worker->killed);
	worker->killed = true;
	spin_unlock_irqrestore(&worker->lock, flags);
	vhl_worker_stop(worker);
	kfree_rcu(worker, rcu);
}
