/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost_blk_lite: state shared between the files of the module.
 *
 * One open file of /dev/vhost-blk-lite is one virtio-blk device with up to
 * VHL_BLK_VQ_MAX request virtqueues, all served by the device's worker,
 * and one backend (a regular file or a block device) shared by them.
 *
 * A request lives from the moment its chain is taken from the avail ring
 * until its used entry is published: the kick handler parses it and starts
 * its I/O (blk_req.c); the I/O ends in a completion that may run in any
 * context (blk_io.c), which puts the request on its virtqueue's done list
 * and queues the virtqueue's done work; the done work, in the worker, writes
 * the status byte and the used entries in batches and signals once per
 * batch.
 *
 * Locking: dev.mutex, then vq.mutex, then blk->lock (a spinlock taken from
 * completion context too), then the core worker's lock.
 */
#ifndef _VHL_BLK_H
#define _VHL_BLK_H

#include <linux/blkdev.h>
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/llist.h>
#include <linux/spinlock.h>
#include <linux/uio.h>
#include <linux/virtio_blk.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <linux/vhost_lite.h>
#include "vhost_lite.h"

/* Request virtqueues per device (VIRTIO_BLK_F_MQ num_queues). */
#define VHL_BLK_VQ_MAX 16
/* iovecs a chain may map to. */
#define VHL_BLK_IOV_MAX UIO_MAXIOV
/* Data segments per request advertised (seg_max): header and status aside. */
#define VHL_BLK_SEG_MAX 254
/* Requests a virtqueue keeps in flight before it waits for completions. */
#define VHL_BLK_VQ_INFLIGHT 256
/* Requests a kick handler takes before it lets other work run. */
#define VHL_BLK_PKT_WEIGHT 256
/* Used entries published per batch (one signal per batch). */
#define VHL_BLK_USED_BATCH 64
/* Largest data transfer of one IN or OUT request. */
#define VHL_BLK_MAX_BYTES MAX_RW_COUNT
/* DISCARD and WRITE_ZEROES limits advertised in GET_CONFIG and enforced. */
#define VHL_BLK_MAX_DISCARD_SECTORS 4194304U	/* 2 GiB */
#define VHL_BLK_MAX_DISCARD_SEG 32
#define VHL_BLK_MAX_WZ_SECTORS 4194304U
#define VHL_BLK_MAX_WZ_SEG 32

/* Features offered whatever the backend. */
#define VHL_BLK_FEATURES_BASE (VHL_FEATURES | \
			       BIT_ULL(VIRTIO_BLK_F_SEG_MAX) | \
			       BIT_ULL(VIRTIO_BLK_F_BLK_SIZE) | \
			       BIT_ULL(VIRTIO_BLK_F_FLUSH) | \
			       BIT_ULL(VIRTIO_BLK_F_MQ))
/* Every feature VHOST_SET_FEATURES accepts. */
#define VHL_BLK_FEATURES (VHL_BLK_FEATURES_BASE | \
			  BIT_ULL(VIRTIO_BLK_F_RO) | \
			  BIT_ULL(VIRTIO_BLK_F_DISCARD) | \
			  BIT_ULL(VIRTIO_BLK_F_WRITE_ZEROES))

/**
 * struct vhl_blk_backend - the disk behind a device
 * @file: the regular file or block device, referenced
 * @bdev: its block device, or NULL for a regular file
 * @capacity: size in 512-byte sectors, fixed at SET_BACKEND time
 * @blk_size: logical block size advertised (VIRTIO_BLK_F_BLK_SIZE)
 * @dio_mask: alignment mask of direct I/O (offset, lengths, addresses);
 *	0 when the fd was not opened with O_DIRECT (buffered I/O)
 * @discard_align: discard_sector_alignment advertised, in sectors
 * @ro: read-only disk (read-only fd, read-only bdev or VHOST_BLK_LITE_F_RO)
 * @discard: DISCARD supported
 *
 * Immutable while attached; requests use it without a reference because
 * detaching waits for every request first.
 */
struct vhl_blk_backend {
	struct file *file;
	struct block_device *bdev;
	u64 capacity;
	u32 blk_size;
	u32 dio_mask;
	u32 discard_align;
	bool ro;
	bool discard;
};

struct vhl_blk;

/**
 * struct vhl_blk_vq - a request virtqueue
 * @vq: the core's virtqueue
 * @blk: the device
 * @backend: the backend requests go to, or NULL (vq.mutex).  Not the
 *	core's vq backend pointer: that one makes the core refuse ring
 *	changes, while a vhost-user bridge sets the backend first (GET_CONFIG
 *	needs it) and rings up and down afterwards.
 * @done: completed requests, newest first, waiting for @done_work
 * @done_work: publishes @done in the worker
 * @pending: requests taken and not yet on @done (blk->lock)
 * @inflight: requests taken and not yet published (vq.mutex)
 * @throttled: the kick handler stopped at VHL_BLK_VQ_INFLIGHT (vq.mutex)
 * @ioerr: requests completed with VIRTIO_BLK_S_IOERR (fdinfo)
 * @unsupp: requests completed with VIRTIO_BLK_S_UNSUPP (fdinfo)
 * @iov: scratch iovecs for the chain being parsed (vq.mutex)
 * @heads: used entries being published (vq.mutex)
 */
struct vhl_blk_vq {
	struct vhl_virtqueue vq;
	struct vhl_blk *blk;
	struct vhl_blk_backend *backend;
	struct llist_head done;
	struct vhl_work done_work;
	unsigned int pending;
	unsigned int inflight;
	bool throttled;
	u64 ioerr;
	u64 unsupp;
	struct iovec iov[VHL_BLK_IOV_MAX];
	struct vhl_used_elem heads[VHL_BLK_USED_BATCH];
};

/**
 * struct vhl_blk - one open /dev/vhost-blk-lite
 * @dev: the core's device
 * @vqs: the request virtqueues
 * @vq_ptrs: pointers to @vqs[i].vq, as the core wants them
 * @backend: the attached backend or NULL (dev.mutex)
 * @wq: runs FLUSH, DISCARD and WRITE_ZEROES, which block
 * @lock: protects @writes, @wseq, every vqs[i].pending and @serial
 * @wait: woken when a request completes (drains and FLUSH wait here)
 * @writes: writing requests in flight, oldest first
 * @wseq: sequence number of the next writing request
 * @serial: the GET_ID answer
 */
struct vhl_blk {
	struct vhl_dev dev;
	struct vhl_blk_vq vqs[VHL_BLK_VQ_MAX];
	struct vhl_virtqueue *vq_ptrs[VHL_BLK_VQ_MAX];
	struct vhl_blk_backend *backend;
	struct workqueue_struct *wq;
	spinlock_t lock;	/* see above */
	wait_queue_head_t wait;
	struct list_head writes;
	u64 wseq;
	char serial[VIRTIO_BLK_ID_BYTES];
};

/**
 * struct vhl_blk_req - one request, from avail ring to used ring
 * @node: link in vhl_blk_vq.done
 * @iocb: the I/O of IN and OUT
 * @work: FLUSH, DISCARD and WRITE_ZEROES on vhl_blk.wq
 * @wnode: link in vhl_blk.writes while a writing request is in flight
 * @wseq: OUT/DISCARD/WRITE_ZEROES: its sequence number; FLUSH: the
 *	sequence number of the first write it does not wait for
 * @bvq: the virtqueue it came from
 * @backend: the backend it runs on
 * @status_addr: the status byte, in the owner's address space
 * @pos: byte offset on the backend
 * @len: data bytes (IN, OUT, GET_ID)
 * @written: bytes written into @iov (IN, GET_ID), for the dirty log
 * @head: chain head
 * @type: VIRTIO_BLK_T_*
 * @status: VIRTIO_BLK_S_*
 * @write_started: kiocb_start_write() was called
 * @nr_iov: entries in @iov
 * @nr_seg: entries in @seg
 * @iov: data buffers (IN, OUT, GET_ID)
 * @seg: ranges (DISCARD, WRITE_ZEROES), little endian as the guest wrote
 */
struct vhl_blk_req {
	struct llist_node node;
	union {
		struct kiocb iocb;
		struct work_struct work;
	};
	struct list_head wnode;
	u64 wseq;
	struct vhl_blk_vq *bvq;
	struct vhl_blk_backend *backend;
	u8 __user *status_addr;
	loff_t pos;
	size_t len;
	size_t written;
	u16 head;
	u32 type;
	u8 status;
	bool write_started;
	unsigned int nr_iov;
	unsigned int nr_seg;
	union {
		DECLARE_FLEX_ARRAY(struct iovec, iov);
		DECLARE_FLEX_ARRAY(struct virtio_blk_discard_write_zeroes, seg);
	};
};

static inline struct vhl_blk_vq *vhl_blk_vq(struct vhl_virtqueue *vq)
{
	return container_of(vq, struct vhl_blk_vq, vq);
}

/* blk_backend.c */
long vhl_blk_set_backend(struct vhl_blk *blk,
			 const struct vhost_blk_lite_backend *b);
struct vhl_blk_backend *vhl_blk_detach(struct vhl_blk *blk);
void vhl_blk_backend_put(struct vhl_blk_backend *be);
void vhl_blk_drain(struct vhl_blk *blk, unsigned long vq_mask);
void vhl_blk_quiesce(struct vhl_blk *blk, unsigned int idx, bool hold);
u64 vhl_blk_features(struct vhl_blk *blk);
long vhl_blk_get_config(struct vhl_blk *blk, void __user *argp);

/* blk_req.c */
void vhl_blk_handle_kick(struct vhl_work *work);

/* blk_io.c */
void vhl_blk_req_start(struct vhl_blk_req *req);
void vhl_blk_submit_rw(struct vhl_blk_req *req);
void vhl_blk_submit_slow(struct vhl_blk_req *req);
void vhl_blk_req_done(struct vhl_blk_req *req);
void vhl_blk_done_work(struct vhl_work *work);
void vhl_blk_reap(struct vhl_blk_vq *bvq);

#endif /* _VHL_BLK_H */
