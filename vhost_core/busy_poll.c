// SPDX-License-Identifier: GPL-2.0
/*
 * Bounded busy polling (VHOST_SET_VRING_BUSYLOOP_TIMEOUT): before a
 * handler goes back to waiting for a kick or for its backend, it may poll
 * for up to the virtqueue's timeout.  Unlike the in-tree loop, this one
 * runs with preemption enabled: it yields whenever the scheduler asks
 * (cond_resched()), and it stops as soon as other work is queued for the
 * worker or a signal is pending.
 */
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>

#include "internal.h"

/**
 * vhl_busy_poll() - poll until something is ready or the timeout passes
 * @vq: the virtqueue whose handler polls; its busyloop timeout bounds it
 * @ready: the condition, called with @arg; true ends the poll
 * @arg: its argument
 *
 * Context: the virtqueue's worker, vq->mutex held, in the owner's mm; may
 * sleep (yields the CPU when rescheduling is due).
 * Return: true if @ready became true, false if the timeout passed, other
 * work was queued for the worker or a signal is pending (or the timeout is
 * 0: no polling).
 */
bool vhl_busy_poll(struct vhl_virtqueue *vq, bool (*ready)(void *arg),
		   void *arg)
{
	struct vhl_worker *worker;
	u64 end;

	if (!vq->busyloop_timeout)
		return false;
	/* The worker running us: vq->mutex keeps it attached. */
	worker = rcu_dereference_protected(vq->worker,
					   lockdep_is_held(&vq->mutex));
	vq->stats.busy_polls++;
	end = local_clock() + (u64)vq->busyloop_timeout * NSEC_PER_USEC;
	do {
		if (ready(arg)) {
			vq->stats.busy_poll_hits++;
			return true;
		}
		if (vhl_worker_pending(worker) || signal_pending(current))
			return false;
		cond_resched();
		cpu_relax();
	} while (local_clock() < end);
	return false;
}
EXPORT_SYMBOL_GPL(vhl_busy_poll);

static bool vhl_vq_avail_ready(void *arg)
{
	struct vhl_virtqueue *vq = arg;

	return vhl_vq_ready(vq) && !vq->ops->avail_empty(vq);
}

/**
 * vhl_vq_busy_poll() - poll the avail ring for new buffers
 * @vq: the virtqueue
 *
 * Called where a handler found the ring empty, before vhl_enable_notify().
 *
 * Context: the virtqueue's worker, vq->mutex held, in the owner's mm.
 * Return: true if the guest made buffers available within the virtqueue's
 * busyloop timeout.
 */
bool vhl_vq_busy_poll(struct vhl_virtqueue *vq)
{
	if (!vhl_vq_ready(vq))
		return false;
	return vhl_busy_poll(vq, vhl_vq_avail_ready, vq);
}
EXPORT_SYMBOL_GPL(vhl_vq_busy_poll);
