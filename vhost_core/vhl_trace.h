/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-lite tracepoints (system "vhost_lite"), emitted by the ring-layout
 * independent layer (vring.c, poll.c), so they cover every ring layout.
 *
 * Events identify a virtqueue by the device id (the "vhl-id:" line of the
 * device's fdinfo), the owner's pid and the queue index: never by a kernel
 * pointer.  There is no string field but a fixed-size message array, so
 * the header builds unchanged on kernels before and after 6.10's
 * __assign_str() change.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM vhost_lite

#if !defined(_VHL_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _VHL_TRACE_H

#include <linux/tracepoint.h>

#include "vhost_lite.h"

#ifndef _VHL_TRACE_HELPERS
#define _VHL_TRACE_HELPERS

/* Length of the message of vhl_vq_err, NUL included. */
#define VHL_TRACE_MSG_LEN 64

/* Bytes the device wrote into @count used entries. */
static inline u64 vhl_trace_used_len(const struct vhl_used_elem *heads,
				     unsigned int count)
{
	u64 len = 0;
	unsigned int i;

	for (i = 0; i < count; i++)
		len += heads[i].len;
	return len;
}

/* The message of vhl_vq_err() without its newline. */
static inline void vhl_trace_msg(char *buf, struct va_format *vaf)
{
	int len = snprintf(buf, VHL_TRACE_MSG_LEN, "%pV", vaf);

	len = min(len, VHL_TRACE_MSG_LEN - 1);
	if (len > 0 && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
}
#endif /* _VHL_TRACE_HELPERS */

/* A run of a virtqueue's kick handler: chains it took, its run time. */
TRACE_EVENT(vhl_kick,
	    TP_PROTO(const struct vhl_virtqueue *vq, u64 descs, u64 ns),
	    TP_ARGS(vq, descs, ns),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(pid_t, owner)
			     __field(u32, vq)
			     __field(u64, descs)
			     __field(u64, ns)),
	    TP_fast_assign(__entry->dev = vq->dev->id;
			   __entry->owner = vq->dev->owner_pid;
			   __entry->vq = vq->index;
			   __entry->descs = descs;
			   __entry->ns = ns;),
	    TP_printk("dev=%u owner=%d vq=%u descs=%llu ns=%llu",
		      __entry->dev, __entry->owner, __entry->vq,
		      __entry->descs, __entry->ns)
);

/* The call eventfd was signalled; @calls: signals so far on this queue. */
TRACE_EVENT(vhl_call,
	    TP_PROTO(const struct vhl_virtqueue *vq),
	    TP_ARGS(vq),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(pid_t, owner)
			     __field(u32, vq)
			     __field(u64, calls)),
	    TP_fast_assign(__entry->dev = vq->dev->id;
			   __entry->owner = vq->dev->owner_pid;
			   __entry->vq = vq->index;
			   __entry->calls = READ_ONCE(vq->stats.calls);),
	    TP_printk("dev=%u owner=%d vq=%u calls=%llu",
		      __entry->dev, __entry->owner, __entry->vq,
		      __entry->calls)
);

/* Used entries published: how many, the first head, the bytes written. */
TRACE_EVENT(vhl_used,
	    TP_PROTO(const struct vhl_virtqueue *vq,
		     const struct vhl_used_elem *heads, unsigned int count),
	    TP_ARGS(vq, heads, count),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(pid_t, owner)
			     __field(u32, vq)
			     __field(u32, count)
			     __field(u32, head)
			     __field(u64, len)),
	    TP_fast_assign(__entry->dev = vq->dev->id;
			   __entry->owner = vq->dev->owner_pid;
			   __entry->vq = vq->index;
			   __entry->count = count;
			   __entry->head = heads[0].id;
			   __entry->len = vhl_trace_used_len(heads, count);),
	    TP_printk("dev=%u owner=%d vq=%u count=%u head=%u len=%llu",
		      __entry->dev, __entry->owner, __entry->vq,
		      __entry->count, __entry->head, __entry->len)
);

/* vhl_vq_err(): the queue is broken; @errors so far, the message. */
TRACE_EVENT(vhl_vq_err,
	    TP_PROTO(const struct vhl_virtqueue *vq, struct va_format *vaf),
	    TP_ARGS(vq, vaf),
	    TP_STRUCT__entry(__field(u32, dev)
			     __field(pid_t, owner)
			     __field(u32, vq)
			     __field(u64, errors)
			     __array(char, msg, VHL_TRACE_MSG_LEN)),
	    TP_fast_assign(__entry->dev = vq->dev->id;
			   __entry->owner = vq->dev->owner_pid;
			   __entry->vq = vq->index;
			   __entry->errors = READ_ONCE(vq->stats.errors);
			   vhl_trace_msg(__entry->msg, vaf);),
	    TP_printk("dev=%u owner=%d vq=%u errors=%llu msg=%s",
		      __entry->dev, __entry->owner, __entry->vq,
		      __entry->errors, __entry->msg)
);

#endif /* _VHL_TRACE_H */

/* Out of tree: define_trace.h finds us through -I$(src) (Kbuild). */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE vhl_trace
#include <trace/define_trace.h>
