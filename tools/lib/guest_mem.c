// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory arena: a shared mapping with a guest-physical base.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_mem.h"

/**
 * gmem_init() - map a zeroed guest memory arena
 * @m: arena to initialise
 * @size: size in bytes, rounded up to a page multiple; 0 for the default
 * @gpa_base: guest-physical address of the first byte (page aligned)
 *
 * The arena is backed by a memfd (so it could later be shared with another
 * process) and falls back to an anonymous shared mapping.
 *
 * Return: 0 or a negative errno.
 */
int gmem_init(struct gmem *m, size_t size, __u64 gpa_base)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	memset(m, 0, sizeof(*m));
	m->memfd = -1;
	if (!size)
		size = GMEM_SIZE_DEFAULT;
	size = (size + page - 1) & ~(page - 1);
	if (gpa_base & (page - 1) || gpa_base + size < gpa_base)
		return -EINVAL;

	m->memfd = memfd_create("vhl-guest-mem", MFD_CLOEXEC);
	if (m->memfd >= 0 && ftruncate(m->memfd, (off_t)size) < 0) {
		close(m->memfd);
		m->memfd = -1;
	}
	if (m->memfd >= 0)
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 m->memfd, 0);
	else
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		if (m->memfd >= 0)
			close(m->memfd);
		m->memfd = -1;
		return err;
	}
	m->base = p;
	m->size = size;
	m->gpa_base = gpa_base;
	return 0;
}

/**
 * gmem_destroy() - unmap an arena
 * @m: arena; may be zero-filled (never initialised)
 */
void gmem_destroy(struct gmem *m)
{
	if (m->base)
		munmap(m->base, m->size);
	if (m->memfd >= 0)
		close(m->memfd);
	m->base = NULL;
	m->memfd = -1;
}

/**
 * gmem_alloc() - carve zeroed memory out of an arena
 * @m: arena
 * @size: bytes wanted
 * @align: alignment, a power of two (0 means 8)
 *
 * Return: pointer, or NULL when the arena is exhausted.
 */
void *gmem_alloc(struct gmem *m, size_t size, size_t align)
{
	size_t off;

	if (!align)
		align = 8;
	if (align & (align - 1))
		return NULL;
	off = (m->used + align - 1) & ~(align - 1);
	if (off < m->used || off > m->size || size > m->size - off)
		return NULL;
	m->used = off + size;
	memset(m->base + off, 0, size);
	return m->base + off;
}

/**
 * gmem_reset() - release everything allocated after a mark
 * @m: arena
 * @used: earlier value of @m->used to return to
 */
void gmem_reset(struct gmem *m, size_t used)
{
	if (used < m->used)
		m->used = used;
}

/**
 * gmem_gpa() - guest-physical address of a pointer into the arena
 * @m: arena
 * @p: pointer
 *
 * Return: the address, or GMEM_BAD_GPA when @p is outside the arena.
 */
__u64 gmem_gpa(const struct gmem *m, const void *p)
{
	uintptr_t u = (uintptr_t)p, b = (uintptr_t)m->base;

	if (u < b || u - b >= m->size)
		return GMEM_BAD_GPA;
	return m->gpa_base + (u - b);
}

/**
 * gmem_ptr() - pointer to a guest-physical range inside the arena
 * @m: arena
 * @gpa: guest-physical address
 * @len: length of the range that must lie inside the arena
 *
 * Return: pointer, or NULL when the range is not wholly inside the arena.
 */
void *gmem_ptr(const struct gmem *m, __u64 gpa, size_t len)
{
	__u64 off;

	if (gpa < m->gpa_base)
		return NULL;
	off = gpa - m->gpa_base;
	if (off >= m->size || len > m->size - off)
		return NULL;
	return m->base + off;
}
