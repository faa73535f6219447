/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-lite core internals shared between the core's own files.  Back ends
 * use vhost_lite.h only.
 */
#ifndef _VHL_INTERNAL_H
#define _VHL_INTERNAL_H

#include <asm/byteorder.h>
#include <linux/virtio_byteorder.h>

#include "vhost_lite.h"

/* Largest ring the ABI allows (VHOST_SET_VRING_NUM). */
#define VHL_MAX_VRING_NUM 32768
/*
 * Longest VHOST_SET_VRING_BUSYLOOP_TIMEOUT accepted, microseconds: a poll
 * holds vq->mutex, so the queue's ioctls may wait that long.
 */
#define VHL_MAX_BUSYLOOP_US 1000000
/* Largest indirect table we walk (entries). */
#define VHL_MAX_INDIRECT 32768

/**
 * struct vhl_ring_ops - one virtqueue layout (split today, packed later)
 * @get_desc: take the next descriptor chain, see vhl_get_vq_desc()
 * @discard: give back the last @n chains taken
 * @add_used: publish @count used entries
 * @need_signal: does the guest want an interrupt for what was published?
 * @enable_notify: ask the guest for kicks; true if buffers arrived meanwhile
 * @disable_notify: ask the guest not to kick
 * @init_access: read ring state from guest memory once the rings are set
 * @ring_sizes: bytes and alignment of the desc, avail and used areas for a
 *	ring of @num entries
 */
struct vhl_ring_ops {
	int (*get_desc)(struct vhl_virtqueue *vq, struct iovec iov[],
			unsigned int iov_size, unsigned int *out_num,
			unsigned int *in_num);
	void (*discard)(struct vhl_virtqueue *vq, int n);
	int (*add_used)(struct vhl_virtqueue *vq,
			const struct vhl_used_elem *heads,
			unsigned int count);
	bool (*need_signal)(struct vhl_virtqueue *vq);
	bool (*enable_notify)(struct vhl_virtqueue *vq);
	bool (*avail_empty)(struct vhl_virtqueue *vq);
	void (*disable_notify)(struct vhl_virtqueue *vq);
	int (*init_access)(struct vhl_virtqueue *vq);
	void (*ring_sizes)(unsigned int num, size_t sizes[3], size_t align[3]);
};

extern const struct vhl_ring_ops vhl_split_ops;
extern const struct vhl_ring_ops vhl_packed_ops;

/* Does @vq use the packed layout?  Context: vq->mutex held. */
static inline bool vhl_vq_packed(const struct vhl_virtqueue *vq)
{
	return vq->ops == &vhl_packed_ops;
}

/* mem.c */
extern unsigned int vhl_max_mem_regions;
long vhl_set_mem_table(struct vhl_dev *dev,
		       struct vhost_memory __user *m);
void vhl_mem_free(const struct vhl_mem *mem);
int vhl_translate(struct vhl_virtqueue *vq, u64 addr, u32 len,
		  struct iovec iov[], unsigned int iov_size);
int vhl_map_buf(struct vhl_virtqueue *vq, u64 addr, u32 len, bool write,
		struct iovec iov[], unsigned int iov_size,
		unsigned int *out_num, unsigned int *in_num);
int vhl_read_guest(struct vhl_virtqueue *vq, u64 addr, void *buf, u32 len);

/* log.c; the bitmap's page size is fixed by the vhost ABI. */
#define VHL_LOG_PAGE 0x1000
bool vhl_log_access_ok(void __user *log_base, const struct vhl_mem *mem,
		       u64 extra_end);
int vhl_log_used(struct vhl_virtqueue *vq, u64 offset, u64 len);
int vhl_log_used_hva(struct vhl_virtqueue *vq, u64 uaddr, u64 len);
bool vhl_dev_log_ok(struct vhl_dev *dev, void __user *log_base,
		    const struct vhl_mem *mem);
int vhl_log_set_used(struct vhl_virtqueue *vq, bool on, u64 guest_addr);
long vhl_dev_set_log_base(struct vhl_dev *dev, u64 __user *argp);
long vhl_dev_set_log_fd(struct vhl_dev *dev, int __user *argp);
void vhl_dev_log_cleanup(struct vhl_dev *dev);

/* Is dirty logging on for @vq?  Context: vq->mutex held. */
static inline bool vhl_log_enabled(const struct vhl_virtqueue *vq)
{
	return vq->log_base && vhl_has_feature(vq, VHOST_F_LOG_ALL);
}

/* worker.c */
bool vhl_worker_pending(struct vhl_worker *worker);

/* workers.c: the device's workers (dev->mutex held) */
long vhl_dev_workers_start(struct vhl_dev *dev);
void vhl_dev_workers_free(struct vhl_dev *dev);
long vhl_dev_worker_ioctl(struct vhl_dev *dev, unsigned int ioctl,
			  void __user *argp);
long vhl_vring_worker_ioctl(struct vhl_dev *dev, struct vhl_virtqueue *vq,
			    unsigned int ioctl, void __user *argp);
void vhl_dev_show_workers(struct seq_file *m, struct vhl_dev *dev);
int vhl_vq_worker_id(struct vhl_virtqueue *vq);

static inline u16 vhl16_to_cpu(const struct vhl_virtqueue *vq, __virtio16 v)
{
	return __virtio16_to_cpu(vhl_vq_is_le(vq), v);
}

static inline __virtio16 cpu_to_vhl16(const struct vhl_virtqueue *vq, u16 v)
{
	return __cpu_to_virtio16(vhl_vq_is_le(vq), v);
}

static inline u32 vhl32_to_cpu(const struct vhl_virtqueue *vq, __virtio32 v)
{
	return __virtio32_to_cpu(vhl_vq_is_le(vq), v);
}

static inline __virtio32 cpu_to_vhl32(const struct vhl_virtqueue *vq, u32 v)
{
	return __cpu_to_virtio32(vhl_vq_is_le(vq), v);
}

static inline u64 vhl64_to_cpu(const struct vhl_virtqueue *vq, __virtio64 v)
{
	return __virtio64_to_cpu(vhl_vq_is_le(vq), v);
}

#endif /* _VHL_INTERNAL_H */
