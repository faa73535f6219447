// SPDX-License-Identifier: GPL-2.0
/*
 * Rings on pages of their own for hostile-driver tests (virtq_hostile.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "virtq_hostile.h"

static size_t page_round(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (n + page - 1) & ~(page - 1);
}

/**
 * virtq_hostile_desc_span() - bytes of the descriptor table and avail ring
 * @vq: virtqueue set up by virtq_hostile_isolate()
 *
 * Return: the length of their block, whole pages.
 */
size_t virtq_hostile_desc_span(const struct virtq *vq)
{
	return page_round(sizeof(struct vring_desc) * vq->num +
			  sizeof(__u16) * (3 + vq->num));
}

/**
 * virtq_hostile_used_span() - bytes of the used ring
 * @vq: virtqueue set up by virtq_hostile_isolate()
 *
 * Return: the length of its block, whole pages.
 */
size_t virtq_hostile_used_span(const struct virtq *vq)
{
	return page_round(sizeof(__u16) * 3 +
			  sizeof(struct vring_used_elem) * vq->num);
}

/**
 * virtq_hostile_isolate() - move a fresh virtqueue's rings to pages of
 *	their own
 * @vq: virtqueue after virtq_init(), before the device knows its rings
 *
 * The descriptor table and the avail ring share a page-aligned block, the
 * used ring gets another, and nothing else of the arena shares their
 * pages.  The rings virtq_init() allocated stay unused in the arena.
 *
 * Return: 0 or -ENOMEM.
 */
int virtq_hostile_isolate(struct virtq *vq)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t dspan = virtq_hostile_desc_span(vq);
	size_t uspan = virtq_hostile_used_span(vq);
	__u8 *d, *u;

	d = gmem_alloc(vq->mem, dspan, page);
	u = gmem_alloc(vq->mem, uspan, page);
	if (!d || !u)
		return -ENOMEM;
	vq->desc = (struct vring_desc *)d;
	vq->avail = (struct vring_avail *)(d + sizeof(struct vring_desc) *
					   vq->num);
	vq->used = (struct vring_used *)u;
	return 0;
}

/**
 * virtq_hostile_protect_used() - change the protection of the used ring
 * @vq: virtqueue set up by virtq_hostile_isolate()
 * @prot: PROT_* for mprotect()
 *
 * Return: 0 or a negative errno.
 */
int virtq_hostile_protect_used(struct virtq *vq, int prot)
{
	return mprotect(vq->used, virtq_hostile_used_span(vq), prot) ? -errno :
								       0;
}

/**
 * virtq_hostile_unmap_rings() - munmap() every ring of a virtqueue
 * @vq: virtqueue set up by virtq_hostile_isolate()
 *
 * The driver must not touch the rings until virtq_hostile_remap_rings().
 *
 * Return: 0 or a negative errno.
 */
int virtq_hostile_unmap_rings(struct virtq *vq)
{
	if (munmap(vq->desc, virtq_hostile_desc_span(vq)) ||
	    munmap(vq->used, virtq_hostile_used_span(vq)))
		return -errno;
	return 0;
}

static int remap(struct gmem *m, void *p, size_t len)
{
	off_t off = (off_t)((__u8 *)p - m->base);

	if (mmap(p, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 m->memfd, off) == MAP_FAILED)
		return -errno;
	return 0;
}

/**
 * virtq_hostile_remap_rings() - map the rings back where they were
 * @vq: virtqueue whose rings virtq_hostile_unmap_rings() removed
 *
 * The arena's memfd still holds their contents, which come back with them.
 *
 * Return: 0, -EOPNOTSUPP for an arena without a memfd, or a negative errno.
 */
int virtq_hostile_remap_rings(struct virtq *vq)
{
	int ret;

	if (vq->mem->memfd < 0)
		return -EOPNOTSUPP;
	ret = remap(vq->mem, vq->desc, virtq_hostile_desc_span(vq));
	if (!ret)
		ret = remap(vq->mem, vq->used, virtq_hostile_used_span(vq));
	return ret;
}
