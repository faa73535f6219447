// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-lite memory table: guest-physical to owner-virtual translation.
 *
 * A table is immutable once built: VHOST_SET_MEM_TABLE builds a new one,
 * publishes it to each virtqueue under vq->mutex and frees the old one, so
 * lookups need nothing but the vq->mutex the caller already holds.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>

#include "internal.h"

unsigned int vhl_max_mem_regions = 509;
module_param_named(max_mem_regions, vhl_max_mem_regions, uint, 0444);
MODULE_PARM_DESC(max_mem_regions,
		 "Maximum number of memory regions in a memory table (default 509)");

#define VHL_MEM_REGIONS_LIMIT 65536

static int vhl_region_cmp(const void *a, const void *b)
{
	const struct vhl_mem_region *ra = a, *rb = b;

	if (ra->gpa < rb->gpa)
		return -1;
	return ra->gpa > rb->gpa;
}

static int vhl_region_check(const struct vhost_memory_region *r)
{
	if (!r->memory_size)
		return -EINVAL;
	if (!PAGE_ALIGNED(r->guest_phys_addr) ||
	    !PAGE_ALIGNED(r->userspace_addr) || !PAGE_ALIGNED(r->memory_size))
		return -EINVAL;
	if (r->guest_phys_addr + r->memory_size - 1 < r->guest_phys_addr ||
	    r->userspace_addr + r->memory_size - 1 < r->userspace_addr)
		return -EINVAL;
	if ((u64)(unsigned long)r->userspace_addr != r->userspace_addr ||
	    !access_ok((void __user *)(unsigned long)r->userspace_addr,
		       r->memory_size))
		return -EFAULT;
	return 0;
}

static struct vhl_mem *vhl_mem_build(const struct vhost_memory_region *in,
				     u32 n)
{
	struct vhl_mem *mem;
	u32 i;
	int ret;

	mem = kvzalloc(struct_size(mem, regions, n), GFP_KERNEL_ACCOUNT);
	if (!mem)
		return ERR_PTR(-ENOMEM);

	for (i = 0; i < n; i++) {
		ret = vhl_region_check(&in[i]);
		if (ret)
			goto err_free_mem;
		mem->regions[i].gpa = in[i].guest_phys_addr;
		mem->regions[i].size = in[i].memory_size;
		mem->regions[i].uaddr = in[i].userspace_addr;
		mem->total_size += in[i].memory_size;
	}
	mem->nregions = n;

	sort(mem->regions, n, sizeof(mem->regions[0]), vhl_region_cmp, NULL);
	for (i = 1; i < n; i++) {
		const struct vhl_mem_region *prev = &mem->regions[i - 1];

		/* prev->gpa + prev->size cannot wrap: checked above. */
		if (prev->gpa + prev->size > mem->regions[i].gpa) {
			ret = -EINVAL;
			goto err_free_mem;
		}
	}
	return mem;

err_free_mem:
	kvfree(mem);
	return ERR_PTR(ret);
}

void vhl_mem_free(const struct vhl_mem *mem)
{
	kvfree(mem);
}

/* Context: dev->mutex held; the caller checked ownership. */
long vhl_set_mem_table(struct vhl_dev *dev, struct vhost_memory __user *m)
{
	struct vhost_memory_region *regions;
	const struct vhl_mem *old;
	struct vhost_memory hdr;
	struct vhl_mem *mem;
	u32 limit;
	int i;

	if (copy_from_user(&hdr, m, sizeof(hdr)))
		return -EFAULT;
	limit = min_t(u32, vhl_max_mem_regions, VHL_MEM_REGIONS_LIMIT);
	if (hdr.nregions > limit)
		return -E2BIG;

	regions = vmemdup_user(m->regions, array_size(hdr.nregions,
						      sizeof(*regions)));
	if (IS_ERR(regions))
		return PTR_ERR(regions);
	mem = vhl_mem_build(regions, hdr.nregions);
	kvfree(regions);
	if (IS_ERR(mem))
		return PTR_ERR(mem);
	/* While logging, the bitmap must cover the new table too. */
	if (dev->nvqs && vhl_has_feature(dev->vqs[0], VHOST_F_LOG_ALL) &&
	    !vhl_dev_log_ok(dev, dev->log_base, mem)) {
		vhl_mem_free(mem);
		return -EFAULT;
	}

	old = dev->mem;
	dev->mem = mem;
	for (i = 0; i < dev->nvqs; i++) {
		struct vhl_virtqueue *vq = dev->vqs[i];

		mutex_lock(&vq->mutex);
		vq->mem = mem;
		vq->mem_hint = 0;
		mutex_unlock(&vq->mutex);
	}
	vhl_mem_free(old);
	return 0;
}

static const struct vhl_mem_region *vhl_mem_find(const struct vhl_mem *mem,
						 u64 addr, u32 *hint)
{
	const struct vhl_mem_region *r;
	u32 lo = 0, hi = mem->nregions;

	if (*hint < mem->nregions) {
		r = &mem->regions[*hint];
		if (addr >= r->gpa && addr - r->gpa < r->size)
			return r;
	}
	/* Find the last region starting at or below addr. */
	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (mem->regions[mid].gpa <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	r = &mem->regions[lo - 1];
	if (addr - r->gpa >= r->size)
		return NULL;
	*hint = lo - 1;
	return r;
}

/**
 * vhl_translate() - translate a guest buffer into owner iovecs
 * @vq: the virtqueue (its memory table is used)
 * @addr: guest-physical address
 * @len: length in bytes; 0 yields no iovec
 * @iov: output iovecs
 * @iov_size: room in @iov
 *
 * A buffer spanning several regions yields one iovec per region.
 *
 * Context: vq->mutex held.
 * Return: number of iovecs, -EFAULT if part of the buffer is outside every
 * region or wraps, -ENOBUFS if @iov is too small.
 */
int vhl_translate(struct vhl_virtqueue *vq, u64 addr, u32 len,
		  struct iovec iov[], unsigned int iov_size)
{
	const struct vhl_mem *mem = vq->mem;
	unsigned int n = 0;
	u64 done = 0;

	if (!len)
		return 0;
	if (!mem || addr + len - 1 < addr)
		return -EFAULT;

	while (done < len) {
		const struct vhl_mem_region *r;
		u64 off, chunk;

		if (n >= iov_size)
			return -ENOBUFS;
		r = vhl_mem_find(mem, addr + done, &vq->mem_hint);
		if (!r)
			return -EFAULT;
		off = addr + done - r->gpa;
		chunk = min_t(u64, r->size - off, len - done);
		iov[n].iov_base = (void __user *)(unsigned long)(r->uaddr + off);
		iov[n].iov_len = chunk;
		done += chunk;
		n++;
	}
	return n;
}

/**
 * vhl_map_buf() - append one descriptor's buffer to a chain's iovecs
 * @vq: the virtqueue
 * @addr: guest-physical address of the buffer
 * @len: its length
 * @write: the device writes it (VRING_DESC_F_WRITE)
 * @iov: the chain's iovecs; *@out_num + *@in_num are in use
 * @iov_size: room in @iov
 * @out_num: readable iovecs so far, updated
 * @in_num: writable iovecs so far, updated
 *
 * Either ring layout: readable buffers must all come before writable ones.
 *
 * Context: vq->mutex held.
 * Return: 0, or -EFAULT/-ENOBUFS/-EINVAL after reporting it with
 * vhl_vq_err().
 */
int vhl_map_buf(struct vhl_virtqueue *vq, u64 addr, u32 len, bool write,
		struct iovec iov[], unsigned int iov_size,
		unsigned int *out_num, unsigned int *in_num)
{
	unsigned int used = *out_num + *in_num;
	int n;

	n = vhl_translate(vq, addr, len, iov + used, iov_size - used);
	if (n < 0) {
		vhl_vq_err(vq, "descriptor %#llx+%u: %s\n", addr, len,
			   n == -ENOBUFS ? "too many buffers" :
			   "outside guest memory");
		return n;
	}
	if (write) {
		*in_num += n;
	} else {
		if (*in_num) {
			vhl_vq_err(vq, "readable descriptor after writable\n");
			return -EINVAL;
		}
		*out_num += n;
	}
	return 0;
}

/**
 * vhl_read_guest() - copy guest memory that may span regions
 * @vq: the virtqueue (its memory table is used)
 * @addr: guest-physical address
 * @buf: destination
 * @len: bytes to copy (an indirect descriptor: at most two regions)
 *
 * Context: vq->mutex held, in the owner's mm.
 * Return: 0, -EFAULT, or -ENOBUFS if the bytes span more than two regions.
 */
int vhl_read_guest(struct vhl_virtqueue *vq, u64 addr, void *buf, u32 len)
{
	struct iovec iov[2];
	int n, k;

	n = vhl_translate(vq, addr, len, iov, ARRAY_SIZE(iov));
	if (n < 0)
		return n;
	for (k = 0; k < n; k++) {
		if (copy_from_user(buf, iov[k].iov_base, iov[k].iov_len))
			return -EFAULT;
		buf += iov[k].iov_len;
	}
	return 0;
}
