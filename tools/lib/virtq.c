// SPDX-License-Identifier: GPL-2.0
/*
 * Driver side of a split or packed virtqueue (see virtq.h).
 *
 * Memory ordering against the device (a kernel thread on another CPU):
 * descriptors and avail entries are written before avail->idx is stored
 * with release semantics; used->idx is loaded with acquire semantics before
 * used entries are read; a full fence separates publishing avail->idx (or
 * used_event) from reading the device's suppression state.  Packed rings
 * store the first descriptor's flags of a buffer with release semantics
 * after everything else, and load a used descriptor's flags with acquire
 * semantics before its id and length.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "virtq.h"

static inline __u16 rd16(const __u16 *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static inline void wr16(__u16 *p, __u16 v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

static inline void virtq_mb(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* used_event lives after the avail ring, avail_event after the used ring. */
static inline __u16 *used_event_ptr(const struct virtq *vq)
{
	return (__u16 *)&vq->avail->ring[vq->num];
}

static inline __u16 *avail_event_ptr(const struct virtq *vq)
{
	return (__u16 *)&vq->used->ring[vq->num];
}

/**
 * virtq_init() - allocate and initialise a virtqueue
 * @vq: virtqueue
 * @mem: arena the rings and buffers live in
 * @index: the queue's index on the device
 * @num: ring size, a power of two from 1 to 32768
 * @features: negotiated virtio feature bits; VIRTIO_RING_F_EVENT_IDX,
 *	VIRTIO_RING_F_INDIRECT_DESC and VIRTIO_F_RING_PACKED (the layout)
 *	are honoured
 *
 * The rings are zeroed arena memory; the eventfds start as -1 (see
 * virtq_create_eventfds()).  Indirect buffers default to
 * %VIRTQ_INDIRECT_AUTO when negotiated.
 *
 * Return: 0, -EINVAL for a bad @num or -ENOMEM.
 */
int virtq_init(struct virtq *vq, struct gmem *mem, unsigned int index,
	       unsigned int num, __u64 features)
{
	unsigned int i;

	memset(vq, 0, sizeof(*vq));
	vq->kick_fd = -1;
	vq->call_fd = -1;
	vq->err_fd = -1;
	if (!num || num > 32768 || (num & (num - 1)))
		return -EINVAL;

	vq->index = index;
	vq->num = num;
	vq->mem = mem;
	vq->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	vq->indirect_mode = vq->indirect ? VIRTQ_INDIRECT_AUTO :
					   VIRTQ_INDIRECT_NEVER;
	vq->packed = features & (1ULL << VIRTIO_F_RING_PACKED);

	if (vq->packed) {
		vq->pdesc = gmem_alloc(mem, sizeof(*vq->pdesc) * num, 64);
		vq->driver_event = gmem_alloc(mem, sizeof(*vq->driver_event),
					      64);
		vq->device_event = gmem_alloc(mem, sizeof(*vq->device_event),
					      64);
		/* The addresses SET_VRING_ADDR takes for a packed ring. */
		vq->desc = (struct vring_desc *)vq->pdesc;
		vq->avail = (struct vring_avail *)vq->driver_event;
		vq->used = (struct vring_used *)vq->device_event;
		/* Both wrap counters start at 1 (VIRTIO 1.1 2.8.1). */
		vq->avail_wrap = true;
		vq->used_wrap = true;
	} else {
		vq->desc = gmem_alloc(mem, sizeof(*vq->desc) * num, 64);
		vq->avail = gmem_alloc(mem, sizeof(*vq->avail) +
				       sizeof(vq->avail->ring[0]) * (num + 1),
				       64);
		vq->used = gmem_alloc(mem, sizeof(*vq->used) +
				      sizeof(vq->used->ring[0]) * num +
				      sizeof(__u16), 64);
	}
	vq->heads = calloc(num, sizeof(*vq->heads));
	vq->next = calloc(num, sizeof(*vq->next));
	if (!vq->desc || !vq->avail || !vq->used || !vq->heads || !vq->next) {
		free(vq->heads);
		free(vq->next);
		vq->heads = NULL;
		vq->next = NULL;
		return -ENOMEM;
	}

	for (i = 0; i < num; i++)
		vq->next[i] = (__u16)(i + 1);
	vq->free_head = 0;
	vq->num_free = (__u16)num;
	return 0;
}

/**
 * virtq_create_eventfds() - create the kick, call and error eventfds
 * @vq: virtqueue; fds already set are kept
 *
 * All three are non-blocking and close-on-exec.
 *
 * Return: 0 or a negative errno.
 */
int virtq_create_eventfds(struct virtq *vq)
{
	int *fds[] = { &vq->kick_fd, &vq->call_fd, &vq->err_fd };
	unsigned int i;

	for (i = 0; i < 3; i++) {
		if (*fds[i] >= 0)
			continue;
		*fds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (*fds[i] < 0)
			return -errno;
	}
	return 0;
}

/**
 * virtq_destroy() - free the driver state and close the eventfds
 * @vq: virtqueue
 *
 * The rings stay in the arena (they are released with it).
 */
void virtq_destroy(struct virtq *vq)
{
	if (vq->kick_fd >= 0)
		close(vq->kick_fd);
	if (vq->call_fd >= 0)
		close(vq->call_fd);
	if (vq->err_fd >= 0)
		close(vq->err_fd);
	vq->kick_fd = -1;
	vq->call_fd = -1;
	vq->err_fd = -1;
	free(vq->heads);
	free(vq->next);
	vq->heads = NULL;
	vq->next = NULL;
}

static void set_desc(struct vring_desc *d, __u64 addr, __u32 len,
		     __u16 flags, __u16 next)
{
	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

static bool use_indirect(const struct virtq *vq, unsigned int total)
{
	if (!vq->indirect || total > VIRTQ_INDIRECT_MAX)
		return false;
	switch (vq->indirect_mode) {
	case VIRTQ_INDIRECT_ALWAYS:
		return true;
	case VIRTQ_INDIRECT_AUTO:
		return total > 1;
	default:
		return false;
	}
}

static const struct virtq_sg *sg_at(const struct virtq_sg *out,
				    unsigned int out_num,
				    const struct virtq_sg *in, unsigned int i)
{
	return i < out_num ? &out[i] : &in[i - out_num];
}

/* Publish @head in the next avail slot and store avail->idx (release). */
static void publish(struct virtq *vq, __u16 head)
{
	wr16(&vq->avail->ring[vq->avail_idx & (vq->num - 1)], head);
	vq->avail_idx++;
	__atomic_store_n(&vq->avail->idx, htole16(vq->avail_idx),
			 __ATOMIC_RELEASE);
}

/**
 * virtq_packed_avail_flags() - AVAIL/USED bits of an available descriptor
 * @wrap: the driver's wrap counter for the descriptor's slot
 */
__u16 virtq_packed_avail_flags(bool wrap)
{
	return wrap ? 1U << VRING_PACKED_DESC_F_AVAIL :
		      1U << VRING_PACKED_DESC_F_USED;
}

static void set_pdesc(struct vring_packed_desc *d, __u64 addr, __u32 len,
		      __u16 id)
{
	d->addr = htole64(addr);
	d->len = htole32(len);
	d->id = htole16(id);
}

/* Store a descriptor's flags, exposing it (release). */
static void publish_pdesc(struct vring_packed_desc *d, __u16 flags)
{
	__atomic_store_n(&d->flags, htole16(flags), __ATOMIC_RELEASE);
}

static void packed_advance(const struct virtq *vq, __u16 *pos, bool *wrap,
			   unsigned int n)
{
	unsigned int next = *pos + n;

	if (next >= vq->num) {
		next -= vq->num;
		*wrap = !*wrap;
	}
	*pos = (__u16)next;
}

/* virtq_add_buf() for packed rings; the entries are checked. */
static int packed_add_buf(struct virtq *vq, const struct virtq_sg *out,
			  unsigned int out_num, const struct virtq_sg *in,
			  unsigned int total, void *token)
{
	__u16 id = vq->free_head, pos = vq->avail_idx, head_flags = 0;
	struct vring_packed_desc *head = &vq->pdesc[pos];
	struct virtq_head *h = &vq->heads[id];
	bool wrap = vq->avail_wrap;
	unsigned int i, n;

	if (use_indirect(vq, total)) {
		struct vring_packed_desc *table;

		if (!vq->num_free)
			return -ENOSPC;
		if (!h->indirect) {
			h->indirect = gmem_alloc(vq->mem, sizeof(*h->indirect) *
						 VIRTQ_INDIRECT_MAX, 16);
			if (!h->indirect)
				return -ENOMEM;
		}
		table = (struct vring_packed_desc *)h->indirect;
		for (i = 0; i < total; i++) {
			const struct virtq_sg *sg = sg_at(out, out_num, in, i);

			set_pdesc(&table[i], virtq_gpa(vq, sg->addr), sg->len,
				  0);
			table[i].flags = htole16(i < out_num ? 0 :
						 VRING_DESC_F_WRITE);
		}
		set_pdesc(head, virtq_gpa(vq, table),
			  (__u32)(total * sizeof(*table)), id);
		head_flags = VRING_DESC_F_INDIRECT |
			     virtq_packed_avail_flags(wrap);
		n = 1;
	} else {
		if (vq->num_free < total)
			return -ENOSPC;
		for (i = 0; i < total; i++) {
			const struct virtq_sg *sg = sg_at(out, out_num, in, i);
			__u16 flags = virtq_packed_avail_flags(wrap);

			if (i >= out_num)
				flags |= VRING_DESC_F_WRITE;
			if (i + 1 < total)
				flags |= VRING_DESC_F_NEXT;
			set_pdesc(&vq->pdesc[pos], virtq_gpa(vq, sg->addr),
				  sg->len, id);
			/* The first descriptor is exposed last. */
			if (i)
				vq->pdesc[pos].flags = htole16(flags);
			else
				head_flags = flags;
			packed_advance(vq, &pos, &wrap, 1);
		}
		n = total;
		/* Undo the walk: the advance below is the common one. */
		pos = vq->avail_idx;
		wrap = vq->avail_wrap;
	}
	vq->free_head = vq->next[id];
	vq->num_free -= n;
	h->ndescs = (__u16)n;
	h->token = token;
	publish_pdesc(head, head_flags);
	packed_advance(vq, &pos, &wrap, n);
	vq->avail_idx = pos;
	vq->avail_wrap = wrap;
	vq->added += n;
	return 0;
}

/**
 * virtq_add_buf() - expose a buffer to the device
 * @vq: virtqueue
 * @out: device-readable entries (may be NULL when @out_num is 0)
 * @out_num: number of @out entries
 * @in: device-writable entries (may be NULL when @in_num is 0)
 * @in_num: number of @in entries
 * @token: non-NULL value virtq_get_buf() returns for this buffer
 *
 * The buffer is a chain of ring descriptors or, depending on
 * @vq->indirect_mode, one indirect table.  avail->idx is published at once;
 * call virtq_kick() to notify the device.
 *
 * Return: 0, -EINVAL for an empty buffer or NULL token, -EFAULT when an
 * entry lies outside the arena, -ENOSPC when the ring is full, -ENOMEM
 * when no indirect table could be allocated.
 */
int virtq_add_buf(struct virtq *vq, const struct virtq_sg *out,
		  unsigned int out_num, const struct virtq_sg *in,
		  unsigned int in_num, void *token)
{
	unsigned int total = out_num + in_num, i;
	struct virtq_head *h;
	__u16 head, idx, last = 0;

	if (!total || !token || total > vq->num * 2U)
		return -EINVAL;
	for (i = 0; i < total; i++) {
		const struct virtq_sg *sg = sg_at(out, out_num, in, i);

		if (!sg->len || !gmem_ptr(vq->mem, virtq_gpa(vq, sg->addr),
					  sg->len))
			return -EFAULT;
	}

	if (vq->packed)
		return packed_add_buf(vq, out, out_num, in, total, token);

	head = vq->free_head;
	h = &vq->heads[head];
	if (use_indirect(vq, total)) {
		if (!vq->num_free)
			return -ENOSPC;
		if (!h->indirect) {
			h->indirect = gmem_alloc(vq->mem, sizeof(*h->indirect) *
						 VIRTQ_INDIRECT_MAX, 16);
			if (!h->indirect)
				return -ENOMEM;
		}
		for (i = 0; i < total; i++) {
			const struct virtq_sg *sg = sg_at(out, out_num, in, i);
			__u16 flags = i < out_num ? 0 : VRING_DESC_F_WRITE;

			if (i + 1 < total)
				flags |= VRING_DESC_F_NEXT;
			set_desc(&h->indirect[i], virtq_gpa(vq, sg->addr),
				 sg->len, flags, (__u16)(i + 1));
		}
		set_desc(&vq->desc[head], virtq_gpa(vq, h->indirect),
			 (__u32)(total * sizeof(*h->indirect)),
			 VRING_DESC_F_INDIRECT, 0);
		vq->free_head = vq->next[head];
		h->ndescs = 1;
		h->last = head;
	} else {
		if (vq->num_free < total)
			return -ENOSPC;
		idx = head;
		for (i = 0; i < total; i++) {
			const struct virtq_sg *sg = sg_at(out, out_num, in, i);
			__u16 flags = i < out_num ? 0 : VRING_DESC_F_WRITE;

			if (i + 1 < total)
				flags |= VRING_DESC_F_NEXT;
			set_desc(&vq->desc[idx], virtq_gpa(vq, sg->addr),
				 sg->len, flags, vq->next[idx]);
			last = idx;
			idx = vq->next[idx];
		}
		vq->free_head = idx;
		h->ndescs = (__u16)total;
		h->last = last;
	}
	vq->num_free -= h->ndescs;
	h->token = token;
	publish(vq, head);
	return 0;
}

/**
 * virtq_add_outbuf() - expose one device-readable buffer
 * @vq: virtqueue
 * @buf: buffer inside the arena
 * @len: its length
 * @token: see virtq_add_buf()
 *
 * Return: see virtq_add_buf().
 */
int virtq_add_outbuf(struct virtq *vq, void *buf, __u32 len, void *token)
{
	struct virtq_sg sg = { buf, len };

	return virtq_add_buf(vq, &sg, 1, NULL, 0, token);
}

/**
 * virtq_add_inbuf() - expose one device-writable buffer
 * @vq: virtqueue
 * @buf: buffer inside the arena
 * @len: its length
 * @token: see virtq_add_buf()
 *
 * Return: see virtq_add_buf().
 */
int virtq_add_inbuf(struct virtq *vq, void *buf, __u32 len, void *token)
{
	struct virtq_sg sg = { buf, len };

	return virtq_add_buf(vq, NULL, 0, &sg, 1, token);
}

/* The event index rule of the virtio spec (vring_need_event()). */
static inline bool need_event(__u16 event, __u16 new, __u16 old)
{
	return (__u16)(new - event - 1) < (__u16)(new - old);
}

/* virtq_kick_prepare() for packed rings: the device event area decides. */
static bool packed_kick_prepare(struct virtq *vq)
{
	__u16 added = vq->added, flags, off_wrap, event;
	bool needed;

	virtq_mb();
	vq->added = 0;
	if (!added)
		return false;
	flags = rd16(&vq->device_event->flags);
	if (vq->event_idx && flags == VRING_PACKED_EVENT_FLAG_DESC) {
		off_wrap = rd16(&vq->device_event->off_wrap);
		event = off_wrap & ~(1U << VRING_PACKED_EVENT_F_WRAP_CTR);
		if (!!(off_wrap >> VRING_PACKED_EVENT_F_WRAP_CTR) !=
		    vq->avail_wrap)
			event -= vq->num;
		needed = need_event(event, vq->avail_idx,
				    (__u16)(vq->avail_idx - added));
	} else {
		needed = flags != VRING_PACKED_EVENT_FLAG_DISABLE;
	}
	if (!needed)
		vq->kicks_suppressed++;
	return needed;
}

/**
 * virtq_kick_prepare() - does the device want a notification?
 * @vq: virtqueue
 *
 * Looks at the buffers published since the last call: with EVENT_IDX the
 * device's avail_event decides, otherwise VRING_USED_F_NO_NOTIFY (packed:
 * the device event area's flags and, with EVENT_IDX, its off_wrap).
 *
 * Return: true when virtq_notify() should be called.
 */
bool virtq_kick_prepare(struct virtq *vq)
{
	__u16 old = vq->kicked_idx, new = vq->avail_idx;
	bool needed;

	if (vq->packed)
		return packed_kick_prepare(vq);
	virtq_mb();
	vq->kicked_idx = new;
	if (old == new)
		return false;
	if (vq->event_idx)
		needed = need_event(rd16(avail_event_ptr(vq)), new, old);
	else
		needed = !(rd16(&vq->used->flags) & VRING_USED_F_NO_NOTIFY);
	if (!needed)
		vq->kicks_suppressed++;
	return needed;
}

/**
 * virtq_notify() - notify the device unconditionally
 * @vq: virtqueue
 *
 * Return: 0 or a negative errno (-EBADF without a kick eventfd).
 */
int virtq_notify(struct virtq *vq)
{
	__u64 one = 1;

	if (vq->kick_fd < 0)
		return -EBADF;
	if (write(vq->kick_fd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	vq->kicks++;
	return 0;
}

/**
 * virtq_kick() - notify the device if it wants to be notified
 * @vq: virtqueue
 *
 * Return: 1 if notified, 0 if the device suppressed the notification or
 * nothing was added, or a negative errno.
 */
int virtq_kick(struct virtq *vq)
{
	int ret;

	if (!virtq_kick_prepare(vq))
		return 0;
	ret = virtq_notify(vq);
	return ret < 0 ? ret : 1;
}

/**
 * virtq_used_idx() - current used->idx (acquire load); split rings only
 * @vq: virtqueue
 */
__u16 virtq_used_idx(const struct virtq *vq)
{
	return le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE));
}

/**
 * virtq_more_used() - has the device returned buffers not yet consumed?
 * @vq: virtqueue
 */
bool virtq_more_used(struct virtq *vq)
{
	if (vq->packed) {
		__u16 f = le16toh(__atomic_load_n(&vq->pdesc[vq->last_used_idx].flags,
						  __ATOMIC_ACQUIRE));

		return !!(f & (1U << VRING_PACKED_DESC_F_AVAIL)) == vq->used_wrap &&
		       !!(f & (1U << VRING_PACKED_DESC_F_USED)) == vq->used_wrap;
	}
	return virtq_used_idx(vq) != vq->last_used_idx;
}

/* Write the driver event offset: the next used descriptor we will read. */
static void packed_set_used_event(struct virtq *vq)
{
	wr16(&vq->driver_event->off_wrap, (__u16)(vq->last_used_idx |
	     (vq->used_wrap ? 1U << VRING_PACKED_EVENT_F_WRAP_CTR : 0)));
}

/* virtq_get_buf() for packed rings; a used descriptor is pending. */
static void *packed_get_buf(struct virtq *vq, __u32 *len)
{
	struct vring_packed_desc *d = &vq->pdesc[vq->last_used_idx];
	struct virtq_head *h;
	void *token;
	__u16 id;

	id = le16toh(d->id);
	if (id >= vq->num || !vq->heads[id].token) {
		vq->broken = true;
		return NULL;
	}
	h = &vq->heads[id];
	if (len)
		*len = le32toh(d->len);
	token = h->token;
	h->token = NULL;
	vq->next[id] = vq->free_head;
	vq->free_head = id;
	vq->num_free += h->ndescs;
	packed_advance(vq, &vq->last_used_idx, &vq->used_wrap, h->ndescs);

	if (vq->event_idx && !(vq->avail_flags & VRING_AVAIL_F_NO_INTERRUPT)) {
		packed_set_used_event(vq);
		virtq_mb();
	}
	return token;
}

/**
 * virtq_get_buf() - take the next buffer the device returned
 * @vq: virtqueue
 * @len: set to the number of bytes the device wrote (may be NULL)
 *
 * With EVENT_IDX and callbacks enabled, used_event follows consumption the
 * way Linux's driver does it.
 *
 * Return: the buffer's token, or NULL when nothing is pending or the used
 * entry is invalid (then @vq->broken is set).
 */
void *virtq_get_buf(struct virtq *vq, __u32 *len)
{
	struct vring_used_elem e;
	struct virtq_head *h;
	void *token;
	__u32 id;

	if (vq->broken || !virtq_more_used(vq))
		return NULL;
	if (vq->packed)
		return packed_get_buf(vq, len);

	e = vq->used->ring[vq->last_used_idx & (vq->num - 1)];
	id = le32toh(e.id);
	if (id >= vq->num || !vq->heads[id].token) {
		vq->broken = true;
		return NULL;
	}
	h = &vq->heads[id];
	if (len)
		*len = le32toh(e.len);
	token = h->token;
	h->token = NULL;

	vq->next[h->last] = vq->free_head;
	vq->free_head = (__u16)id;
	vq->num_free += h->ndescs;
	vq->last_used_idx++;

	if (vq->event_idx && !(vq->avail_flags & VRING_AVAIL_F_NO_INTERRUPT)) {
		wr16(used_event_ptr(vq), vq->last_used_idx);
		virtq_mb();
	}
	return token;
}

/**
 * virtq_disable_cb() - ask the device not to signal the call eventfd
 * @vq: virtqueue
 *
 * Without EVENT_IDX this sets VRING_AVAIL_F_NO_INTERRUPT; with EVENT_IDX
 * (where the driver must keep avail->flags 0) it moves used_event to the
 * entry before last_used_idx, which the device has already passed.  A
 * packed ring sets its driver event flags to DISABLE.  A hint: the device
 * may still signal.
 */
void virtq_disable_cb(struct virtq *vq)
{
	vq->avail_flags |= VRING_AVAIL_F_NO_INTERRUPT;
	if (vq->packed)
		wr16(&vq->driver_event->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	else if (vq->event_idx)
		wr16(used_event_ptr(vq), (__u16)(vq->last_used_idx - 1));
	else
		wr16(&vq->avail->flags, vq->avail_flags);
}

/**
 * virtq_enable_cb() - ask the device to signal the call eventfd again
 * @vq: virtqueue
 *
 * Return: false if buffers are already pending (the caller should process
 * them, as no signal may come for them), true otherwise.
 */
bool virtq_enable_cb(struct virtq *vq)
{
	vq->avail_flags &= (__u16)~VRING_AVAIL_F_NO_INTERRUPT;
	if (vq->packed && vq->event_idx) {
		packed_set_used_event(vq);
		/* The offset before the flags that select it. */
		__atomic_store_n(&vq->driver_event->flags,
				 htole16(VRING_PACKED_EVENT_FLAG_DESC),
				 __ATOMIC_RELEASE);
	} else if (vq->packed) {
		wr16(&vq->driver_event->flags, VRING_PACKED_EVENT_FLAG_ENABLE);
	} else if (vq->event_idx) {
		wr16(used_event_ptr(vq), vq->last_used_idx);
	} else {
		wr16(&vq->avail->flags, vq->avail_flags);
	}
	virtq_mb();
	return !virtq_more_used(vq);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/**
 * virtq_wait_fd() - wait for an eventfd to be signalled and consume it
 * @fd: eventfd (non-blocking)
 * @timeout_ms: bound on the wait; 0 only checks
 *
 * Return: 1 if it was signalled (the counter is reset), 0 on timeout, or a
 * negative errno.
 */
int virtq_wait_fd(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	__u64 cnt;
	int ret;

	if (fd < 0)
		return -EBADF;
	do {
		ret = poll(&pfd, 1, timeout_ms);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	if (!ret)
		return 0;
	if (read(fd, &cnt, sizeof(cnt)) != sizeof(cnt) && errno != EAGAIN)
		return -errno;
	return 1;
}

/**
 * virtq_wait_call() - wait for the device to signal the call eventfd
 * @vq: virtqueue
 * @timeout_ms: bound on the wait
 *
 * Return: see virtq_wait_fd().
 */
int virtq_wait_call(struct virtq *vq, int timeout_ms)
{
	return virtq_wait_fd(vq->call_fd, timeout_ms);
}

/**
 * virtq_wait_err() - wait for the device to signal the error eventfd
 * @vq: virtqueue
 * @timeout_ms: bound on the wait
 *
 * Return: see virtq_wait_fd().
 */
int virtq_wait_err(struct virtq *vq, int timeout_ms)
{
	return virtq_wait_fd(vq->err_fd, timeout_ms);
}

/**
 * virtq_wait_used() - wait until the device returned a buffer
 * @vq: virtqueue
 * @timeout_ms: bound on the wait
 *
 * Sleeps on the call eventfd (consuming signals) but also re-reads
 * used->idx every few milliseconds, so it works with callbacks disabled.
 *
 * Return: 1 if buffers are pending, 0 on timeout, or a negative errno.
 */
int virtq_wait_used(struct virtq *vq, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	int ret;

	for (;;) {
		int64_t left;

		if (virtq_more_used(vq))
			return 1;
		left = end - now_ms();
		if (left <= 0)
			return 0;
		if (left > 5)
			left = 5;
		if (vq->call_fd >= 0) {
			ret = virtq_wait_fd(vq->call_fd, (int)left);
			if (ret < 0)
				return ret;
		} else {
			poll(NULL, 0, (int)left);
		}
	}
}

/**
 * virtq_raw_set_desc() - write any descriptor
 * @vq: virtqueue
 * @i: descriptor index (taken modulo @vq->num)
 * @addr: guest-physical address
 * @len: length
 * @flags: VRING_DESC_F_* flags
 * @next: next index
 */
void virtq_raw_set_desc(struct virtq *vq, __u16 i, __u64 addr,
			__u32 len, __u16 flags, __u16 next)
{
	set_desc(&vq->desc[i & (vq->num - 1)], addr, len, flags, next);
}

/**
 * virtq_raw_set_avail() - write any head into an avail ring slot
 * @vq: virtqueue
 * @slot: ring slot (taken modulo @vq->num)
 * @head: value to write, valid or not
 */
void virtq_raw_set_avail(struct virtq *vq, __u16 slot, __u16 head)
{
	wr16(&vq->avail->ring[slot & (vq->num - 1)], head);
}

/**
 * virtq_raw_set_avail_idx() - store any avail->idx (release)
 * @vq: virtqueue
 * @idx: new index; also becomes the driver's copy
 */
void virtq_raw_set_avail_idx(struct virtq *vq, __u16 idx)
{
	vq->avail_idx = idx;
	__atomic_store_n(&vq->avail->idx, htole16(idx), __ATOMIC_RELEASE);
}

/**
 * virtq_raw_publish() - put @head in the next avail slot and bump avail->idx
 * @vq: virtqueue
 * @head: head to publish, valid or not; no driver state is recorded
 */
void virtq_raw_publish(struct virtq *vq, __u16 head)
{
	publish(vq, head);
}

/**
 * virtq_used_flags() - current used->flags
 * @vq: virtqueue
 */
__u16 virtq_used_flags(const struct virtq *vq)
{
	return rd16(&vq->used->flags);
}

/**
 * virtq_avail_event() - avail_event the device wrote (EVENT_IDX)
 * @vq: virtqueue
 */
__u16 virtq_avail_event(const struct virtq *vq)
{
	return rd16(avail_event_ptr(vq));
}

/**
 * virtq_used_event() - used_event the driver wrote (EVENT_IDX)
 * @vq: virtqueue
 */
__u16 virtq_used_event(const struct virtq *vq)
{
	return rd16(used_event_ptr(vq));
}

/**
 * virtq_raw_used_elem() - read a used ring entry
 * @vq: virtqueue
 * @slot: ring slot (taken modulo @vq->num)
 *
 * Return: the entry in host byte order.
 */
struct vring_used_elem virtq_raw_used_elem(const struct virtq *vq,
					   __u16 slot)
{
	struct vring_used_elem e = vq->used->ring[slot & (vq->num - 1)];

	e.id = le32toh(e.id);
	e.len = le32toh(e.len);
	return e;
}

/**
 * virtq_vring_base() - the SET_VRING_BASE value for the driver's state
 * @vq: virtqueue
 *
 * Split: the avail index.  Packed, as QEMU passes it: bits 0-14 the next
 * avail position, bit 15 its wrap counter, bits 16-30 the next used
 * position, bit 31 its wrap counter.
 */
__u32 virtq_vring_base(const struct virtq *vq)
{
	if (!vq->packed)
		return vq->avail_idx;
	return vq->avail_idx | (vq->avail_wrap ? 1U << 15 : 0) |
	       (__u32)vq->last_used_idx << 16 | (vq->used_wrap ? 1U << 31 : 0);
}

/**
 * virtq_raw_set_pdesc() - write any packed descriptor, flags last (release)
 * @vq: packed virtqueue
 * @slot: ring position (taken modulo @vq->num)
 * @addr: guest-physical address
 * @len: length
 * @id: buffer id
 * @flags: flags, including the AVAIL/USED bits (virtq_packed_avail_flags())
 */
void virtq_raw_set_pdesc(struct virtq *vq, __u16 slot, __u64 addr,
			 __u32 len, __u16 id, __u16 flags)
{
	struct vring_packed_desc *d = &vq->pdesc[slot & (vq->num - 1)];

	set_pdesc(d, addr, len, id);
	publish_pdesc(d, flags);
}

/**
 * virtq_device_event_flags() - flags of the packed device event area
 * @vq: packed virtqueue
 */
__u16 virtq_device_event_flags(const struct virtq *vq)
{
	return rd16(&vq->device_event->flags);
}

/**
 * virtq_device_event_off_wrap() - off_wrap of the packed device event area
 * @vq: packed virtqueue
 */
__u16 virtq_device_event_off_wrap(const struct virtq *vq)
{
	return rd16(&vq->device_event->off_wrap);
}
