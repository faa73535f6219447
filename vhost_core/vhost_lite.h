/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-lite core: the API that back ends (net, vsock, blk) build on.
 *
 * A back end embeds a struct vhl_dev and an array of struct vhl_virtqueue,
 * calls vhl_dev_init() at open time and routes the standard vhost ioctls to
 * vhl_dev_ioctl() and vhl_vring_ioctl().  Every symbol carries the vhl_
 * prefix, which the in-tree vhost.ko does not use, so both can be loaded.
 *
 * Locking: dev->mutex is always taken outside vq->mutex.  Ring state, the
 * backend pointer and the memory table of a virtqueue are only touched with
 * vq->mutex held; the worker takes vq->mutex in the back end's handler.
 */
#ifndef _VHOST_LITE_H
#define _VHOST_LITE_H

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/llist.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/seq_file.h>
#include <linux/uio.h>
#include <linux/virtio_byteorder.h>
#include <linux/virtio_ring.h>
#include <linux/vhost.h>
#include <linux/xarray.h>

#include "compat.h"

struct vhl_work;
struct vhl_worker;
struct vhl_dev;
struct vhl_virtqueue;

typedef void (*vhl_work_fn_t)(struct vhl_work *work);

#define VHL_WORK_QUEUED 1

/**
 * struct vhl_work - a unit of work run by a device's worker thread
 * @node: link in the worker's lockless work list
 * @fn: function called in the worker, in the owner's mm
 * @flags: VHL_WORK_QUEUED while the work sits on a list
 */
struct vhl_work {
	struct llist_node node;
	vhl_work_fn_t fn;
	unsigned long flags;
};

/**
 * struct vhl_poll - wakes a virtqueue's worker when a file becomes ready
 * @table: poll table used to register @wait on the file's wait queue
 * @wqh: the wait queue @wait is on, or NULL when not polling
 * @wait: our entry on @wqh
 * @work: queued on the worker when the file signals @mask; the handler
 *	receives &poll->work
 * @fn: the back end's handler, run by the worker
 * @mask: poll events that trigger @work
 * @vq: the virtqueue whose worker runs @work
 */
struct vhl_poll {
	poll_table table;
	wait_queue_head_t *wqh;
	wait_queue_entry_t wait;
	struct vhl_work work;
	vhl_work_fn_t fn;
	__poll_t mask;
	struct vhl_virtqueue *vq;
};

/**
 * struct vhl_mem_region - one guest memory region of the memory table
 * @gpa: guest-physical start address
 * @size: size in bytes (never 0)
 * @uaddr: start address in the owner's address space
 */
struct vhl_mem_region {
	u64 gpa;
	u64 size;
	u64 uaddr;
};

/**
 * struct vhl_mem - an immutable, sorted memory table
 * @nregions: number of entries in @regions
 * @total_size: sum of the region sizes
 * @regions: sorted by @gpa, non-overlapping
 */
struct vhl_mem {
	u32 nregions;
	u64 total_size;
	struct vhl_mem_region regions[];
};

/**
 * struct vhl_vq_stats - per-virtqueue counters, exported through fdinfo
 *
 * Written by the worker (or ioctl path) with vq->mutex held, read locklessly
 * by fdinfo with READ_ONCE(); values are monotonic.
 */
struct vhl_vq_stats {
	u64 kicks;	/* kick eventfd wakeups handled */
	u64 calls;	/* call eventfd signals sent */
	u64 descs;	/* descriptor chains taken from the avail ring */
	u64 used;	/* entries written to the used ring */
	u64 bytes;	/* payload bytes moved (counted by the back end) */
	u64 packets;	/* packets/requests completed (counted by the back end) */
	u64 errors;	/* guest-triggered errors (ring marked broken, ...) */
	u64 worker_ns;	/* time spent in this queue's handler */
	u64 busy_polls;	/* busy polls (busyloop timeout) of ring or backend */
	u64 busy_poll_hits;	/* ... that found what they polled for */
};

/**
 * struct vhl_used_elem - a used entry as back ends hand it to the core
 * @id: head index returned by vhl_get_vq_desc()
 * @len: bytes the device wrote into the chain
 *
 * CPU byte order; the core converts when it writes the ring.
 */
struct vhl_used_elem {
	u32 id;
	u32 len;
};

struct vhl_ring_ops;

/**
 * struct vhl_virtqueue - one virtqueue as seen by the core
 *
 * Fields below @mutex are protected by it.
 */
struct vhl_virtqueue {
	struct vhl_dev *dev;
	/* Position in dev->vqs, for fdinfo and tracepoints. */
	unsigned int index;
	/* Set under dev->mutex and vq->mutex; queueing reads it under RCU. */
	struct vhl_worker __rcu *worker;
	vhl_work_fn_t handle_kick;
	struct vhl_poll poll;

	/* Protects everything below; taken inside dev->mutex. */
	struct mutex mutex;
	const struct vhl_ring_ops *ops;
	unsigned int num;
	vring_desc_t __user *desc;
	vring_avail_t __user *avail;
	vring_used_t __user *used;
	u64 desc_user_addr, avail_user_addr, used_user_addr;
	const struct vhl_mem *mem;
	/* Index of the region the last translation hit. */
	u32 mem_hint;
	struct file *kick;
	struct eventfd_ctx *call_ctx;
	struct eventfd_ctx *error_ctx;

	/* Next avail ring entry the back end will take. */
	u16 last_avail_idx;
	/* Last avail->idx value read from the guest. */
	u16 avail_idx;
	/* Next used ring entry we will write. */
	u16 last_used_idx;
	/* Flags we last wrote to used->flags. */
	u16 used_flags;
	/* used index when we last signalled the guest (EVENT_IDX). */
	u16 signalled_used;
	bool signalled_used_valid;
	/*
	 * Packed rings: last_avail_idx and last_used_idx are ring positions,
	 * these are their wrap counters; used_flags holds the device event
	 * flags we last wrote.
	 */
	bool avail_wrap;
	bool used_wrap;
	/* Packed: used ring slots written since we last decided to signal. */
	u32 packed_unsignalled;
	/* Packed: per buffer id, ring slots of its chain (0: not taken). */
	u16 *packed_ndescs;
	/* Packed: slots of the last chains taken, for vhl_discard_vq_desc(). */
	u16 *packed_taken;
	u16 packed_ntaken;
	/* A guest-triggered error stopped the queue until it is set up anew. */
	bool broken;
	/* GET_VRING_BASE stopped the queue until SET_VRING_BASE. */
	bool stopped;
	/* VHOST_SET_VRING_BUSYLOOP_TIMEOUT, microseconds; 0: no polling. */
	u32 busyloop_timeout;

	/* Dirty log bitmap (VHOST_SET_LOG_BASE), NULL when none. */
	void __user *log_base;
	/* Signalled after the log was written (VHOST_SET_LOG_FD). */
	struct eventfd_ctx *log_ctx;
	/* VHOST_VRING_F_LOG: log used ring writes at this guest address. */
	bool log_used;
	u64 log_guest_addr;

	u64 acked_features;
	u64 acked_backend_features;
	/* Back end private data (e.g. the socket); see vhl_vq_get_backend(). */
	void *private_data;

	struct vhl_vq_stats stats;
};

/**
 * struct vhl_dev - a vhost device instance (one open file)
 * @id: device number, unique while the module is loaded: the "vhl-id:"
 *	line of fdinfo and the dev= field of the tracepoints
 * @mm: the owner's mm, set by SET_OWNER; NULL before
 * @owner_pid: pid (in the init namespace) of the owner, for fdinfo
 * @owner_comm: the owner's comm at SET_OWNER time, for fdinfo
 * @mutex: serialises ioctls; taken outside every vq->mutex
 * @vqs: the back end's virtqueues
 * @nvqs: number of entries in @vqs
 * @mem: current memory table (also referenced by each vq->mem)
 * @workers: the device's workers by id: the default one SET_OWNER creates
 *	(id 0) and those of VHOST_NEW_WORKER; changed under @mutex
 * @nworkers: number of entries in @workers
 * @iov_limit: maximum number of iovecs a back end accepts per chain
 * @weight: packets/requests a handler may process before yielding
 * @byte_weight: bytes a handler may process before yielding
 * @kind: back end name shown by fdinfo ("net", "vsock", "blk")
 * @log_base: dirty log bitmap (VHOST_SET_LOG_BASE), copied to each vq
 * @log_ctx: VHOST_SET_LOG_FD eventfd; each vq borrows this reference
 */
struct vhl_dev {
	u32 id;
	struct mm_struct *mm;
	pid_t owner_pid;
	char owner_comm[TASK_COMM_LEN];
	/* Serialises ioctls; taken outside every vq->mutex. */
	struct mutex mutex;
	struct vhl_virtqueue **vqs;
	int nvqs;
	const struct vhl_mem *mem;
	struct xarray workers;
	unsigned int nworkers;
	int iov_limit;
	int weight;
	int byte_weight;
	const char *kind;
	void __user *log_base;
	struct eventfd_ctx *log_ctx;
};

/* dev.c: lifecycle and ioctls */
void vhl_dev_init(struct vhl_dev *dev, struct vhl_virtqueue **vqs, int nvqs,
		  int iov_limit, int weight, int byte_weight, const char *kind);
long vhl_dev_check_owner(struct vhl_dev *dev);
long vhl_dev_check_caller(struct vhl_dev *dev);
long vhl_dev_set_owner(struct vhl_dev *dev);
long vhl_dev_reset_owner(struct vhl_dev *dev);
void vhl_dev_stop(struct vhl_dev *dev);
void vhl_dev_cleanup(struct vhl_dev *dev);
long vhl_dev_ioctl(struct vhl_dev *dev, unsigned int ioctl, void __user *argp);
long vhl_vring_ioctl(struct vhl_dev *dev, unsigned int ioctl, void __user *argp);

/* dev_ioctl.c: what back ends pass on */
long vhl_dev_common_ioctl(struct vhl_dev *dev, unsigned int ioctl,
			  void __user *argp);
int vhl_dev_set_features(struct vhl_dev *dev, u64 features);
void vhl_dev_show_fdinfo(struct seq_file *m, struct vhl_dev *dev);

/* worker.c: work queueing */
void vhl_work_init(struct vhl_work *work, vhl_work_fn_t fn);
bool vhl_vq_work_queue(struct vhl_virtqueue *vq, struct vhl_work *work);
void vhl_dev_flush(struct vhl_dev *dev);

/* poll.c: kick and backend wakeups */
void vhl_poll_init(struct vhl_poll *poll, vhl_work_fn_t fn, __poll_t mask,
		   struct vhl_virtqueue *vq);
int vhl_poll_start(struct vhl_poll *poll, struct file *file);
void vhl_poll_stop(struct vhl_poll *poll);
void vhl_poll_queue(struct vhl_poll *poll);

/* vring.c: descriptor chains, used ring and notifications */
int vhl_get_vq_desc(struct vhl_virtqueue *vq, struct iovec iov[],
		    unsigned int iov_size, unsigned int *out_num,
		    unsigned int *in_num);
void vhl_discard_vq_desc(struct vhl_virtqueue *vq, int n);
int vhl_add_used(struct vhl_virtqueue *vq, unsigned int head, int len);
int vhl_add_used_n(struct vhl_virtqueue *vq, const struct vhl_used_elem *heads,
		   unsigned int count);
void vhl_signal(struct vhl_virtqueue *vq);
bool vhl_enable_notify(struct vhl_virtqueue *vq);
void vhl_disable_notify(struct vhl_virtqueue *vq);
bool vhl_busy_poll(struct vhl_virtqueue *vq, bool (*ready)(void *arg),
		   void *arg);
bool vhl_vq_busy_poll(struct vhl_virtqueue *vq);
bool vhl_exceeds_weight(struct vhl_virtqueue *vq, int pkts, int total_len);
void vhl_vq_err(struct vhl_virtqueue *vq, const char *fmt, ...) __printf(2, 3);

/* log.c: dirty logging for live migration (VHOST_F_LOG_ALL) */
int vhl_log_write(struct vhl_virtqueue *vq, const struct iovec *iov,
		  unsigned int count, size_t len);

/**
 * vhl_vq_ready() - may the worker process this virtqueue?
 * @vq: the virtqueue
 *
 * Context: vq->mutex held.
 * Return: true if the ring is set up, not broken and not stopped.
 */
static inline bool vhl_vq_ready(const struct vhl_virtqueue *vq)
{
	return vq->desc && !vq->broken && !vq->stopped;
}

/**
 * vhl_vq_get_backend() - the back end's private data of a virtqueue
 * @vq: the virtqueue
 *
 * Context: vq->mutex held.
 * Return: what vhl_vq_set_backend() stored last, or NULL.
 */
static inline void *vhl_vq_get_backend(struct vhl_virtqueue *vq)
{
	return vq->private_data;
}

/**
 * vhl_vq_set_backend() - set the back end's private data of a virtqueue
 * @vq: the virtqueue
 * @private_data: new value
 *
 * Context: vq->mutex held.
 */
static inline void vhl_vq_set_backend(struct vhl_virtqueue *vq,
				      void *private_data)
{
	vq->private_data = private_data;
}

/**
 * vhl_has_feature() - was a feature bit negotiated on this virtqueue?
 * @vq: the virtqueue
 * @bit: feature bit number
 *
 * Context: vq->mutex held.
 */
static inline bool vhl_has_feature(const struct vhl_virtqueue *vq, int bit)
{
	return vq->acked_features & BIT_ULL(bit);
}

/**
 * vhl_vq_count() - account completed packets/requests and payload bytes
 * @vq: the virtqueue
 * @packets: packets or requests completed
 * @bytes: payload bytes moved
 *
 * Context: vq->mutex held.
 */
static inline void vhl_vq_count(struct vhl_virtqueue *vq, u64 packets,
				u64 bytes)
{
	WRITE_ONCE(vq->stats.packets, vq->stats.packets + packets);
	WRITE_ONCE(vq->stats.bytes, vq->stats.bytes + bytes);
}

/**
 * vhl_vq_is_le() - is the ring little endian?
 * @vq: the virtqueue
 *
 * VIRTIO 1.x rings are; legacy rings are in the host's byte order.
 *
 * Context: vq->mutex held.
 */
static inline bool vhl_vq_is_le(const struct vhl_virtqueue *vq)
{
	return vhl_has_feature(vq, VIRTIO_F_VERSION_1) ||
	       virtio_legacy_is_little_endian();
}

/* Features every back end offers (the back end adds its own). */
#define VHL_FEATURES ((1ULL << VIRTIO_F_NOTIFY_ON_EMPTY) | \
		      (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | \
		      (1ULL << VIRTIO_RING_F_EVENT_IDX) | \
		      (1ULL << VIRTIO_F_ANY_LAYOUT) | \
		      (1ULL << VIRTIO_F_VERSION_1) | \
		      (1ULL << VIRTIO_F_RING_PACKED) | \
		      (1ULL << VHOST_F_LOG_ALL))

/* Backend features (VHOST_GET_BACKEND_FEATURES) the core supports. */
#define VHL_BACKEND_FEATURES 0ULL

#endif /* _VHOST_LITE_H */
