/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Driver ("guest") side of a split or packed virtqueue over a guest
 * memory arena.  The layout follows the features given to virtq_init():
 * VIRTIO_F_RING_PACKED selects a packed ring (VIRTIO 1.1 section 2.8),
 * with the same API; the virtq_raw_*() helpers for the avail and used
 * rings are split-only, virtq_raw_set_pdesc() is the packed one.
 *
 * The front end follows Linux's virtio driver API: buffers are added as
 * out (device-readable) and in (device-writable) scatter lists with a
 * token, the device is kicked unless it suppressed notifications, and
 * completed buffers come back through virtq_get_buf() with their token.
 * Calls (interrupts) arrive on the call eventfd; virtq_enable_cb() and
 * virtq_disable_cb() control them through the avail flags or, with
 * VIRTIO_RING_F_EVENT_IDX, through used_event.
 *
 * Rings are little-endian (VIRTIO_F_VERSION_1, or legacy on a
 * little-endian host).  The virtq_raw_*() helpers write arbitrary
 * descriptors and avail entries, bypassing the free list, for tests of
 * hostile drivers; do not mix them with virtq_add_buf() on one queue
 * unless you know what the free list holds.
 */
#ifndef VHL_VIRTQ_H
#define VHL_VIRTQ_H

#include <stdbool.h>
#include <linux/types.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "guest_mem.h"

/* Most scatter-gather entries one indirect table holds. */
#define VIRTQ_INDIRECT_MAX	32

/**
 * struct virtq_sg - one scatter-gather entry of a buffer
 * @addr: start, inside the virtqueue's guest memory arena
 * @len: length in bytes
 */
struct virtq_sg {
	void *addr;
	__u32 len;
};

/**
 * enum virtq_indirect_mode - when virtq_add_buf() uses an indirect table
 * @VIRTQ_INDIRECT_NEVER: always chain ring descriptors
 * @VIRTQ_INDIRECT_AUTO: for buffers of more than one entry (Linux's choice)
 * @VIRTQ_INDIRECT_ALWAYS: for every buffer, even a single entry
 *
 * Without VIRTIO_RING_F_INDIRECT_DESC the mode is ignored (never).
 */
enum virtq_indirect_mode {
	VIRTQ_INDIRECT_NEVER,
	VIRTQ_INDIRECT_AUTO,
	VIRTQ_INDIRECT_ALWAYS,
};

/**
 * struct virtq_head - driver state of one in-flight buffer
 * @token: caller's token, NULL when the head is free
 * @ndescs: ring descriptors the buffer holds
 * @last: last ring descriptor of the chain
 * @indirect: this head's indirect table (allocated on first use; packed
 *	rings use it as struct vring_packed_desc entries, the same size)
 *
 * For packed rings the heads are indexed by buffer id.
 */
struct virtq_head {
	void *token;
	__u16 ndescs;
	__u16 last;
	struct vring_desc *indirect;
};

/**
 * struct virtq - one split virtqueue, driver side
 * @index: virtqueue index on the device
 * @num: ring size (power of two)
 * @mem: arena holding the rings and every buffer
 * @desc: descriptor table (packed: the descriptor ring, as @pdesc)
 * @avail: available ring (followed by used_event); packed: the driver
 *	event area, as @driver_event
 * @used: used ring (followed by avail_event); packed: the device event
 *	area, as @device_event
 * @packed: VIRTIO_F_RING_PACKED negotiated: the ring is packed
 * @pdesc: packed descriptor ring
 * @driver_event: packed driver event suppression (written by us)
 * @device_event: packed device event suppression (written by the device)
 * @avail_wrap: packed: wrap counter of @avail_idx (a ring position)
 * @used_wrap: packed: wrap counter of @last_used_idx (a ring position)
 * @added: packed: descriptors made available since the last kick decision
 * @event_idx: VIRTIO_RING_F_EVENT_IDX negotiated
 * @indirect: VIRTIO_RING_F_INDIRECT_DESC negotiated
 * @indirect_mode: when to use indirect tables
 * @kick_fd: eventfd the driver writes to notify the device, or -1
 * @call_fd: eventfd the device signals used buffers on, or -1
 * @err_fd: eventfd the device signals errors on, or -1
 * @free_head: first free descriptor
 * @num_free: free descriptors
 * @avail_idx: driver's copy of avail->idx; packed: next ring position
 * @kicked_idx: avail->idx at the last notification decision
 * @last_used_idx: next used entry to consume; packed: its ring position
 * @avail_flags: driver's copy of avail->flags
 * @broken: the device returned an invalid used entry
 * @heads: per-head state, @num entries
 * @next: free-list links, @num entries
 * @kicks: notifications sent
 * @kicks_suppressed: notifications skipped because the device said so
 */
struct virtq {
	unsigned int index;
	unsigned int num;
	struct gmem *mem;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	bool packed;
	struct vring_packed_desc *pdesc;
	struct vring_packed_desc_event *driver_event;
	struct vring_packed_desc_event *device_event;
	bool avail_wrap;
	bool used_wrap;
	__u16 added;
	bool event_idx;
	bool indirect;
	enum virtq_indirect_mode indirect_mode;
	int kick_fd;
	int call_fd;
	int err_fd;

	__u16 free_head;
	__u16 num_free;
	__u16 avail_idx;
	__u16 kicked_idx;
	__u16 last_used_idx;
	__u16 avail_flags;
	bool broken;
	struct virtq_head *heads;
	__u16 *next;

	unsigned long kicks;
	unsigned long kicks_suppressed;
};

int virtq_init(struct virtq *vq, struct gmem *mem, unsigned int index,
	       unsigned int num, __u64 features);
int virtq_create_eventfds(struct virtq *vq);
void virtq_destroy(struct virtq *vq);

int virtq_add_buf(struct virtq *vq, const struct virtq_sg *out,
		  unsigned int out_num, const struct virtq_sg *in,
		  unsigned int in_num, void *token);
int virtq_add_outbuf(struct virtq *vq, void *buf, __u32 len, void *token);
int virtq_add_inbuf(struct virtq *vq, void *buf, __u32 len, void *token);

bool virtq_kick_prepare(struct virtq *vq);
int virtq_notify(struct virtq *vq);
int virtq_kick(struct virtq *vq);

bool virtq_more_used(struct virtq *vq);
void *virtq_get_buf(struct virtq *vq, __u32 *len);

void virtq_disable_cb(struct virtq *vq);
bool virtq_enable_cb(struct virtq *vq);

int virtq_wait_fd(int fd, int timeout_ms);
int virtq_wait_call(struct virtq *vq, int timeout_ms);
int virtq_wait_err(struct virtq *vq, int timeout_ms);
int virtq_wait_used(struct virtq *vq, int timeout_ms);

/* Raw ring access for hostile-ring tests. */
void virtq_raw_set_desc(struct virtq *vq, __u16 i, __u64 addr,
			__u32 len, __u16 flags, __u16 next);
void virtq_raw_set_avail(struct virtq *vq, __u16 slot, __u16 head);
void virtq_raw_set_avail_idx(struct virtq *vq, __u16 idx);
void virtq_raw_publish(struct virtq *vq, __u16 head);
__u16 virtq_used_idx(const struct virtq *vq);
__u16 virtq_used_flags(const struct virtq *vq);
__u16 virtq_avail_event(const struct virtq *vq);
__u16 virtq_used_event(const struct virtq *vq);
struct vring_used_elem virtq_raw_used_elem(const struct virtq *vq,
					   __u16 slot);

/* Packed rings. */
__u32 virtq_vring_base(const struct virtq *vq);
__u16 virtq_packed_avail_flags(bool wrap);
void virtq_raw_set_pdesc(struct virtq *vq, __u16 slot, __u64 addr,
			 __u32 len, __u16 id, __u16 flags);
__u16 virtq_device_event_flags(const struct virtq *vq);
__u16 virtq_device_event_off_wrap(const struct virtq *vq);

/**
 * virtq_gpa() - guest-physical address of a pointer into the queue's arena
 * @vq: virtqueue
 * @p: pointer
 */
static inline __u64 virtq_gpa(const struct virtq *vq, const void *p)
{
	return gmem_gpa(vq->mem, p);
}

#endif /* VHL_VIRTQ_H */
