/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-lite core: the worker thread object, shared by worker.c (the
 * thread) and workers.c (a device's set of workers and their ioctls).
 */
#ifndef _VHL_WORKER_H
#define _VHL_WORKER_H

#include <linux/llist.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>

#include "compat.h"

/**
 * struct vhl_worker - a thread that runs work of a device's virtqueues
 * @work_list: queued work, newest first
 * @lock: orders queueing against @killed
 * @killed: the owner was killed; nothing runs any more
 * @id: the worker's number in dev->workers (VHOST_NEW_WORKER's answer)
 * @attached: virtqueues whose vq->worker is this one (dev->mutex)
 * @works: work items run, for fdinfo
 * @rcu: frees the worker after fdinfo readers are done with it
 * @task: the kthread (no vhost_task)
 * @vtsk: the vhost_task
 * @mm: the owner's mm, adopted by the kthread
 */
struct vhl_worker {
	struct llist_head work_list;
	spinlock_t lock;	/* orders queueing against @killed */
	bool killed;
	u32 id;
	unsigned int attached;
	u64 works;
	struct rcu_head rcu;
#if VHL_HAVE_VHOST_TASK
	struct vhost_task *vtsk;
#else
	struct task_struct *task;
	struct mm_struct *mm;
#endif
};

struct vhl_worker *vhl_worker_create(struct vhl_dev *dev);
void vhl_worker_destroy(struct vhl_worker *worker);
void vhl_worker_flush(struct vhl_worker *worker);

#endif /* _VHL_WORKER_H */
