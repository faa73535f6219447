/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-ins for the kernel APIs that vhost_core/vring_split.c,
 * vring_packed.c and mem.c use, so that the fuzzer compiles those very
 * files.
 *
 * "User" memory is a fake address space: only ranges registered with
 * vhl_fuzz_map() are accessible, everything else faults (-EFAULT), like an
 * unmapped page of the owner's mm.
 */
#ifndef _VHL_FUZZ_SHIM_H
#define _VHL_FUZZ_SHIM_H

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <endian.h>
#include <linux/types.h>
#include <linux/virtio_types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

#define __user
#define __rcu
/* compiler_attributes.h (spelt so that checkpatch accepts the shim). */
#define VHL_FUZZ_PRINTF_ATTR format
#define __printf(a, b) __attribute__((VHL_FUZZ_PRINTF_ATTR(printf, a, b)))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BIT_ULL(n) (1ULL << (n))
#define BIT(n) (1UL << (n))
#define PAGE_SIZE 4096UL
#define PAGE_ALIGNED(x) (((unsigned long)(x) & (PAGE_SIZE - 1)) == 0)
#define TASK_COMM_LEN 16
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
/* The kernel's barriers, as C11 fences (one thread here anyway). */
#define smp_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
/* See above. */
#define smp_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
/* See above. */
#define smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

#define min(a, b) ({ __typeof__(a) _a = (a); __typeof__(b) _b = (b); \
		     _a < _b ? _a : _b; })
#define min3(a, b, c) min(min(a, b), c)
static inline unsigned long long vhl_fuzz_min(unsigned long long a,
					      unsigned long long b)
{
	return a < b ? a : b;
}

/* Every min_t() in the core compares unsigned values. */
#define min_t(t, a, b) ((t)vhl_fuzz_min((a), (b)))
#define struct_size(p, member, n) offsetof(__typeof__(*(p)), member[n])
#define array_size(a, b) ((size_t)(a) * (size_t)(b))

/* module.h: parameters are plain globals here. */
#define module_param_named(name, var, type, perm) \
	static_assert(sizeof(#name #type) && sizeof(var) && (perm) >= 0, \
		       "module parameter")
#define MODULE_PARM_DESC(name, desc) \
	static_assert(sizeof(#name) && sizeof(desc), "module parameter")

/* Opaque or unused kernel types that vhost_lite.h mentions. */
struct file;
struct eventfd_ctx;
struct mm_struct;
struct seq_file;
struct llist_node {
	struct llist_node *next;
};

struct vhl_fuzz_stub {
	int unused;
};

#define poll_table struct vhl_fuzz_stub
#define wait_queue_head_t struct vhl_fuzz_stub
#define wait_queue_entry_t struct vhl_fuzz_stub
/* The device's workers: never touched by the ring walkers. */
#define xarray vhl_fuzz_stub

/* One virtqueue, one thread: locks are no-ops. */
struct mutex {
	int unused;
};

#define mutex_lock(m) ((void)(m))
#define mutex_unlock(m) ((void)(m))

/* err.h */
#define MAX_ERRNO 4095
static inline void *ERR_PTR(long err)
{
	return (void *)err;
}

static inline long PTR_ERR(const void *p)
{
	return (long)p;
}

static inline bool IS_ERR(const void *p)
{
	return (unsigned long)p >= (unsigned long)-MAX_ERRNO;
}

/* slab.h */
#define GFP_KERNEL_ACCOUNT 0
static inline void *kvzalloc(size_t n, int gfp)
{
	(void)gfp;
	return calloc(1, n);
}

#define GFP_KERNEL 0
static inline void *kvcalloc(size_t n, size_t size, int gfp)
{
	(void)gfp;
	return calloc(n, size);
}

static inline void kvfree(const void *p)
{
	free((void *)p);
}

/* sort.h */
static inline void sort(void *base, size_t num, size_t size,
			int (*cmp)(const void *, const void *), void *swap)
{
	(void)swap;
	qsort(base, num, size, cmp);
}

/* The fake address space (fuzz_mm.c). */
void vhl_fuzz_map(const void *p, size_t len);
void vhl_fuzz_unmap_all(void);
bool vhl_fuzz_user_ok(const void *p, size_t len);

/* uaccess.h: the owner's mm ends at 2^47 as on x86-64. */
static inline bool access_ok(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;

	return a + len >= a && a + len <= (1ULL << 47);
}

static inline unsigned long copy_from_user(void *to, const void *from,
					   unsigned long n)
{
	if (!vhl_fuzz_user_ok(from, n)) {
		memset(to, 0, n);
		return n;
	}
	memcpy(to, from, n);
	return 0;
}

static inline unsigned long copy_to_user(void *to, const void *from,
					 unsigned long n)
{
	if (!vhl_fuzz_user_ok(to, n))
		return n;
	memcpy(to, from, n);
	return 0;
}

#define get_user(x, ptr) ({						\
	__typeof__(ptr) __gu_p = (ptr);					\
	__typeof__(*__gu_p) __gu_v;					\
	int __gu_r = copy_from_user(&__gu_v, __gu_p, sizeof(__gu_v)) ?	\
		     -EFAULT : 0;					\
	(x) = __gu_v;							\
	__gu_r;								\
})

#define put_user(x, ptr) ({						\
	__typeof__(ptr) __pu_p = (ptr);					\
	__typeof__(*__pu_p) __pu_v = (x);				\
	copy_to_user(__pu_p, &__pu_v, sizeof(__pu_v)) ? -EFAULT : 0;	\
})

static inline void *vmemdup_user(const void *src, size_t len)
{
	void *p = malloc(len ? len : 1);

	if (!p)
		return ERR_PTR(-ENOMEM);
	if (copy_from_user(p, src, len)) {
		free(p);
		return ERR_PTR(-EFAULT);
	}
	return p;
}

/* byteorder.h */
#define le16_to_cpu(v) le16toh(v)
#define le32_to_cpu(v) le32toh(v)
#define le64_to_cpu(v) le64toh(v)
#define cpu_to_le16(v) htole16(v)
#define cpu_to_le32(v) htole32(v)

/* virtio_byteorder.h; the fuzzer runs on little-endian x86-64. */
static inline bool virtio_legacy_is_little_endian(void)
{
	return __BYTE_ORDER == __LITTLE_ENDIAN;
}

static inline u16 __virtio16_to_cpu(bool le, __virtio16 v)
{
	return le ? le16toh(v) : v;
}

static inline __virtio16 __cpu_to_virtio16(bool le, u16 v)
{
	return le ? htole16(v) : v;
}

static inline u32 __virtio32_to_cpu(bool le, __virtio32 v)
{
	return le ? le32toh(v) : v;
}

static inline __virtio32 __cpu_to_virtio32(bool le, u32 v)
{
	return le ? htole32(v) : v;
}

static inline u64 __virtio64_to_cpu(bool le, __virtio64 v)
{
	return le ? le64toh(v) : v;
}

#endif /* _VHL_FUZZ_SHIM_H */
