// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-lite virtqueue API for back ends.  Each call dispatches to the
 * ring layout of the virtqueue (vring_split.c today).
 */
#include "internal.h"
#include "vhl_trace.h"

/**
 * vhl_get_vq_desc() - take the next available descriptor chain
 * @vq: the virtqueue
 * @iov: filled with the chain's buffers, readable ones first
 * @iov_size: room in @iov
 * @out_num: set to the number of device-readable iovecs
 * @in_num: set to the number of device-writable iovecs
 *
 * A malformed chain marks the queue broken (see vhl_vq_err()).
 *
 * Context: vq->mutex held, in the owner's mm.
 * Return: the chain's head index; vq->num if no chain is available (or the
 * queue is not ready); a negative errno if the chain is malformed.
 */
int vhl_get_vq_desc(struct vhl_virtqueue *vq, struct iovec iov[],
		    unsigned int iov_size, unsigned int *out_num,
		    unsigned int *in_num)
{
	int head;

	*out_num = 0;
	*in_num = 0;
	if (!vhl_vq_ready(vq))
		return vq->num;
	head = vq->ops->get_desc(vq, iov, iov_size, out_num, in_num);
	if (head >= 0 && head != vq->num)
		WRITE_ONCE(vq->stats.descs, vq->stats.descs + 1);
	return head;
}
EXPORT_SYMBOL_GPL(vhl_get_vq_desc);

/**
 * vhl_discard_vq_desc() - give back the last chains taken
 * @vq: the virtqueue
 * @n: how many chains
 *
 * Context: vq->mutex held.
 */
void vhl_discard_vq_desc(struct vhl_virtqueue *vq, int n)
{
	vq->ops->discard(vq, n);
}
EXPORT_SYMBOL_GPL(vhl_discard_vq_desc);

/**
 * vhl_add_used_n() - publish used entries
 * @vq: the virtqueue
 * @heads: entries
 * @count: number of entries
 *
 * Context: vq->mutex held, in the owner's mm.
 * Return: 0 or -EFAULT (the queue is then broken).
 */
int vhl_add_used_n(struct vhl_virtqueue *vq, const struct vhl_used_elem *heads,
		   unsigned int count)
{
	int ret;

	if (!count)
		return 0;
	ret = vq->ops->add_used(vq, heads, count);
	if (!ret) {
		WRITE_ONCE(vq->stats.used, vq->stats.used + count);
		trace_vhl_used(vq, heads, count);
	}
	return ret;
}
EXPORT_SYMBOL_GPL(vhl_add_used_n);

/**
 * vhl_add_used() - publish one used entry
 * @vq: the virtqueue
 * @head: head index returned by vhl_get_vq_desc()
 * @len: bytes the device wrote into the chain
 *
 * Context: vq->mutex held, in the owner's mm.
 * Return: 0 or -EFAULT.
 */
int vhl_add_used(struct vhl_virtqueue *vq, unsigned int head, int len)
{
	struct vhl_used_elem e = { .id = head, .len = len };

	return vhl_add_used_n(vq, &e, 1);
}
EXPORT_SYMBOL_GPL(vhl_add_used);

/**
 * vhl_signal() - interrupt the guest if it asked for it
 * @vq: the virtqueue
 *
 * Context: vq->mutex held, in the owner's mm.
 */
void vhl_signal(struct vhl_virtqueue *vq)
{
	if (vq->call_ctx && vq->ops->need_signal(vq)) {
		vhl_eventfd_signal(vq->call_ctx);
		WRITE_ONCE(vq->stats.calls, vq->stats.calls + 1);
		trace_vhl_call(vq);
	}
}
EXPORT_SYMBOL_GPL(vhl_signal);

/**
 * vhl_enable_notify() - ask the guest to kick for new buffers
 * @vq: the virtqueue
 *
 * Context: vq->mutex held, in the owner's mm.
 * Return: true if buffers became available meanwhile: the caller should
 * call vhl_disable_notify() and process them.
 */
bool vhl_enable_notify(struct vhl_virtqueue *vq)
{
	if (!vhl_vq_ready(vq))
		return false;
	return vq->ops->enable_notify(vq);
}
EXPORT_SYMBOL_GPL(vhl_enable_notify);

/**
 * vhl_disable_notify() - ask the guest not to kick
 * @vq: the virtqueue
 *
 * Context: vq->mutex held, in the owner's mm.
 */
void vhl_disable_notify(struct vhl_virtqueue *vq)
{
	if (vhl_vq_ready(vq))
		vq->ops->disable_notify(vq);
}
EXPORT_SYMBOL_GPL(vhl_disable_notify);

/**
 * vhl_exceeds_weight() - has a handler run long enough?
 * @vq: the virtqueue being served
 * @pkts: packets or requests handled in this run
 * @total_len: bytes handled in this run
 *
 * When the run exceeded the device's weight, the virtqueue's kick work is
 * queued again so that the worker serves other queues first.
 *
 * Context: vq->mutex held.
 * Return: true if the handler must return now.
 */
bool vhl_exceeds_weight(struct vhl_virtqueue *vq, int pkts, int total_len)
{
	struct vhl_dev *dev = vq->dev;

	if ((dev->weight > 0 && pkts >= dev->weight) ||
	    (dev->byte_weight > 0 && total_len >= dev->byte_weight)) {
		vhl_poll_queue(&vq->poll);
		return true;
	}
	return false;
}
EXPORT_SYMBOL_GPL(vhl_exceeds_weight);

/**
 * vhl_vq_err() - report a guest-triggered error on a virtqueue
 * @vq: the virtqueue
 * @fmt: printf format of the debug message
 *
 * Marks the queue broken until it is set up again, logs at pr_debug only
 * (the guest must not be able to flood the host log) and signals the
 * error eventfd.  The vhl_vq_err tracepoint carries the message.
 *
 * Context: vq->mutex held.
 */
void vhl_vq_err(struct vhl_virtqueue *vq, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	vq->broken = true;
	WRITE_ONCE(vq->stats.errors, vq->stats.errors + 1);

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_debug("vq %p: %pV", vq, &vaf);
	trace_vhl_vq_err(vq, &vaf);
	va_end(args);

	if (vq->error_ctx)
		vhl_eventfd_signal(vq->error_ctx);
}
EXPORT_SYMBOL_GPL(vhl_vq_err);
