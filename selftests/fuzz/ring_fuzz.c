// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: vhost_core's split and packed ring walkers, used ring
 * writers, notification suppression and address translation, compiled from
 * the very kernel sources (vring_split.c, vring_packed.c, mem.c) through
 * the shim in shim/.
 *
 * Input layout (little endian), see README:
 *   0  u8  flags: bit0 VERSION_1, bit1 EVENT_IDX, bit2 NOTIFY_ON_EMPTY,
 *          bit3 packed ring (VIRTIO_F_RING_PACKED, implies VERSION_1),
 *          bit7 claim 2^32-1 regions in the table header
 *   1  u8  log2 of the ring size (mod 11)
 *   2  u8  number of memory regions (mod 5)
 *   3  u8  iov_size - 1 (mod 64)
 *   4  u16 initial last_avail_idx (VHOST_SET_VRING_BASE); packed: bits
 *          0-14 the avail and used position (mod the ring size), bit 15
 *          both wrap counters
 *   6  u16 desc, avail, used offsets in the guest buffer (units 16, 2, 4;
 *          packed: the descriptor ring, driver and device event areas)
 *   12 u64 address and u32 length translated directly
 *   24 regions: u32 guest page, u16 pages, u16 owner page (from the guest
 *      buffer start; pages past it are unmapped)
 *   then VHL_FUZZ_OPS operation bytes, then the guest buffer contents.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

#define VHL_FUZZ_GUEST_SIZE (16 * PAGE_SIZE)
#define VHL_FUZZ_OPS 32
#define VHL_FUZZ_HDR 24

static unsigned char *guest;
static unsigned int errors;

/* vring.c's version marks the queue broken and signals; so do we. */
void vhl_vq_err(struct vhl_virtqueue *vq, const char *fmt, ...)
{
	char msg[256];
	va_list args;

	va_start(args, fmt);
	vsnprintf(msg, sizeof(msg), fmt, args);
	va_end(args);
	vq->broken = true;
	errors++;
}

/* log.c is not built: logging is never enabled here. */
int vhl_log_used(struct vhl_virtqueue *vq, u64 offset, u64 len)
{
	assert(!vhl_log_enabled(vq));
	return 0;
}

int vhl_log_used_hva(struct vhl_virtqueue *vq, u64 uaddr, u64 len)
{
	assert(!vq->log_used);
	return 0;
}

bool vhl_dev_log_ok(struct vhl_dev *dev, void __user *log_base,
		    const struct vhl_mem *mem)
{
	return true;
}

static u16 get16(const u8 *p)
{
	return p[0] | p[1] << 8;
}

static u32 get32(const u8 *p)
{
	return get16(p) | (u32)get16(p + 2) << 16;
}

static u64 get64(const u8 *p)
{
	return get32(p) | (u64)get32(p + 4) << 32;
}

/* Every iovec lies inside one region of the table, and is not empty. */
static void check_iov(const struct vhl_mem *mem, const struct iovec *iov,
		      unsigned int n)
{
	unsigned int k, i;

	for (k = 0; k < n; k++) {
		uintptr_t b = (uintptr_t)iov[k].iov_base;

		assert(iov[k].iov_len);
		for (i = 0; i < mem->nregions; i++) {
			const struct vhl_mem_region *r = &mem->regions[i];

			if (b >= r->uaddr && b - r->uaddr < r->size &&
			    iov[k].iov_len <= r->size - (b - r->uaddr))
				break;
		}
		assert(i < mem->nregions);
	}
}

static void check_mem(const struct vhl_mem *mem, u32 n)
{
	u32 i;

	assert(mem->nregions == n);
	for (i = 0; i < n; i++) {
		assert(mem->regions[i].size);
		assert(PAGE_ALIGNED(mem->regions[i].size));
		if (i)
			assert(mem->regions[i - 1].gpa +
			       mem->regions[i - 1].size <= mem->regions[i].gpa);
	}
}

/* Translation maps [addr, addr + len) piece by piece, in order. */
static void check_translate(struct vhl_virtqueue *vq, u64 addr, u32 len,
			    unsigned int iov_size)
{
	struct iovec *iov = calloc(iov_size, sizeof(*iov));
	u64 done = 0;
	int n, k;

	assert(iov);
	n = vhl_translate(vq, addr, len, iov, iov_size);
	assert(n == -EFAULT || n == -ENOBUFS || (n >= 0 && n <= iov_size));
	assert(n != 0 || !len);
	if (n > 0) {
		check_iov(vq->mem, iov, n);
		for (k = 0; k < n; k++) {
			const struct vhl_mem_region *r = NULL;
			unsigned int i;

			for (i = 0; i < vq->mem->nregions; i++)
				if (addr + done >= vq->mem->regions[i].gpa &&
				    addr + done - vq->mem->regions[i].gpa <
				    vq->mem->regions[i].size)
					r = &vq->mem->regions[i];
			assert(r);
			assert((uintptr_t)iov[k].iov_base ==
			       r->uaddr + (addr + done - r->gpa));
			done += iov[k].iov_len;
		}
		assert(done == len);
	}
	free(iov);
}

static void set_mem(struct vhl_dev *dev, const u8 *in, u32 n, bool huge)
{
	struct vhost_memory *m;
	long ret;
	u32 i;

	m = calloc(1, sizeof(*m) + n * sizeof(m->regions[0]));
	assert(m);
	m->nregions = huge ? 0xffffffffu : n;
	for (i = 0; i < n; i++, in += 8) {
		m->regions[i].guest_phys_addr = (u64)get32(in) * PAGE_SIZE;
		m->regions[i].memory_size = (u64)get16(in + 4) * PAGE_SIZE;
		m->regions[i].userspace_addr = (uintptr_t)guest +
					       (u64)get16(in + 6) * PAGE_SIZE;
	}
	vhl_fuzz_map(m, sizeof(*m) + n * sizeof(m->regions[0]));
	ret = vhl_set_mem_table(dev, m);
	assert(!ret || ret == -EINVAL || ret == -EFAULT || ret == -E2BIG);
	assert(!ret == !!dev->mem);
	if (!ret)
		check_mem(dev->mem, n);
	vhl_fuzz_unmap_all();
	vhl_fuzz_map(guest, VHL_FUZZ_GUEST_SIZE);
	free(m);
}

/* One call of a ring op; returns false when the queue must stop. */
static void get_desc(struct vhl_virtqueue *vq, unsigned int iov_size,
		     u16 *pending, unsigned int *npending)
{
	struct iovec *iov = calloc(iov_size, sizeof(*iov));
	unsigned int out = 0, in = 0, before = errors;
	u16 last = vq->last_avail_idx;
	int head;

	bool wrap = vq->avail_wrap;

	assert(iov);
	head = vq->ops->get_desc(vq, iov, iov_size, &out, &in);
	if (vhl_vq_packed(vq)) {
		/* Position and lap move together, and only for a chain. */
		assert(vq->last_avail_idx < vq->num);
		if (head < 0) {
			assert(errors > before);
		} else if ((unsigned int)head == vq->num) {
			assert(vq->last_avail_idx == last);
			assert(vq->avail_wrap == wrap);
		} else {
			assert((unsigned int)head < vq->num);
			assert(vq->last_avail_idx != last ||
			       vq->avail_wrap != wrap);
			assert(out + in <= iov_size);
			assert(errors == before);
			check_iov(vq->mem, iov, out + in);
			pending[(*npending)++] = head;
		}
		free(iov);
		return;
	}
	if (head < 0) {
		assert(errors > before);
	} else if ((unsigned int)head == vq->num) {
		assert(vq->last_avail_idx == last);
		assert(vq->avail_idx == last);
	} else {
		assert((unsigned int)head < vq->num);
		assert(out + in <= iov_size);
		assert(vq->last_avail_idx == (u16)(last + 1));
		assert(errors == before);
		check_iov(vq->mem, iov, out + in);
		pending[(*npending)++] = head;
	}
	assert((u16)(vq->avail_idx - vq->last_avail_idx) <= vq->num);
	free(iov);
}

static void add_used(struct vhl_virtqueue *vq, unsigned int arg,
		     u16 *pending, unsigned int *npending)
{
	unsigned int count, k, before = errors;
	struct vhl_used_elem *heads;
	u16 old = vq->last_used_idx;
	int ret;

	if (!*npending)
		return;
	count = 1 + arg % *npending;
	heads = calloc(count, sizeof(*heads));
	assert(heads);
	for (k = 0; k < count; k++) {
		heads[k].id = pending[k];
		heads[k].len = arg * 977;
	}
	memmove(pending, pending + count,
		(*npending - count) * sizeof(pending[0]));
	*npending -= count;
	ret = vq->ops->add_used(vq, heads, count);
	if (vhl_vq_packed(vq)) {
		/* A buffer id the guest reused while in flight is refused. */
		assert(!ret || ((ret == -EFAULT || ret == -EINVAL) &&
				errors > before));
		assert(vq->last_used_idx < vq->num);
	} else {
		assert(!ret || (ret == -EFAULT && errors > before));
		if (!ret)
			assert(vq->last_used_idx == (u16)(old + count));
	}
	free(heads);
}

/* libFuzzer's entry point, under its CamelCase name. */
int vhl_fuzz_one(const u8 *data, size_t size)
	__asm__("LLVMFuzzerTestOneInput");
int vhl_fuzz_one(const u8 *data, size_t size)
{
	struct vhl_virtqueue vq = { .ops = &vhl_split_ops };
	struct vhl_virtqueue *vqs[1] = { &vq };
	struct vhl_dev dev = { .vqs = vqs, .nvqs = 1 };
	unsigned int nreg, iov_size, i, npending = 0;
	u16 pending[VHL_FUZZ_OPS];
	const u8 *ops;
	u8 flags;

	if (size < VHL_FUZZ_HDR)
		return -1;
	flags = data[0];
	nreg = data[2] % 5;
	if (size < VHL_FUZZ_HDR + nreg * 8 + VHL_FUZZ_OPS)
		return -1;
	if (!guest)
		guest = aligned_alloc(PAGE_SIZE, VHL_FUZZ_GUEST_SIZE);
	assert(guest);
	memset(guest, 0, VHL_FUZZ_GUEST_SIZE);
	ops = data + VHL_FUZZ_HDR + nreg * 8;
	memcpy(guest, ops + VHL_FUZZ_OPS,
	       min_t(size_t, VHL_FUZZ_GUEST_SIZE,
		     size - (VHL_FUZZ_HDR + nreg * 8 + VHL_FUZZ_OPS)));
	errors = 0;
	vhl_fuzz_unmap_all();
	vhl_fuzz_map(guest, VHL_FUZZ_GUEST_SIZE);

	if (flags & 1)
		vq.acked_features |= BIT_ULL(VIRTIO_F_VERSION_1);
	if (flags & 2)
		vq.acked_features |= BIT_ULL(VIRTIO_RING_F_EVENT_IDX);
	if (flags & 4)
		vq.acked_features |= BIT_ULL(VIRTIO_F_NOTIFY_ON_EMPTY);
	vq.num = 1u << (data[1] % 11);
	iov_size = 1 + data[3] % 64;
	vq.last_avail_idx = get16(data + 4);
	vq.avail_idx = vq.last_avail_idx;
	if (flags & 8) {
		vq.ops = &vhl_packed_ops;
		vq.acked_features |= BIT_ULL(VIRTIO_F_VERSION_1) |
				     BIT_ULL(VIRTIO_F_RING_PACKED);
		vq.last_avail_idx = (get16(data + 4) & 0x7fff) % vq.num;
		vq.last_used_idx = vq.last_avail_idx;
		vq.avail_wrap = get16(data + 4) >> 15;
		vq.used_wrap = vq.avail_wrap;
	}
	vq.desc = (void *)(guest + get16(data + 6) * 16u % VHL_FUZZ_GUEST_SIZE);
	vq.avail = (void *)(guest + get16(data + 8) * 2u % VHL_FUZZ_GUEST_SIZE);
	vq.used = (void *)(guest + get16(data + 10) * 4u % VHL_FUZZ_GUEST_SIZE);

	set_mem(&dev, data + VHL_FUZZ_HDR, nreg, flags & 0x80);
	vq.mem_hint = get16(data + 4);
	check_translate(&vq, get64(data + 12), get32(data + 20), iov_size);

	if (vq.ops->init_access(&vq))
		goto out;
	for (i = 0; i < VHL_FUZZ_OPS && !vq.broken; i++) {
		unsigned int arg = ops[i] >> 3;

		switch (ops[i] & 7) {
		case 0:
		case 1:
		case 2:
			get_desc(&vq, iov_size, pending, &npending);
			break;
		case 3:
			add_used(&vq, arg, pending, &npending);
			break;
		case 4:
			vq.ops->enable_notify(&vq);
			break;
		case 5:
			vq.ops->disable_notify(&vq);
			break;
		case 6:
			vq.ops->need_signal(&vq);
			break;
		case 7:
			if (npending) {
				vq.ops->discard(&vq, 1);
				npending--;
			}
			break;
		}
	}
out:
	kvfree(vq.packed_ndescs);
	vhl_mem_free(dev.mem);
	return 0;
}
