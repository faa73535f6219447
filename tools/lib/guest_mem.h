/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest memory arena for driving vhost devices from a process.
 *
 * One shared mapping plays the guest's RAM: it is registered with the
 * device at a chosen guest-physical base (by default 4 GiB, so that guest
 * addresses never equal user addresses and translation bugs show), rings
 * and buffers are carved out of it with a bump allocator, and pointers and
 * guest-physical addresses are converted with gmem_gpa() and gmem_ptr().
 */
#ifndef VHL_GUEST_MEM_H
#define VHL_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

/* Default guest-physical address of the first byte of an arena. */
#define GMEM_GPA_BASE_DEFAULT	0x100000000ULL
/* Default arena size. */
#define GMEM_SIZE_DEFAULT	(64UL << 20)
/* Returned by gmem_gpa() for a pointer outside the arena. */
#define GMEM_BAD_GPA		(~0ULL)

/**
 * struct gmem - one guest memory arena
 * @base: user address of the first byte (page aligned)
 * @gpa_base: guest-physical address of @base (page aligned)
 * @size: size in bytes (page multiple)
 * @used: bytes handed out by the bump allocator
 * @memfd: memfd backing the mapping, or -1 for an anonymous mapping
 */
struct gmem {
	__u8 *base;
	__u64 gpa_base;
	size_t size;
	size_t used;
	int memfd;
};

int gmem_init(struct gmem *m, size_t size, __u64 gpa_base);
void gmem_destroy(struct gmem *m);

void *gmem_alloc(struct gmem *m, size_t size, size_t align);
void gmem_reset(struct gmem *m, size_t used);

__u64 gmem_gpa(const struct gmem *m, const void *p);
void *gmem_ptr(const struct gmem *m, __u64 gpa, size_t len);

/**
 * gmem_uaddr() - user address of an arena pointer as the kernel wants it
 * @p: pointer
 */
static inline __u64 gmem_uaddr(const void *p)
{
	return (__u64)(uintptr_t)p;
}

#endif /* VHL_GUEST_MEM_H */
