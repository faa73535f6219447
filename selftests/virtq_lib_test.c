// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the guest-driver library alone, against a fake device living in
 * the same process: no kernel module needed, so they run on any host.
 *
 * The fake device reads the rings the way vhost does (avail->idx, heads,
 * descriptor chains, indirect tables through guest-physical addresses) and
 * writes used entries, so the library's layout, free list and notification
 * logic are checked before they meet a real device.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <sys/eventfd.h>

#include "kselftest_harness.h"
#include "fdinfo.h"
#include "guest_mem.h"
#include "virtq.h"

#define BIT64(n)	(1ULL << (n))

/* One descriptor of a chain as the fake device sees it. */
struct fake_seg {
	__u64 gpa;
	__u32 len;
	bool write;
};

struct fake_chain {
	__u16 head;
	unsigned int nseg;
	bool indirect;
	struct fake_seg seg[64];
};

/* The device side: its own indices, like vhost's. */
struct fake_dev {
	struct virtq *vq;
	__u16 last_avail;
	__u16 used_idx;
};

static __u16 avail_idx_acquire(const struct virtq *vq)
{
	return le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
}

/* Pop the next chain; returns false when the ring is empty or invalid. */
static bool fake_pop(struct fake_dev *d, struct fake_chain *c)
{
	struct virtq *vq = d->vq;
	const struct vring_desc *table = vq->desc;
	unsigned int max = vq->num, i, n = 0;
	__u16 flags;

	if (avail_idx_acquire(vq) == d->last_avail)
		return false;
	c->head = le16toh(vq->avail->ring[d->last_avail & (vq->num - 1)]);
	c->indirect = false;
	if (c->head >= vq->num)
		return false;
	i = c->head;
	flags = le16toh(table[i].flags);
	if (flags & VRING_DESC_F_INDIRECT) {
		__u32 len = le32toh(table[i].len);

		table = gmem_ptr(vq->mem, le64toh(table[i].addr), len);
		if (!table || len % sizeof(*table))
			return false;
		max = len / sizeof(*table);
		c->indirect = true;
		i = 0;
	}
	for (;;) {
		if (i >= max || n >= 64)
			return false;
		flags = le16toh(table[i].flags);
		c->seg[n].gpa = le64toh(table[i].addr);
		c->seg[n].len = le32toh(table[i].len);
		c->seg[n].write = flags & VRING_DESC_F_WRITE;
		n++;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = le16toh(table[i].next);
	}
	c->nseg = n;
	d->last_avail++;
	return true;
}

static void fake_push(struct fake_dev *d, __u32 id, __u32 len)
{
	struct virtq *vq = d->vq;
	struct vring_used_elem *e = &vq->used->ring[d->used_idx & (vq->num - 1)];

	e->id = htole32(id);
	e->len = htole32(len);
	d->used_idx++;
	__atomic_store_n(&vq->used->idx, htole16(d->used_idx),
			 __ATOMIC_RELEASE);
}

/* Deterministic pseudo-random numbers (xorshift32). */
static __u32 rnd(__u32 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

FIXTURE(lib) {
	struct gmem mem;
	struct virtq vq;
	struct fake_dev dev;
};

FIXTURE_SETUP(lib)
{
	ASSERT_EQ(0, gmem_init(&self->mem, 1 << 20, GMEM_GPA_BASE_DEFAULT));
	self->vq.heads = NULL;
	self->vq.next = NULL;
	self->vq.kick_fd = -1;
	self->vq.call_fd = -1;
	self->vq.err_fd = -1;
	self->dev.vq = &self->vq;
}

FIXTURE_TEARDOWN(lib)
{
	virtq_destroy(&self->vq);
	gmem_destroy(&self->mem);
}

TEST(gmem_basics)
{
	struct gmem m;
	__u8 *a, *b;

	ASSERT_EQ(-EINVAL, gmem_init(&m, 4096, 0x100000123ULL));
	ASSERT_EQ(0, gmem_init(&m, 5000, GMEM_GPA_BASE_DEFAULT));
	ASSERT_EQ(8192, m.size);
	a = gmem_alloc(&m, 10, 0);
	b = gmem_alloc(&m, 100, 256);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, (uintptr_t)b % 256);
	ASSERT_EQ(GMEM_GPA_BASE_DEFAULT, gmem_gpa(&m, m.base));
	ASSERT_EQ(GMEM_GPA_BASE_DEFAULT + (b - m.base), gmem_gpa(&m, b));
	ASSERT_EQ(b, gmem_ptr(&m, gmem_gpa(&m, b), 100));
	ASSERT_EQ(GMEM_BAD_GPA, gmem_gpa(&m, m.base + m.size));
	ASSERT_EQ(GMEM_BAD_GPA, gmem_gpa(&m, m.base - 1));
	ASSERT_EQ(NULL, gmem_ptr(&m, GMEM_GPA_BASE_DEFAULT - 1, 1));
	ASSERT_EQ(NULL, gmem_ptr(&m, GMEM_GPA_BASE_DEFAULT + m.size - 4, 8));
	ASSERT_NE(NULL, gmem_ptr(&m, GMEM_GPA_BASE_DEFAULT + m.size - 8, 8));
	ASSERT_EQ(NULL, gmem_alloc(&m, 8192, 8));
	ASSERT_EQ(NULL, gmem_alloc(&m, 8, 3));
	memset(b, 0xff, 100);
	gmem_reset(&m, (size_t)(b - m.base));
	ASSERT_EQ(b, gmem_alloc(&m, 100, 256));
	ASSERT_EQ(0, b[99]);
	gmem_destroy(&m);
}

TEST_F(lib, init)
{
	ASSERT_EQ(-EINVAL, virtq_init(&self->vq, &self->mem, 0, 0, 0));
	ASSERT_EQ(-EINVAL, virtq_init(&self->vq, &self->mem, 0, 6, 0));
	ASSERT_EQ(-EINVAL, virtq_init(&self->vq, &self->mem, 0, 65536, 0));
	ASSERT_EQ(0, virtq_init(&self->vq, &self->mem, 3, 64, 0));
	ASSERT_EQ(3, self->vq.index);
	ASSERT_EQ(64, self->vq.num_free);
	ASSERT_EQ(0, (uintptr_t)self->vq.desc % 16);
	ASSERT_EQ(0, (uintptr_t)self->vq.avail % 2);
	ASSERT_EQ(0, (uintptr_t)self->vq.used % 4);
	ASSERT_NE(GMEM_BAD_GPA, virtq_gpa(&self->vq, self->vq.used));
	ASSERT_EQ(0, virtq_create_eventfds(&self->vq));
	ASSERT_LE(0, self->vq.kick_fd);
	ASSERT_LE(0, self->vq.call_fd);
	ASSERT_LE(0, self->vq.err_fd);
}

TEST_F(lib, chain_layout)
{
	struct virtq *vq = &self->vq;
	struct virtq_sg out[2], in[3];
	struct fake_chain c;
	unsigned int i;
	int token;

	ASSERT_EQ(0, virtq_init(vq, &self->mem, 0, 16, 0));
	for (i = 0; i < 2; i++) {
		out[i].addr = gmem_alloc(&self->mem, 100 + i, 8);
		out[i].len = 100 + i;
	}
	for (i = 0; i < 3; i++) {
		in[i].addr = gmem_alloc(&self->mem, 200 + i, 8);
		in[i].len = 200 + i;
	}
	ASSERT_EQ(0, virtq_add_buf(vq, out, 2, in, 3, &token));
	ASSERT_EQ(11, vq->num_free);
	ASSERT_EQ(1, le16toh(vq->avail->idx));
	ASSERT_TRUE(fake_pop(&self->dev, &c));
	ASSERT_FALSE(c.indirect);
	ASSERT_EQ(5, c.nseg);
	for (i = 0; i < 5; i++) {
		const struct virtq_sg *sg = i < 2 ? &out[i] : &in[i - 2];

		EXPECT_EQ(virtq_gpa(vq, sg->addr), c.seg[i].gpa);
		EXPECT_EQ(sg->len, c.seg[i].len);
		EXPECT_EQ(i >= 2, c.seg[i].write);
	}
	/* Guest-physical, not user, addresses. */
	ASSERT_NE(gmem_uaddr(out[0].addr), c.seg[0].gpa);
	ASSERT_FALSE(fake_pop(&self->dev, &c));

	fake_push(&self->dev, c.head, 42);
	ASSERT_TRUE(virtq_more_used(vq));
	{
		__u32 len = 0;

		ASSERT_EQ(&token, virtq_get_buf(vq, &len));
		ASSERT_EQ(42, len);
	}
	ASSERT_EQ(16, vq->num_free);
	ASSERT_EQ(NULL, virtq_get_buf(vq, NULL));
}

TEST_F(lib, indirect_layout)
{
	struct virtq *vq = &self->vq;
	struct virtq_sg sg[3];
	struct fake_chain c;
	unsigned int i;
	int t1, t2, t3;

	ASSERT_EQ(0, virtq_init(vq, &self->mem, 0, 8,
				BIT64(VIRTIO_RING_F_INDIRECT_DESC)));
	ASSERT_EQ(VIRTQ_INDIRECT_AUTO, vq->indirect_mode);
	for (i = 0; i < 3; i++) {
		sg[i].addr = gmem_alloc(&self->mem, 64, 8);
		sg[i].len = 64;
	}
	/* AUTO: several entries go indirect and take one ring descriptor. */
	ASSERT_EQ(0, virtq_add_buf(vq, sg, 1, sg + 1, 2, &t1));
	ASSERT_EQ(7, vq->num_free);
	ASSERT_TRUE(fake_pop(&self->dev, &c));
	ASSERT_TRUE(c.indirect);
	ASSERT_EQ(3, c.nseg);
	ASSERT_FALSE(c.seg[0].write);
	ASSERT_TRUE(c.seg[1].write);
	ASSERT_TRUE(c.seg[2].write);
	ASSERT_EQ(virtq_gpa(vq, sg[2].addr), c.seg[2].gpa);
	/* ...a single entry stays direct... */
	ASSERT_EQ(0, virtq_add_outbuf(vq, sg[0].addr, 64, &t2));
	ASSERT_TRUE(fake_pop(&self->dev, &c));
	ASSERT_FALSE(c.indirect);
	/* ...unless ALWAYS. */
	vq->indirect_mode = VIRTQ_INDIRECT_ALWAYS;
	ASSERT_EQ(0, virtq_add_inbuf(vq, sg[1].addr, 64, &t3));
	ASSERT_TRUE(fake_pop(&self->dev, &c));
	ASSERT_TRUE(c.indirect);
	ASSERT_EQ(1, c.nseg);
	ASSERT_TRUE(c.seg[0].write);
	ASSERT_EQ(5, vq->num_free);
}

TEST_F(lib, add_errors)
{
	struct virtq *vq = &self->vq;
	__u8 *buf, outside[16];
	struct virtq_sg sg[3];
	int token, i;

	ASSERT_EQ(0, virtq_init(vq, &self->mem, 0, 4, 0));
	buf = gmem_alloc(&self->mem, 64, 8);
	ASSERT_EQ(-EINVAL, virtq_add_outbuf(vq, buf, 64, NULL));
	ASSERT_EQ(-EINVAL, virtq_add_buf(vq, NULL, 0, NULL, 0, &token));
	ASSERT_EQ(-EFAULT, virtq_add_outbuf(vq, outside, 16, &token));
	ASSERT_EQ(-EFAULT, virtq_add_outbuf(vq, buf, 0, &token));
	ASSERT_EQ(-EFAULT, virtq_add_outbuf(vq, self->mem.base +
					     self->mem.size - 8, 16, &token));
	ASSERT_EQ(4, vq->num_free);
	ASSERT_EQ(0, le16toh(vq->avail->idx));

	ASSERT_EQ(0, virtq_add_outbuf(vq, buf, 64, &token));
	ASSERT_EQ(0, virtq_add_outbuf(vq, buf, 64, &token));
	for (i = 0; i < 3; i++) {
		sg[i].addr = buf;
		sg[i].len = 8;
	}
	ASSERT_EQ(-ENOSPC, virtq_add_buf(vq, sg, 3, NULL, 0, &token));
	ASSERT_EQ(0, virtq_add_buf(vq, sg, 2, NULL, 0, &token));
	ASSERT_EQ(-ENOSPC, virtq_add_outbuf(vq, buf, 64, &token));
	ASSERT_EQ(3, le16toh(vq->avail->idx));
}

/* Random adds and out-of-order completions keep the free list sound. */
TEST_F(lib, recycle_random)
{
	struct virtq *vq = &self->vq;
	static int tokens[32];
	__u8 owner[32];	/* in-flight head owning each descriptor + 1 */
	int inflight[32], ninflight = 0;
	__u32 seed = 12345;
	__u8 *buf;
	int iter;

	ASSERT_EQ(0, virtq_init(vq, &self->mem, 0, 32,
				BIT64(VIRTIO_RING_F_INDIRECT_DESC)));
	buf = gmem_alloc(&self->mem, 4096, 8);
	memset(owner, 0, sizeof(owner));
	for (iter = 0; iter < 20000; iter++) {
		if (rnd(&seed) % 2) {
			struct virtq_sg sg[6];
			unsigned int nsg = 1 + rnd(&seed) % 6, nin, i;
			struct fake_chain c;
			int ret;

			vq->indirect_mode = rnd(&seed) % 3;
			nin = rnd(&seed) % (nsg + 1);
			for (i = 0; i < nsg; i++) {
				sg[i].addr = buf + rnd(&seed) % 2048;
				sg[i].len = 1 + rnd(&seed) % 1024;
			}
			ret = virtq_add_buf(vq, sg, nsg - nin, sg + nsg - nin,
					    nin, &tokens[vq->free_head]);
			if (ret == -ENOSPC)
				continue;
			ASSERT_EQ(0, ret);
			ASSERT_TRUE(fake_pop(&self->dev, &c));
			ASSERT_EQ(nsg, c.nseg);
			for (i = 0; i < nsg; i++) {
				ASSERT_EQ(virtq_gpa(vq, sg[i].addr),
					  c.seg[i].gpa);
				ASSERT_EQ(i >= nsg - nin, c.seg[i].write);
			}
			/* No ring descriptor may belong to two buffers. */
			if (c.indirect) {
				ASSERT_EQ(0, owner[c.head]);
				owner[c.head] = (__u8)(c.head + 1);
			} else {
				__u16 d = c.head;

				for (i = 0; i < nsg; i++) {
					ASSERT_EQ(0, owner[d]);
					owner[d] = (__u8)(c.head + 1);
					d = le16toh(vq->desc[d].next);
				}
			}
			inflight[ninflight++] = c.head;
		} else if (ninflight) {
			int k = (int)(rnd(&seed) % (unsigned int)ninflight);
			int head = inflight[k], i;

			fake_push(&self->dev, (__u32)head, 7);
			inflight[k] = inflight[--ninflight];
			ASSERT_EQ(&tokens[head], virtq_get_buf(vq, NULL));
			for (i = 0; i < 32; i++)
				if (owner[i] == head + 1)
					owner[i] = 0;
		}
	}
	ASSERT_FALSE(vq->broken);
	while (ninflight) {
		int head = inflight[--ninflight];

		fake_push(&self->dev, (__u32)head, 0);
		ASSERT_EQ(&tokens[head], virtq_get_buf(vq, NULL));
	}
	ASSERT_EQ(32, vq->num_free);
}

static __u64 eventfd_count(int fd)
{
	__u64 v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

TEST_F(lib, kick_flags)
{
	struct virtq *vq = &self->vq;
	__u8 *buf;
	int token;

	ASSERT_EQ(0, virtq_init(vq, &self->mem, 0, 16, 0));
	ASSERT_EQ(0, virtq_create_eventfds(vq));
	buf = gmem_alloc(&self->mem, 64, 8);
	/* Nothing added: no kick. */
	ASSERT_EQ(0, virtq_kick(vq));
	ASSERT_EQ(0, virtq_add_outbuf(vq, buf, 64, &token));
	ASSERT_EQ(1, virtq_kick(vq));
	ASSERT_EQ(1, eventfd_count(vq->kick_fd));
	/* The device asks for no notifications. */
	vq->used->flags = htole16(VRING_USED_F_NO_NOTIFY);
	ASSERT_EQ(0, virtq_add_outbuf(vq, buf, 64, &token));
	ASSERT_EQ(0, virtq_kick(vq));
	ASSERT_EQ(1, vq->kicks_suppressed);
	ASSERT_EQ(0, eventfd_count(vq->kick_fd));
	vq->used->flags = 0;
	ASSERT_EQ(0, virtq_add_outbuf(vq, buf, 64, &token));
	ASSERT_EQ(1, virtq_kick(vq));
	ASSERT_EQ(0, virtq_notify(vq));
	ASSERT_EQ(2, eventfd_count(vq->kick_fd));
	ASSERT_EQ(3, vq->kicks);
}

TEST_F(lib, kick_event_idx)
{
	struct virtq *vq = &self->vq;
	__u16 *avail_event;
	__u8 *buf;
	int token, i;

	ASSERT_EQ(0, virtq_init(vq, &self->mem, 0, 16,
				BIT64(VIRTIO_RING_F_EVENT_IDX)));
	ASSERT_EQ(0, virtq_create_eventfds(vq));
	avail_event = (__u16 *)&vq->used->ring[vq->num];
	buf = gmem_alloc(&self->mem, 64, 8);
	/* Flags are ignored with EVENT_IDX. */
	vq->used->flags = htole16(VRING_USED_F_NO_NOTIFY);
	/* avail_event 0: the device wants to hear when entry 0 is added. */
	ASSERT_EQ(0, virtq_add_outbuf(vq, buf, 64, &token));
	ASSERT_EQ(1, virtq_kick(vq));
	/* Still 0: entry 1 needs no kick. */
	ASSERT_EQ(0, virtq_add_outbuf(vq, buf, 64, &token));
	ASSERT_EQ(0, virtq_kick(vq));
	/* The device wants to hear about entry 3; add 2 and 3 in one go. */
	*avail_event = htole16(3);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, virtq_add_outbuf(vq, buf, 64, &token));
	ASSERT_EQ(1, virtq_kick(vq));
	/* Entry 5 wanted; adding 4 alone does not cross it. */
	*avail_event = htole16(5);
	ASSERT_EQ(0, virtq_add_outbuf(vq, buf, 64, &token));
	ASSERT_EQ(0, virtq_kick(vq));
	ASSERT_EQ(2, eventfd_count(vq->kick_fd));
}

TEST_F(lib, callbacks_flags)
{
	struct virtq *vq = &self->vq;
	struct fake_chain c;
	__u8 *buf;
	int token;

	ASSERT_EQ(0, virtq_init(vq, &self->mem, 0, 16, 0));
	buf = gmem_alloc(&self->mem, 64, 8);
	virtq_disable_cb(vq);
	ASSERT_EQ(VRING_AVAIL_F_NO_INTERRUPT, le16toh(vq->avail->flags));
	ASSERT_TRUE(virtq_enable_cb(vq));
	ASSERT_EQ(0, le16toh(vq->avail->flags));

	ASSERT_EQ(0, virtq_add_outbuf(vq, buf, 64, &token));
	ASSERT_TRUE(fake_pop(&self->dev, &c));
	virtq_disable_cb(vq);
	fake_push(&self->dev, c.head, 0);
	/* A buffer came back while disabled: enabling says so. */
	ASSERT_FALSE(virtq_enable_cb(vq));
	ASSERT_EQ(&token, virtq_get_buf(vq, NULL));
	ASSERT_TRUE(virtq_enable_cb(vq));
}

TEST_F(lib, callbacks_event_idx)
{
	struct virtq *vq = &self->vq;
	struct fake_chain c;
	__u8 *buf;
	int token, i;

	ASSERT_EQ(0, virtq_init(vq, &self->mem, 0, 16,
				BIT64(VIRTIO_RING_F_EVENT_IDX)));
	buf = gmem_alloc(&self->mem, 64, 8);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, virtq_add_outbuf(vq, buf, 64, &token));
		ASSERT_TRUE(fake_pop(&self->dev, &c));
		fake_push(&self->dev, c.head, 0);
		ASSERT_EQ(&token, virtq_get_buf(vq, NULL));
		/* Consuming asks for a call on the next entry. */
		ASSERT_EQ(i + 1, virtq_used_event(vq));
	}
	/* The driver keeps avail->flags 0 with EVENT_IDX. */
	virtq_disable_cb(vq);
	ASSERT_EQ(0, le16toh(vq->avail->flags));
	ASSERT_EQ(2, virtq_used_event(vq));
	ASSERT_EQ(0, virtq_add_outbuf(vq, buf, 64, &token));
	ASSERT_TRUE(fake_pop(&self->dev, &c));
	fake_push(&self->dev, c.head, 0);
	/* Disabled: consuming leaves used_event behind. */
	ASSERT_EQ(&token, virtq_get_buf(vq, NULL));
	ASSERT_EQ(2, virtq_used_event(vq));
	ASSERT_TRUE(virtq_enable_cb(vq));
	ASSERT_EQ(4, virtq_used_event(vq));
}

TEST_F(lib, bad_used_entries)
{
	struct virtq *vq = &self->vq;
	__u8 *buf;
	int token;

	ASSERT_EQ(0, virtq_init(vq, &self->mem, 0, 8, 0));
	buf = gmem_alloc(&self->mem, 64, 8);
	ASSERT_EQ(0, virtq_add_outbuf(vq, buf, 64, &token));
	/* A head that is not in flight. */
	fake_push(&self->dev, 5, 0);
	ASSERT_EQ(NULL, virtq_get_buf(vq, NULL));
	ASSERT_TRUE(vq->broken);

	virtq_destroy(vq);
	ASSERT_EQ(0, virtq_init(vq, &self->mem, 0, 8, 0));
	self->dev.used_idx = 0;
	ASSERT_EQ(0, virtq_add_outbuf(vq, buf, 64, &token));
	/* A head out of range. */
	fake_push(&self->dev, 8, 0);
	ASSERT_EQ(NULL, virtq_get_buf(vq, NULL));
	ASSERT_TRUE(vq->broken);
}

TEST_F(lib, raw_access)
{
	struct virtq *vq = &self->vq;
	struct vring_used_elem e;
	struct fake_chain c;

	ASSERT_EQ(0, virtq_init(vq, &self->mem, 0, 8, 0));
	virtq_raw_set_desc(vq, 7, 0xdead000, 77, VRING_DESC_F_WRITE, 0);
	virtq_raw_publish(vq, 7);
	ASSERT_TRUE(fake_pop(&self->dev, &c));
	ASSERT_EQ(7, c.head);
	ASSERT_EQ(0xdead000, c.seg[0].gpa);
	ASSERT_EQ(77, c.seg[0].len);
	ASSERT_TRUE(c.seg[0].write);
	/* An out-of-range head as the next avail entry. */
	virtq_raw_set_avail(vq, 1, 9);
	virtq_raw_set_avail_idx(vq, 2);
	ASSERT_FALSE(fake_pop(&self->dev, &c));

	fake_push(&self->dev, 7, 33);
	ASSERT_EQ(1, virtq_used_idx(vq));
	e = virtq_raw_used_elem(vq, 0);
	ASSERT_EQ(7, e.id);
	ASSERT_EQ(33, e.len);
}

/* The device side of a packed ring: positions and wrap counters. */
struct fake_pdev {
	struct virtq *vq;
	__u16 avail_pos;
	bool avail_wrap;
	__u16 used_pos;
	bool used_wrap;
};

static void fake_pdev_init(struct fake_pdev *d, struct virtq *vq)
{
	d->vq = vq;
	d->avail_pos = 0;
	d->used_pos = 0;
	d->avail_wrap = true;
	d->used_wrap = true;
}

static void fake_padvance(const struct virtq *vq, __u16 *pos, bool *wrap)
{
	if (++*pos == vq->num) {
		*pos = 0;
		*wrap = !*wrap;
	}
}

/* Pop the next packed chain; @ndescs is set to the ring slots it took. */
static bool fake_ppop(struct fake_pdev *d, struct fake_chain *c,
		      unsigned int *ndescs)
{
	struct virtq *vq = d->vq;
	struct vring_packed_desc *r = vq->pdesc;
	unsigned int n = 0, slots = 0;
	__u16 flags;

	flags = le16toh(__atomic_load_n(&r[d->avail_pos].flags,
					__ATOMIC_ACQUIRE));
	if (!!(flags & (1U << VRING_PACKED_DESC_F_AVAIL)) != d->avail_wrap ||
	    !!(flags & (1U << VRING_PACKED_DESC_F_USED)) == d->avail_wrap)
		return false;
	c->indirect = false;
	for (;;) {
		struct vring_packed_desc *e = &r[d->avail_pos];

		if (++slots > vq->num)
			return false;
		flags = le16toh(e->flags);
		c->head = le16toh(e->id);
		if (flags & VRING_DESC_F_INDIRECT) {
			__u32 len = le32toh(e->len), i;
			struct vring_packed_desc *t;

			t = gmem_ptr(vq->mem, le64toh(e->addr), len);
			if (!t || !len || len % sizeof(*t))
				return false;
			for (i = 0; i < len / sizeof(*t) && n < 64; i++, n++) {
				c->seg[n].gpa = le64toh(t[i].addr);
				c->seg[n].len = le32toh(t[i].len);
				c->seg[n].write = le16toh(t[i].flags) &
						  VRING_DESC_F_WRITE;
			}
			c->indirect = true;
		} else {
			if (n >= 64)
				return false;
			c->seg[n].gpa = le64toh(e->addr);
			c->seg[n].len = le32toh(e->len);
			c->seg[n].write = flags & VRING_DESC_F_WRITE;
			n++;
		}
		fake_padvance(vq, &d->avail_pos, &d->avail_wrap);
		if (!(flags & VRING_DESC_F_NEXT))
			break;
	}
	c->nseg = n;
	*ndescs = slots;
	return true;
}

static void fake_ppush(struct fake_pdev *d, __u16 id, __u32 len,
		       unsigned int ndescs)
{
	struct vring_packed_desc *e = &d->vq->pdesc[d->used_pos];
	__u16 flags = d->used_wrap ? (1U << VRING_PACKED_DESC_F_AVAIL) |
				     (1U << VRING_PACKED_DESC_F_USED) : 0;

	e->id = htole16(id);
	e->len = htole32(len);
	__atomic_store_n(&e->flags, htole16(flags), __ATOMIC_RELEASE);
	while (ndescs--)
		fake_padvance(d->vq, &d->used_pos, &d->used_wrap);
}

TEST_F(lib, packed_layout)
{
	struct virtq *vq = &self->vq;
	struct virtq_sg out[2], in[3];
	struct fake_pdev d;
	struct fake_chain c;
	unsigned int i, nd;
	__u32 len;
	int token;

	ASSERT_EQ(0, virtq_init(vq, &self->mem, 0, 16,
				BIT64(VIRTIO_F_RING_PACKED)));
	ASSERT_TRUE(vq->packed);
	ASSERT_EQ(0, (uintptr_t)vq->pdesc % 16);
	ASSERT_EQ(0, (uintptr_t)vq->driver_event % 4);
	ASSERT_EQ(0, (uintptr_t)vq->device_event % 4);
	/* What SET_VRING_ADDR and SET_VRING_BASE take. */
	ASSERT_EQ((void *)vq->pdesc, (void *)vq->desc);
	ASSERT_EQ((void *)vq->driver_event, (void *)vq->avail);
	ASSERT_EQ((void *)vq->device_event, (void *)vq->used);
	ASSERT_EQ(0x80008000U, virtq_vring_base(vq));
	fake_pdev_init(&d, vq);

	for (i = 0; i < 2; i++) {
		out[i].addr = gmem_alloc(&self->mem, 100 + i, 8);
		out[i].len = 100 + i;
	}
	for (i = 0; i < 3; i++) {
		in[i].addr = gmem_alloc(&self->mem, 200 + i, 8);
		in[i].len = 200 + i;
	}
	ASSERT_FALSE(fake_ppop(&d, &c, &nd));
	ASSERT_EQ(0, virtq_add_buf(vq, out, 2, in, 3, &token));
	ASSERT_EQ(11, vq->num_free);
	ASSERT_EQ(5, vq->avail_idx);
	ASSERT_TRUE(fake_ppop(&d, &c, &nd));
	ASSERT_EQ(5, nd);
	ASSERT_EQ(5, c.nseg);
	ASSERT_FALSE(c.indirect);
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(virtq_gpa(vq, i < 2 ? out[i].addr : in[i - 2].addr),
			  c.seg[i].gpa);
		ASSERT_EQ(i < 2 ? 100 + i : 200 + i - 2, c.seg[i].len);
		ASSERT_EQ(i >= 2, c.seg[i].write);
	}
	ASSERT_FALSE(fake_ppop(&d, &c, &nd));
	ASSERT_FALSE(virtq_more_used(vq));
	fake_ppush(&d, c.head, 42, nd);
	ASSERT_TRUE(virtq_more_used(vq));
	ASSERT_EQ(&token, virtq_get_buf(vq, &len));
	ASSERT_EQ(42, len);
	ASSERT_EQ(16, vq->num_free);
	ASSERT_EQ(5, vq->last_used_idx);
	ASSERT_EQ(NULL, virtq_get_buf(vq, NULL));

	/* Indirect: one ring slot, the table carries the entries. */
	vq->indirect = true;
	vq->indirect_mode = VIRTQ_INDIRECT_ALWAYS;
	ASSERT_EQ(0, virtq_add_buf(vq, out, 2, in, 3, &token));
	ASSERT_EQ(15, vq->num_free);
	ASSERT_TRUE(fake_ppop(&d, &c, &nd));
	ASSERT_EQ(1, nd);
	ASSERT_TRUE(c.indirect);
	ASSERT_EQ(5, c.nseg);
	ASSERT_TRUE(c.seg[4].write);
	ASSERT_FALSE(c.seg[1].write);
	fake_ppush(&d, c.head, 0, nd);
	ASSERT_EQ(&token, virtq_get_buf(vq, NULL));
	ASSERT_EQ(16, vq->num_free);
}

/* Many laps with chains of 1-3 descriptors completed out of order. */
TEST_F(lib, packed_wraps_random)
{
	struct virtq *vq = &self->vq;
	struct { __u16 id; unsigned int nd; int *tok; } fl[8];
	int tokens[8], *tok;
	unsigned int nfl = 0, laps = 0, iter, nd;
	struct fake_pdev d;
	struct fake_chain c;
	__u32 seed = 7, len;
	bool wrap = true;
	__u8 *buf;

	ASSERT_EQ(0, virtq_init(vq, &self->mem, 0, 8,
				BIT64(VIRTIO_F_RING_PACKED) |
				BIT64(VIRTIO_RING_F_INDIRECT_DESC)));
	vq->indirect_mode = VIRTQ_INDIRECT_NEVER;
	buf = gmem_alloc(&self->mem, 64, 8);
	ASSERT_NE(NULL, buf);
	fake_pdev_init(&d, vq);

	for (iter = 0; iter < 5000; iter++) {
		if (nfl < 8 && (rnd(&seed) & 1)) {
			struct virtq_sg sg[3] = {
				{ buf, 8 }, { buf + 8, 8 }, { buf + 16, 8 } };
			unsigned int n = 1 + rnd(&seed) % 3;
			int ret;

			vq->indirect_mode = rnd(&seed) % 4 ?
					    VIRTQ_INDIRECT_NEVER :
					    VIRTQ_INDIRECT_ALWAYS;
			tok = &tokens[iter % 8];
			ret = virtq_add_buf(vq, sg, 1, sg + 1, n - 1, tok);
			if (ret == -ENOSPC)
				continue;
			ASSERT_EQ(0, ret);
			ASSERT_TRUE(fake_ppop(&d, &c, &nd));
			ASSERT_EQ(n, c.nseg);
			fl[nfl].id = c.head;
			fl[nfl].nd = nd;
			fl[nfl].tok = tok;
			nfl++;
		} else if (nfl) {
			unsigned int k = rnd(&seed) % nfl;

			fake_ppush(&d, fl[k].id, fl[k].nd, fl[k].nd);
			ASSERT_EQ(fl[k].tok, virtq_get_buf(vq, &len));
			ASSERT_EQ(fl[k].nd, len);
			fl[k] = fl[--nfl];
		}
		if (vq->used_wrap != wrap) {
			wrap = vq->used_wrap;
			laps++;
		}
		ASSERT_FALSE(vq->broken);
	}
	ASSERT_LT(100, laps);
	ASSERT_EQ(d.used_pos, vq->last_used_idx);
	ASSERT_EQ(d.used_wrap, vq->used_wrap);
	ASSERT_EQ(d.avail_pos, vq->avail_idx);
	ASSERT_EQ(d.avail_wrap, vq->avail_wrap);
}

TEST_F(lib, packed_event_suppression)
{
	struct virtq *vq = &self->vq;
	struct vring_packed_desc_event *dev_ev, *drv_ev;
	struct fake_pdev d;
	struct fake_chain c;
	unsigned int nd, i;
	int token[4];
	__u8 *buf;

	ASSERT_EQ(0, virtq_init(vq, &self->mem, 0, 4,
				BIT64(VIRTIO_F_RING_PACKED) |
				BIT64(VIRTIO_RING_F_EVENT_IDX)));
	buf = gmem_alloc(&self->mem, 64, 8);
	dev_ev = vq->device_event;
	drv_ev = vq->driver_event;
	fake_pdev_init(&d, vq);

	/* Nothing added: no kick; ENABLE: kick; DISABLE: none. */
	ASSERT_FALSE(virtq_kick_prepare(vq));
	ASSERT_EQ(0, virtq_add_outbuf(vq, buf, 8, &token[0]));
	ASSERT_TRUE(virtq_kick_prepare(vq));
	dev_ev->flags = htole16(VRING_PACKED_EVENT_FLAG_DISABLE);
	ASSERT_EQ(0, virtq_add_outbuf(vq, buf, 8, &token[1]));
	ASSERT_FALSE(virtq_kick_prepare(vq));
	ASSERT_EQ(1, vq->kicks_suppressed);
	/* DESC: kick only when the event slot (2, this lap) is made avail. */
	dev_ev->flags = htole16(VRING_PACKED_EVENT_FLAG_DESC);
	dev_ev->off_wrap = htole16(3 | 1U << 15);
	ASSERT_EQ(0, virtq_add_outbuf(vq, buf, 8, &token[2]));
	ASSERT_FALSE(virtq_kick_prepare(vq));
	ASSERT_EQ(0, virtq_add_outbuf(vq, buf, 8, &token[3]));
	/* Slot 3 made available; avail position wrapped to 0, lap 0. */
	ASSERT_FALSE(vq->avail_wrap);
	ASSERT_TRUE(virtq_kick_prepare(vq));
	for (i = 0; i < 4; i++) {
		ASSERT_TRUE(fake_ppop(&d, &c, &nd));
		fake_ppush(&d, c.head, 0, nd);
	}
	/* Driver side: disable, then enable with off_wrap. */
	virtq_disable_cb(vq);
	ASSERT_EQ(VRING_PACKED_EVENT_FLAG_DISABLE, le16toh(drv_ev->flags));
	ASSERT_FALSE(virtq_enable_cb(vq));
	ASSERT_EQ(VRING_PACKED_EVENT_FLAG_DESC, le16toh(drv_ev->flags));
	ASSERT_EQ(0 | 1U << 15, le16toh(drv_ev->off_wrap));
	for (i = 0; i < 4; i++)
		ASSERT_NE(NULL, virtq_get_buf(vq, NULL));
	/* get_buf moved the event to the next used slot, next lap. */
	ASSERT_EQ(0, le16toh(drv_ev->off_wrap));
	ASSERT_TRUE(virtq_enable_cb(vq));
	/* Both positions at 0 in lap 0. */
	ASSERT_EQ(0U, virtq_vring_base(vq));
}

TEST(wait_fd)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	__u64 v = 3;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, virtq_wait_fd(fd, 0));
	ASSERT_EQ(0, virtq_wait_fd(fd, 20));
	ASSERT_EQ(sizeof(v), write(fd, &v, sizeof(v)));
	ASSERT_EQ(1, virtq_wait_fd(fd, 1000));
	/* Consumed. */
	ASSERT_EQ(0, virtq_wait_fd(fd, 0));
	ASSERT_EQ(-EBADF, virtq_wait_fd(-1, 0));
	close(fd);
}

TEST(fdinfo_parse)
{
	static const char text[] =
		"pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t42\n"
		"vhl-kind:\tnet\n"
		"vhl-owner:\t123 qemu-system-x86\n"
		"vhl-features:\t0x0000000108000000\n"
		"vhl-vq0:\tnum=256 ready=1 broken=0 kicks=17\n"
		"vhl-vq1:\tnum=512 ready=0 broken=1 bytes=0x10";
	unsigned long long v = 0;
	const char *p;
	size_t len;

	ASSERT_TRUE(fdinfo_is_vhost_lite(text));
	ASSERT_FALSE(fdinfo_is_vhost_lite("pos:\t0\nflags:\t02\n"));
	p = fdinfo_find(text, "vhl-owner", &len);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(strlen("123 qemu-system-x86"), len);
	ASSERT_EQ(0, strncmp(p, "123 qemu-system-x86", len));
	ASSERT_EQ(NULL, fdinfo_find(text, "vhl", &len));
	ASSERT_EQ(NULL, fdinfo_find(text, "vhl-vq2", &len));
	p = fdinfo_find(text, "vhl-vq0", &len);
	ASSERT_NE(NULL, p);
	ASSERT_TRUE(fdinfo_kv(p, len, "kicks", &v));
	ASSERT_EQ(17, v);
	ASSERT_FALSE(fdinfo_kv(p, len, "kick", &v));
	ASSERT_FALSE(fdinfo_kv(p, len, "bytes", &v));
	p = fdinfo_find(text, "vhl-vq1", &len);
	ASSERT_NE(NULL, p);
	ASSERT_TRUE(fdinfo_kv(p, len, "bytes", &v));
	ASSERT_EQ(16, v);
	ASSERT_TRUE(fdinfo_kv(p, len, "num", &v));
	ASSERT_EQ(512, v);
}

TEST_HARNESS_MAIN
