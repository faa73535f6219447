// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty logging for live migration: while VHOST_F_LOG_ALL is negotiated,
 * every guest page a back end writes is marked in the bitmap userspace
 * gave with VHOST_SET_LOG_BASE (bit N for guest-physical page N of
 * VHL_LOG_PAGE bytes, bit N % 8 of byte N / 8), so that a migration
 * re-sends it.
 *
 * Bits are set atomically on the pinned bitmap page: QEMU clears bits
 * concurrently from another thread. The bitmap's size was checked against
 * the memory table and the used rings when logging was switched on, and a
 * page that cannot be pinned fails the write with -EFAULT, so a bad log
 * base can fail the queue but never make us write elsewhere.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/uaccess.h>

#include "internal.h"

/* Bitmap bytes needed to cover guest-physical [0, end). */
static u64 vhl_log_bytes(u64 end)
{
	return DIV_ROUND_UP(DIV_ROUND_UP(end, VHL_LOG_PAGE), 8);
}

/**
 * vhl_log_access_ok() - does a log bitmap cover guest memory?
 * @log_base: the bitmap in the owner's address space
 * @mem: the memory table (may be NULL)
 * @extra_end: another guest-physical end to cover (a used ring), or 0
 *
 * Context: any.
 * Return: true if the bitmap's bytes for every region and @extra_end are
 * user addresses.
 */
bool vhl_log_access_ok(void __user *log_base, const struct vhl_mem *mem,
		       u64 extra_end)
{
	u64 end = extra_end;

	if (mem && mem->nregions) {
		const struct vhl_mem_region *r = &mem->regions[mem->nregions - 1];

		/* Sorted and checked not to wrap by vhl_mem_build(). */
		end = max(end, r->gpa + r->size);
	}
	if (!end)
		return true;
	return access_ok(log_base, vhl_log_bytes(end));
}

/*
 * Bytes of the used area that VHOST_VRING_F_LOG logs at log_guest_addr:
 * the split used ring, or the packed device event area (used descriptors
 * of packed rings are logged through the memory table instead).
 */
static u64 vhl_used_size(const struct vhl_virtqueue *vq)
{
	size_t sizes[3], align[3];

	vq->ops->ring_sizes(vq->num, sizes, align);
	return sizes[2];
}

/**
 * vhl_dev_log_ok() - does a log bitmap cover a memory table and used rings?
 * @dev: the device
 * @log_base: the bitmap (NULL: none, always fine)
 * @mem: the memory table to check against
 *
 * Context: dev->mutex held.
 * Return: true if every bitmap byte logging may touch is a user address.
 */
bool vhl_dev_log_ok(struct vhl_dev *dev, void __user *log_base,
		    const struct vhl_mem *mem)
{
	u64 end = 0;
	int i;

	if (!log_base)
		return true;
	for (i = 0; i < dev->nvqs; i++) {
		struct vhl_virtqueue *vq = dev->vqs[i];

		/* Checked not to wrap by SET_VRING_ADDR. */
		if (vq->log_used)
			end = max(end, vq->log_guest_addr + vhl_used_size(vq));
	}
	return vhl_log_access_ok(log_base, mem, end);
}

/**
 * vhl_log_set_used() - VHOST_VRING_F_LOG of SET_VRING_ADDR
 * @vq: the virtqueue, its num set
 * @on: log used ring writes
 * @guest_addr: guest-physical address of the used ring
 *
 * Context: dev->mutex and vq->mutex held.
 * Return: 0, -EINVAL if the ring would wrap, -EFAULT if the current log
 * bitmap does not cover it.
 */
int vhl_log_set_used(struct vhl_virtqueue *vq, bool on, u64 guest_addr)
{
	u64 size = vhl_used_size(vq);

	if (on) {
		if (guest_addr + size < guest_addr)
			return -EINVAL;
		if (vq->dev->log_base &&
		    !vhl_log_access_ok(vq->dev->log_base, NULL,
				       guest_addr + size))
			return -EFAULT;
	}
	vq->log_used = on;
	vq->log_guest_addr = on ? guest_addr : 0;
	return 0;
}

/**
 * vhl_dev_set_log_base() - VHOST_SET_LOG_BASE
 * @dev: the device
 * @argp: user pointer to the u64 bitmap address (0: no bitmap)
 *
 * Context: dev->mutex held, by the owner.
 * Return: 0, or -EFAULT if the bitmap does not cover guest memory and the
 * logged used rings.
 */
long vhl_dev_set_log_base(struct vhl_dev *dev, u64 __user *argp)
{
	void __user *base;
	u64 addr;
	int i;

	if (copy_from_user(&addr, argp, sizeof(addr)))
		return -EFAULT;
	if ((u64)(unsigned long)addr != addr)
		return -EFAULT;
	base = (void __user *)(unsigned long)addr;
	if (!vhl_dev_log_ok(dev, base, dev->mem))
		return -EFAULT;
	dev->log_base = base;
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		dev->vqs[i]->log_base = base;
		mutex_unlock(&dev->vqs[i]->mutex);
	}
	return 0;
}

/**
 * vhl_dev_set_log_fd() - VHOST_SET_LOG_FD
 * @dev: the device
 * @argp: user pointer to an eventfd, or -1 for none
 *
 * Context: dev->mutex held, by the owner.
 * Return: 0, -EFAULT, or the eventfd lookup's error.
 */
long vhl_dev_set_log_fd(struct vhl_dev *dev, int __user *argp)
{
	struct eventfd_ctx *ctx = NULL, *old;
	int fd, i;

	if (get_user(fd, argp))
		return -EFAULT;
	if (fd != -1) {
		ctx = eventfd_ctx_fdget(fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	}
	old = dev->log_ctx;
	dev->log_ctx = ctx;
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		dev->vqs[i]->log_ctx = ctx;
		mutex_unlock(&dev->vqs[i]->mutex);
	}
	if (old)
		eventfd_ctx_put(old);
	return 0;
}

/**
 * vhl_dev_log_cleanup() - forget the log bitmap and eventfd
 * @dev: the device, its virtqueues reset
 *
 * Context: dev->mutex held or the file being released.
 */
void vhl_dev_log_cleanup(struct vhl_dev *dev)
{
	if (dev->log_ctx)
		eventfd_ctx_put(dev->log_ctx);
	dev->log_ctx = NULL;
	dev->log_base = NULL;
}

/* Set bits [first, last] (guest page numbers); one pin per bitmap page. */
static int vhl_log_set_bits(void __user *log_base, u64 first, u64 last)
{
	unsigned long base = (unsigned long)log_base;

	while (first <= last) {
		unsigned long uaddr = base + (unsigned long)(first / 8);
		unsigned long page_start = uaddr & PAGE_MASK;
		u64 end = (u64)(page_start + PAGE_SIZE - base) * 8 - 1;
		struct page *page;
		void *kaddr;
		u64 bit;

		end = min(end, last);
		if (pin_user_pages_fast(page_start, 1, FOLL_WRITE, &page) != 1)
			return -EFAULT;
		kaddr = kmap_local_page(page);
		for (bit = first; bit <= end; bit++) {
			unsigned long off = base + (unsigned long)(bit / 8) -
					    page_start;

			set_bit(off * 8 + bit % 8, kaddr);
		}
		kunmap_local(kaddr);
		unpin_user_pages_dirty_lock(&page, 1, true);
		first = end + 1;
	}
	return 0;
}

/* Mark guest-physical [gpa, gpa + len); len > 0 and the range does not wrap. */
static int vhl_log_gpa(struct vhl_virtqueue *vq, u64 gpa, u64 len)
{
	return vhl_log_set_bits(vq->log_base, gpa / VHL_LOG_PAGE,
				(gpa + len - 1) / VHL_LOG_PAGE);
}

/* Mark the guest pages behind owner-virtual [uaddr, uaddr + len). */
static int vhl_log_hva(struct vhl_virtqueue *vq, u64 uaddr, u64 len)
{
	const struct vhl_mem *mem = vq->mem;
	bool found = false;
	u32 i;

	if (!mem)
		return -EFAULT;
	/*
	 * An address may be mapped at several guest addresses: mark them
	 * all. Tables are small; logging runs only while migrating.
	 */
	for (i = 0; i < mem->nregions; i++) {
		const struct vhl_mem_region *r = &mem->regions[i];
		u64 start = max(uaddr, r->uaddr);
		u64 end = min(uaddr + len, r->uaddr + r->size);
		int ret;

		if (start >= end)
			continue;
		ret = vhl_log_gpa(vq, r->gpa + (start - r->uaddr), end - start);
		if (ret)
			return ret;
		found = true;
	}
	return found ? 0 : -EFAULT;
}

static void vhl_log_signal(struct vhl_virtqueue *vq)
{
	if (vq->log_ctx)
		vhl_eventfd_signal(vq->log_ctx);
}

/**
 * vhl_log_write() - mark guest pages written through device-writable iovecs
 * @vq: the virtqueue the buffers came from
 * @iov: the device-writable iovecs of one or more chains, in order
 * @count: number of entries in @iov
 * @len: bytes the back end wrote, from the start of @iov[0]
 *
 * Back ends call this after writing guest memory (RX data, read data,
 * vsock payload). It does nothing unless dirty logging is on. A write of
 * zero bytes marks nothing; @len beyond the iovecs is clamped to them.
 * A bitmap that cannot be written breaks the queue (vhl_vq_err()).
 * Call it before publishing the used entry, so that a migration that sees
 * the entry also sees the data pages dirty.
 *
 * Context: the virtqueue's worker (the owner's mm), with vq->mutex held.
 * Return: 0, or -EFAULT if the log could not be written.
 */
int vhl_log_write(struct vhl_virtqueue *vq, const struct iovec *iov,
		  unsigned int count, size_t len)
{
	unsigned int i;

	if (!vhl_log_enabled(vq))
		return 0;
	for (i = 0; i < count && len; i++) {
		u64 chunk = min_t(u64, iov[i].iov_len, len);

		if (!chunk)
			continue;
		if (vhl_log_hva(vq, (unsigned long)iov[i].iov_base, chunk)) {
			vhl_vq_err(vq, "cannot write the dirty log\n");
			return -EFAULT;
		}
		len -= chunk;
	}
	vhl_log_signal(vq);
	return 0;
}
EXPORT_SYMBOL_GPL(vhl_log_write);

/**
 * vhl_log_used() - mark a part of the used ring written by the core
 * @vq: the virtqueue
 * @offset: byte offset in the used ring
 * @len: bytes written (> 0)
 *
 * Whenever userspace asked for used-ring logging (VHOST_VRING_F_LOG) and
 * set a bitmap, as the in-tree vhost does: QEMU sets the flag only while
 * it migrates, independently of VHOST_F_LOG_ALL (which governs the pages
 * back ends write).
 *
 * Context: vq->mutex held, the owner's mm.
 * Return: 0, or -EFAULT (the queue is then broken).
 */
int vhl_log_used(struct vhl_virtqueue *vq, u64 offset, u64 len)
{
	if (!vq->log_used || !vq->log_base)
		return 0;
	if (vhl_log_gpa(vq, vq->log_guest_addr + offset, len)) {
		vhl_vq_err(vq, "cannot write the dirty log\n");
		return -EFAULT;
	}
	vhl_log_signal(vq);
	return 0;
}

/**
 * vhl_log_used_hva() - mark ring memory written by the core, by address
 * @vq: the virtqueue
 * @uaddr: owner-virtual address written (inside the memory table)
 * @len: bytes written (> 0)
 *
 * For packed rings, whose used descriptors overwrite the descriptor ring:
 * logged under the same condition as vhl_log_used().
 *
 * Context: vq->mutex held, the owner's mm.
 * Return: 0, or -EFAULT (the queue is then broken).
 */
int vhl_log_used_hva(struct vhl_virtqueue *vq, u64 uaddr, u64 len)
{
	if (!vq->log_used || !vq->log_base)
		return 0;
	if (vhl_log_hva(vq, uaddr, len)) {
		vhl_vq_err(vq, "cannot write the dirty log\n");
		return -EFAULT;
	}
	vhl_log_signal(vq);
	return 0;
}
