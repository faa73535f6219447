// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-lite polls: turn a file's wakeup (a kick eventfd, a socket becoming
 * readable or writable) into work for the virtqueue's worker.
 */
#include <linux/ktime.h>

#include "internal.h"
#include "vhl_trace.h"

static int vhl_poll_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			   int sync, void *key)
{
	struct vhl_poll *poll = container_of(wait, struct vhl_poll, wait);

	if (!(key_to_poll(key) & poll->mask))
		return 0;
	vhl_vq_work_queue(poll->vq, &poll->work);
	return 0;
}

static void vhl_poll_func(struct file *file, wait_queue_head_t *wqh,
			  poll_table *pt)
{
	struct vhl_poll *poll = container_of(pt, struct vhl_poll, table);

	poll->wqh = wqh;
	add_wait_queue(wqh, &poll->wait);
}

/*
 * Worker side: account the run to the virtqueue, then call the back end.
 * A run of the kick poll is a kick handled (vhl_kick tracepoint, with the
 * chains the handler took and its run time).
 */
static void vhl_poll_run(struct vhl_work *work)
{
	struct vhl_poll *poll = container_of(work, struct vhl_poll, work);
	struct vhl_virtqueue *vq = poll->vq;
	bool kick = poll == &vq->poll;
	u64 start = ktime_get_ns();
	u64 descs = READ_ONCE(vq->stats.descs);
	u64 ns;

	if (kick)
		WRITE_ONCE(vq->stats.kicks, vq->stats.kicks + 1);
	poll->fn(work);
	ns = ktime_get_ns() - start;
	WRITE_ONCE(vq->stats.worker_ns, vq->stats.worker_ns + ns);
	if (kick)
		trace_vhl_kick(vq, READ_ONCE(vq->stats.descs) - descs, ns);
}

/**
 * vhl_poll_init() - prepare a poll that runs @fn on @vq's worker
 * @poll: the poll
 * @fn: handler; it receives &poll->work
 * @mask: events of the polled file that trigger @fn
 * @vq: virtqueue whose worker runs @fn
 *
 * Context: process context; @poll must not be started.
 */
void vhl_poll_init(struct vhl_poll *poll, vhl_work_fn_t fn, __poll_t mask,
		   struct vhl_virtqueue *vq)
{
	init_waitqueue_func_entry(&poll->wait, vhl_poll_wakeup);
	init_poll_funcptr(&poll->table, vhl_poll_func);
	vhl_work_init(&poll->work, vhl_poll_run);
	poll->fn = fn;
	poll->mask = mask;
	poll->vq = vq;
	poll->wqh = NULL;
}
EXPORT_SYMBOL_GPL(vhl_poll_init);

/**
 * vhl_poll_start() - start polling @file; queue the work if it is ready
 * @poll: the poll
 * @file: file to poll
 *
 * Context: process context; the caller serialises start and stop of @poll
 * (vq->mutex or dev->mutex).
 * Return: 0, or -EINVAL if @file reports an error condition.
 */
int vhl_poll_start(struct vhl_poll *poll, struct file *file)
{
	__poll_t mask;

	if (poll->wqh)
		return 0;

	mask = vfs_poll(file, &poll->table);
	if (mask)
		vhl_poll_wakeup(&poll->wait, 0, 0, poll_to_key(mask));
	if (mask & EPOLLERR) {
		vhl_poll_stop(poll);
		return -EINVAL;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(vhl_poll_start);

/**
 * vhl_poll_stop() - stop polling; no new work is queued after return
 * @poll: the poll
 *
 * Context: process context; same serialisation as vhl_poll_start().  Work
 * queued before may still run: flush the device to wait for it.
 */
void vhl_poll_stop(struct vhl_poll *poll)
{
	if (poll->wqh) {
		remove_wait_queue(poll->wqh, &poll->wait);
		poll->wqh = NULL;
	}
}
EXPORT_SYMBOL_GPL(vhl_poll_stop);

/**
 * vhl_poll_queue() - run the poll's handler as if its file had woken it
 * @poll: the poll
 *
 * Context: any.
 */
void vhl_poll_queue(struct vhl_poll *poll)
{
	vhl_vq_work_queue(poll->vq, &poll->work);
}
EXPORT_SYMBOL_GPL(vhl_poll_queue);
