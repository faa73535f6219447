/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place where kernel API differences are handled.  Every switch
 * below is driven by a feature probe in compat/Kbuild.include (or a Kconfig
 * symbol), never by a version number: distributions and stable trees
 * backport API changes.
 */
#ifndef _VHL_COMPAT_H
#define _VHL_COMPAT_H

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/uio.h>

/* Worker model: vhost_task where the kernel offers it, else kthread. */
#if defined(VHL_PROBE_VHOST_TASK_KILL) && IS_ENABLED(CONFIG_VHOST_TASK)
#define VHL_HAVE_VHOST_TASK 1
#include <linux/sched/vhost_task.h>
#else
#define VHL_HAVE_VHOST_TASK 0
#endif

static inline void vhl_eventfd_signal(struct eventfd_ctx *ctx)
{
#ifdef VHL_PROBE_EVENTFD_SIGNAL_1ARG
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

#ifdef VHL_PROBE_ITER_DEST
#define VHL_ITER_DEST ITER_DEST
#define VHL_ITER_SOURCE ITER_SOURCE
#else
#define VHL_ITER_DEST READ
#define VHL_ITER_SOURCE WRITE
#endif

/*
 * vhost_vsock_lite only (its Kbuild defines VHL_COMPAT_VSOCK): the virtio
 * vsock library.  Older kernels keep every socket buffer linear and pull
 * what was sent; newer ones may hand us non-linear buffers and track what
 * was sent in the control block.
 */
#ifdef VHL_COMPAT_VSOCK
#include <linux/virtio_vsock.h>

/* Give a received buffer its @len payload bytes (not yet copied in). */
static inline void vhl_vsock_skb_put(struct sk_buff *skb, u32 len)
{
#ifdef VHL_PROBE_VSOCK_SKB_PUT_LEN
	virtio_vsock_skb_put(skb, len);
#else
	skb_put(skb, len);
#endif
}

/* Offset of the first payload byte not yet sent to the guest. */
static inline u32 vhl_vsock_skb_offset(struct sk_buff *skb)
{
#ifdef VHL_PROBE_VSOCK_SKB_OFFSET
	return VIRTIO_VSOCK_SKB_CB(skb)->offset;
#else
	return 0;
#endif
}

/* @len more payload bytes were sent; returns the bytes still unsent. */
static inline u32 vhl_vsock_skb_advance(struct sk_buff *skb, u32 len)
{
#ifdef VHL_PROBE_VSOCK_SKB_OFFSET
	VIRTIO_VSOCK_SKB_CB(skb)->offset += len;
	return skb->len - VIRTIO_VSOCK_SKB_CB(skb)->offset;
#else
	skb_pull(skb, len);
	return skb->len;
#endif
}

/* A buffer was completely sent to the guest. */
static inline void vhl_vsock_skb_sent(struct sk_buff *skb)
{
#ifdef VHL_PROBE_VSOCK_CONSUME_SENT
	virtio_transport_consume_skb_sent(skb, true);
#else
	consume_skb(skb);
#endif
}

#ifdef VHL_PROBE_VSOCK_MSGZEROCOPY
static inline bool vhl_vsock_msgzerocopy_allow(void)
{
	return true;
}
#endif

/* Fill the transport callbacks only some kernels have. */
static inline void vhl_vsock_compat_ops(struct vsock_transport *t)
{
#ifdef VHL_PROBE_VSOCK_MSGZEROCOPY
	t->msgzerocopy_allow = vhl_vsock_msgzerocopy_allow;
#endif
#ifdef VHL_PROBE_VSOCK_SET_RCVLOWAT
	t->notify_set_rcvlowat = virtio_transport_notify_set_rcvlowat;
#endif
#ifdef VHL_PROBE_VSOCK_UNSENT_BYTES
	t->unsent_bytes = virtio_transport_unsent_bytes;
#endif
#ifdef VHL_PROBE_VSOCK_READ_SKB
	t->read_skb = virtio_transport_read_skb;
#endif
}
#endif /* VHL_COMPAT_VSOCK */

#endif /* _VHL_COMPAT_H */
