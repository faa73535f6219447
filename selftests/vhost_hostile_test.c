// SPDX-License-Identifier: GPL-2.0
/*
 * A hostile guest against every vhost-lite back end (net, vsock, blk),
 * driven by the guest-driver library (device helpers: hostile_dev.c).
 *
 * hostile.*: malformed rings.  Each case builds its chain raw on the
 * queue the device serves on a kick (net TX, vsock TX, blk request queue
 * 0).  Where the ring is invalid, the error eventfd must fire (bounded
 * wait), fdinfo must say broken=1, nothing may be consumed (no used
 * entry, no frame, reply or status byte), the other queue and a second
 * open device must keep working, and the queue must work again once it
 * is set up anew.  Where a case is legitimately not an error (a
 * zero-length descriptor, a buffer spanning two regions, a memory table
 * replaced by an equivalent one under traffic) the device's correct
 * behaviour is asserted instead.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/eventfd.h>

#include "kselftest_harness.h"
#include "hostile_dev.h"

/* ---- hostile rings ---------------------------------------------------- */

FIXTURE(hostile) {
	struct hdev d, o;
};

FIXTURE_VARIANT(hostile) {
	enum kind kind;
};

FIXTURE_VARIANT_ADD(hostile, net) {
	.kind = K_NET,
};

FIXTURE_VARIANT_ADD(hostile, vsock) {
	.kind = K_VSOCK,
};

FIXTURE_VARIANT_ADD(hostile, blk) {
	.kind = K_BLK,
};

FIXTURE_SETUP(hostile)
{
	int ret;

	self->d.up = false;
	self->o.up = false;
	if (variant->kind == K_NET && unshare(CLONE_NEWNET))
		TH_LOG("no private netns: %s", strerror(errno));
	ret = hdev_up(&self->d, variant->kind, 0);
	if (ret == 1)
		SKIP(return, "%s does not exist", kind_path(variant->kind));
	if (ret == 2)
		SKIP(return, "%s is not vhost-lite", kind_path(variant->kind));
	ASSERT_EQ(0, ret) TH_LOG("%s", why);
	ASSERT_EQ(0, hdev_up(&self->o, variant->kind, 1)) TH_LOG("%s", why);
}

FIXTURE_TEARDOWN(hostile)
{
	hdev_down(&self->d);
	hdev_down(&self->o);
}

/*
 * A request the device accepts, as descriptors: net a frame (header and
 * frame, one buffer), vsock a request to a port nobody listens on (the
 * device answers with a reset), blk a FLUSH (header, status byte).
 */
struct req {
	unsigned int n;
	__u64 gpa[2];
	__u32 len[2];
	__u16 flags[2];
	__u8 *status;
	__u32 port;
};

static int good_req(struct hdev *d, struct req *r)
{
	__u8 *p;

	memset(r, 0, sizeof(*r));
	if (d->kind == K_NET) {
		p = gmem_alloc(MEM(d), NET_HDR + FRAME, 64);
		if (!p)
			return -1;
		make_frame(d, d->frame);
		memcpy(p + NET_HDR, d->frame, FRAME);
		r->n = 1;
		r->gpa[0] = gmem_gpa(MEM(d), p);
		r->len[0] = NET_HDR + FRAME;
	} else if (d->kind == K_VSOCK) {
		p = gmem_alloc(MEM(d), VSOCK_HDR, 64);
		if (!p)
			return -1;
		r->port = ++d->port;
		vsock_req_hdr(d, (struct virtio_vsock_hdr *)p, r->port);
		r->n = 1;
		r->gpa[0] = gmem_gpa(MEM(d), p);
		r->len[0] = VSOCK_HDR;
	} else {
		struct virtio_blk_outhdr *h = gmem_alloc(MEM(d), 32, 16);

		if (!h)
			return -1;
		h->type = htole32(VIRTIO_BLK_T_FLUSH);
		r->status = (__u8 *)(h + 1);
		*r->status = BLK_REQ_STATUS_NONE;
		r->n = 2;
		r->gpa[0] = gmem_gpa(MEM(d), h);
		r->len[0] = sizeof(*h);
		r->gpa[1] = gmem_gpa(MEM(d), r->status);
		r->len[1] = 1;
		r->flags[1] = W;
	}
	return 0;
}

/* Did the device act on @r (within @ms)?  1 yes, 0 no. */
static int consumed(struct hdev *d, const struct req *r, int ms)
{
	if (d->kind == K_NET)
		return tap_got_frame(d, ms);
	if (d->kind == K_VSOCK)
		return vsock_got(d, VIRTIO_VSOCK_OP_RST, r->port, ms) == 1;
	if (virtq_wait_used(VQ(d, aq(d)), ms) != 1)
		return 0;
	return *r->status == VIRTIO_BLK_S_OK;
}

/* Write @r as ring descriptors from @first on, the last linking @tail. */
static void put_req(struct virtq *vq, const struct req *r, __u16 first,
		    __u16 tail_flags, __u16 tail_next)
{
	unsigned int i;

	for (i = 0; i < r->n; i++) {
		bool last = i + 1 == r->n;

		virtq_raw_set_desc(vq, first + i, r->gpa[i], r->len[i],
				   r->flags[i] | (last ? tail_flags : NX),
				   last ? tail_next : first + i + 1);
	}
}

/* The same into an indirect table @t. */
static void put_req_table(struct vring_desc *t, const struct req *r,
			  unsigned int first, __u16 tail_flags, __u16 tail_next)
{
	unsigned int i;

	for (i = 0; i < r->n; i++) {
		bool last = i + 1 == r->n;

		virtq_hostile_set_table(t, first + i, r->gpa[i], r->len[i],
					r->flags[i] | (last ? tail_flags : NX),
					last ? tail_next : first + i + 1);
	}
}

static struct vring_desc *table(struct hdev *d, unsigned int entries)
{
	return gmem_alloc(MEM(d), entries * sizeof(struct vring_desc), 16);
}

/*
 * The ring was invalid: the error eventfd fires, the queue is broken,
 * nothing was consumed, the other queue and the other device work, and
 * the queue works again once set up anew.
 */
static void expect_broken(struct __test_metadata *_metadata,
			  struct _test_data_hostile *self, unsigned int q,
			  __u16 used_before, const struct req *r)
{
	struct hdev *d = &self->d;
	unsigned int oq = other_q(d, q);

	ASSERT_EQ(1, virtq_wait_err(VQ(d, q), WAIT_MS))
		TH_LOG("no error eventfd on vq %u", q);
	EXPECT_EQ(1, vq_stat(d, q, "broken"));
	EXPECT_EQ(0, vq_stat(d, oq, "broken"));
	EXPECT_EQ(used_before, virtq_used_idx(VQ(d, q)));
	EXPECT_EQ(0, r ? consumed(d, r, QUIET_MS) : 0)
		TH_LOG("the invalid request was served");
	/* vsock replies need a working TX: check RX with a host request. */
	EXPECT_EQ(0, traffic_q(d, oq, d->kind != K_VSOCK || oq == 0))
		TH_LOG("other queue: %s", why);
	EXPECT_EQ(0, traffic(&self->o)) TH_LOG("other device: %s", why);
	ASSERT_EQ(0, q_reinit(d, q)) TH_LOG("%s", why);
	EXPECT_EQ(0, vq_stat(d, q, "broken"));
	EXPECT_EQ(0, traffic(d)) TH_LOG("after set-up anew: %s", why);
}

/* A legitimate case: not broken, and the device keeps working. */
static void expect_fine(struct __test_metadata *_metadata,
			struct _test_data_hostile *self, unsigned int q)
{
	struct hdev *d = &self->d;

	EXPECT_EQ(0, virtq_wait_err(VQ(d, q), 0));
	EXPECT_EQ(0, vq_stat(d, q, "broken"));
	EXPECT_EQ(0, vq_stat(d, other_q(d, q), "broken"));
	/* The raw chain is not the driver's: start the ring over. */
	ASSERT_EQ(0, q_reinit(d, q)) TH_LOG("%s", why);
	EXPECT_EQ(0, traffic(d)) TH_LOG("%s", why);
	EXPECT_EQ(0, traffic(&self->o)) TH_LOG("other device: %s", why);
}

/* Publish head @head on the attacked queue and kick. */
static __u16 publish(struct hdev *d, __u16 head)
{
	struct virtq *vq = VQ(d, aq(d));
	__u16 used = virtq_used_idx(vq);

	virtq_raw_publish(vq, head);
	virtq_notify(vq);
	return used;
}

TEST_F(hostile, desc_loop)
{
	struct hdev *d = &self->d;
	struct virtq *vq = VQ(d, aq(d));
	struct req r;
	__u16 used;

	ASSERT_EQ(0, good_req(d, &r));
	/* 0 -> 1 -> 0: readable only, so no direction check cuts it short. */
	virtq_raw_set_desc(vq, 0, r.gpa[0], r.len[0], NX, 1);
	virtq_raw_set_desc(vq, 1, r.gpa[0], r.len[0], NX, 0);
	used = publish(d, 0);
	expect_broken(_metadata, self, aq(d), used, &r);
}

TEST_F(hostile, desc_self_loop)
{
	struct hdev *d = &self->d;
	struct virtq *vq = VQ(d, aq(d));
	struct req r;
	__u16 used;

	ASSERT_EQ(0, good_req(d, &r));
	virtq_raw_set_desc(vq, 5, r.gpa[0], r.len[0], NX, 5);
	used = publish(d, 5);
	expect_broken(_metadata, self, aq(d), used, &r);
}

TEST_F(hostile, indirect_loop)
{
	struct hdev *d = &self->d;
	struct vring_desc *t = table(d, 4);
	struct req r;
	__u16 used;

	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, good_req(d, &r));
	virtq_hostile_set_table(t, 0, r.gpa[0], r.len[0], NX, 1);
	virtq_hostile_set_table(t, 1, r.gpa[0], r.len[0], NX, 2);
	virtq_hostile_set_table(t, 2, r.gpa[0], r.len[0], NX, 0);
	virtq_hostile_set_table(t, 3, r.gpa[0], r.len[0], 0, 0);
	virtq_raw_set_desc(VQ(d, aq(d)), 0, gmem_gpa(MEM(d), t),
			   4 * sizeof(*t), VRING_DESC_F_INDIRECT, 0);
	used = publish(d, 0);
	expect_broken(_metadata, self, aq(d), used, &r);
}

TEST_F(hostile, next_beyond_num)
{
	struct hdev *d = &self->d;
	struct req r;
	__u16 used;

	ASSERT_EQ(0, good_req(d, &r));
	/* The chain's last descriptor links to num. */
	put_req(VQ(d, aq(d)), &r, 0, NX, d->num);
	used = publish(d, 0);
	expect_broken(_metadata, self, aq(d), used, &r);
}

TEST_F(hostile, next_0xffff)
{
	struct hdev *d = &self->d;
	struct req r;
	__u16 used;

	ASSERT_EQ(0, good_req(d, &r));
	put_req(VQ(d, aq(d)), &r, 0, NX, 0xffff);
	used = publish(d, 0);
	expect_broken(_metadata, self, aq(d), used, &r);
}

TEST_F(hostile, avail_head_beyond_num)
{
	struct hdev *d = &self->d;
	struct req r;
	__u16 used;

	ASSERT_EQ(0, good_req(d, &r));
	put_req(VQ(d, aq(d)), &r, 0, 0, 0);
	used = publish(d, d->num);
	expect_broken(_metadata, self, aq(d), used, &r);
}

/*
 * The table has 2 entries and the last links to entry 2, which lies just
 * behind the table and holds a valid, final request: a walker reading
 * beyond the table would accept the chain, and the test would see the
 * request consumed.
 */
TEST_F(hostile, indirect_next_beyond_table)
{
	struct hdev *d = &self->d;
	struct vring_desc *t = table(d, 2 + 2);
	struct req r;
	__u16 used;

	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, good_req(d, &r));
	/* Two empty readable entries, then the request behind the table. */
	virtq_hostile_set_table(t, 0, r.gpa[0], 0, NX, 1);
	virtq_hostile_set_table(t, 1, r.gpa[0], 0, NX, 2);
	put_req_table(t, &r, 2, 0, 0);
	virtq_raw_set_desc(VQ(d, aq(d)), 0, gmem_gpa(MEM(d), t),
			   2 * sizeof(*t), VRING_DESC_F_INDIRECT, 0);
	used = publish(d, 0);
	expect_broken(_metadata, self, aq(d), used, &r);
}

TEST_F(hostile, indirect_in_indirect)
{
	struct hdev *d = &self->d;
	struct vring_desc *inner = table(d, 2), *outer = table(d, 1);
	struct req r;
	__u16 used;

	ASSERT_TRUE(inner && outer);
	ASSERT_EQ(0, good_req(d, &r));
	put_req_table(inner, &r, 0, 0, 0);
	virtq_hostile_set_table(outer, 0, gmem_gpa(MEM(d), inner),
				r.n * sizeof(*inner), VRING_DESC_F_INDIRECT, 0);
	virtq_raw_set_desc(VQ(d, aq(d)), 0, gmem_gpa(MEM(d), outer),
			   sizeof(*outer), VRING_DESC_F_INDIRECT, 0);
	used = publish(d, 0);
	expect_broken(_metadata, self, aq(d), used, &r);
}

/* Indirect table lengths: not a multiple of 16, 0, 4 GiB - 16. */
static void indirect_len(struct __test_metadata *_metadata,
			 struct _test_data_hostile *self, __u32 len)
{
	struct hdev *d = &self->d;
	struct vring_desc *t = table(d, 4);
	struct req r;
	__u16 used;

	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, good_req(d, &r));
	put_req_table(t, &r, 0, 0, 0);
	virtq_raw_set_desc(VQ(d, aq(d)), 0, gmem_gpa(MEM(d), t), len,
			   VRING_DESC_F_INDIRECT, 0);
	used = publish(d, 0);
	expect_broken(_metadata, self, aq(d), used, &r);
}

TEST_F(hostile, indirect_len_24)
{
	indirect_len(_metadata, self, 24);
}

TEST_F(hostile, indirect_len_8)
{
	indirect_len(_metadata, self, 8);
}

TEST_F(hostile, indirect_len_0)
{
	indirect_len(_metadata, self, 0);
}

TEST_F(hostile, indirect_len_4g)
{
	indirect_len(_metadata, self, 0xfffffff0);
}

TEST_F(hostile, indirect_table_outside_memory)
{
	struct hdev *d = &self->d;
	struct req r;
	__u16 used;

	ASSERT_EQ(0, good_req(d, &r));
	virtq_raw_set_desc(VQ(d, aq(d)), 0, 0x1000, 2 * 16,
			   VRING_DESC_F_INDIRECT, 0);
	used = publish(d, 0);
	expect_broken(_metadata, self, aq(d), used, &r);
}

TEST_F(hostile, indirect_table_wraps)
{
	struct hdev *d = &self->d;
	struct req r;
	__u16 used;

	ASSERT_EQ(0, good_req(d, &r));
	virtq_raw_set_desc(VQ(d, aq(d)), 0, 0xfffffffffffffff0ULL, 2 * 16,
			   VRING_DESC_F_INDIRECT, 0);
	used = publish(d, 0);
	expect_broken(_metadata, self, aq(d), used, &r);
}

/* The first descriptor of the request gets @addr and @len. */
static void bad_first(struct __test_metadata *_metadata,
		      struct _test_data_hostile *self, __u64 addr, __u32 len)
{
	struct hdev *d = &self->d;
	struct req r;
	__u16 used;

	ASSERT_EQ(0, good_req(d, &r));
	if (addr)
		r.gpa[0] = addr;
	r.len[0] = len;
	put_req(VQ(d, aq(d)), &r, 0, 0, 0);
	used = publish(d, 0);
	expect_broken(_metadata, self, aq(d), used, &r);
}

TEST_F(hostile, desc_4g)
{
	bad_first(_metadata, self, 0, 0xffffffff);
}

TEST_F(hostile, desc_4g_minus_page)
{
	bad_first(_metadata, self, 0, 0xfffff000);
}

TEST_F(hostile, desc_outside_memory)
{
	bad_first(_metadata, self, 0x1000, 64);
}

TEST_F(hostile, desc_above_memory)
{
	bad_first(_metadata, self, self->d.g.mem.gpa_base + self->d.g.mem.size,
		  64);
}

TEST_F(hostile, desc_wraps_2_64)
{
	bad_first(_metadata, self, 0xfffffffffffff000ULL, 0x2000);
}

TEST_F(hostile, desc_last_byte_2_64)
{
	bad_first(_metadata, self, 0xffffffffffffffffULL, 2);
}

TEST_F(hostile, avail_idx_jump)
{
	struct hdev *d = &self->d;
	struct virtq *vq = VQ(d, aq(d));
	struct req r;
	__u16 used = virtq_used_idx(vq);

	ASSERT_EQ(0, good_req(d, &r));
	put_req(vq, &r, 0, 0, 0);
	virtq_raw_set_avail(vq, vq->avail_idx, 0);
	/* num + 1 entries "available" at once. */
	virtq_raw_set_avail_idx(vq, (__u16)(vq->avail_idx + d->num + 1));
	virtq_notify(vq);
	expect_broken(_metadata, self, aq(d), used, &r);
}

/*
 * Two memory regions, contiguous in guest-physical space, meeting at
 * @boundary bytes into the arena, with a @hole of unmapped guest space
 * between them (0: none).  Return the boundary or 0.
 */
static size_t two_regions(struct hdev *d, size_t hole)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct gmem *m = MEM(d);
	/* Far enough that what the test allocates later stays below. */
	size_t b = (m->used + 64 * page) & ~(page - 1);
	struct vhost_memory_region r[2] = {
		{ .guest_phys_addr = m->gpa_base, .memory_size = b,
		  .userspace_addr = gmem_uaddr(m->base) },
		{ .guest_phys_addr = m->gpa_base + b + hole,
		  .memory_size = m->size - b - hole,
		  .userspace_addr = gmem_uaddr(m->base + b + hole) },
	};

	if (b + hole + page > m->size)
		return 0;
	return vhost_dev_set_mem_table(DEV(d), r, 2) ? 0 : b;
}

/* Move the first buffer of @r to straddle @boundary (8 bytes before it). */
static void straddle(struct hdev *d, struct req *r, size_t boundary)
{
	__u8 *old = gmem_ptr(MEM(d), r->gpa[0], r->len[0]);
	__u8 *p = MEM(d)->base + boundary - 8;

	memcpy(p, old, r->len[0]);
	r->gpa[0] = gmem_gpa(MEM(d), p);
	if (d->kind == K_BLK)
		r->status = gmem_ptr(MEM(d), r->gpa[1], 1);
}

/* Legitimate: the translation splits the buffer at the region boundary. */
TEST_F(hostile, span_two_regions)
{
	struct hdev *d = &self->d;
	size_t b = two_regions(d, 0);
	struct req r;

	ASSERT_NE(0, b);
	ASSERT_EQ(0, good_req(d, &r));
	straddle(d, &r, b);
	put_req(VQ(d, aq(d)), &r, 0, 0, 0);
	publish(d, 0);
	EXPECT_EQ(1, consumed(d, &r, WAIT_MS)) TH_LOG("split buffer refused");
	expect_fine(_metadata, self, aq(d));
}

/* A buffer from the end of a region into unmapped guest space. */
TEST_F(hostile, span_into_hole)
{
	struct hdev *d = &self->d;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t b = two_regions(d, page);
	struct req r;
	__u16 used;

	ASSERT_NE(0, b);
	ASSERT_EQ(0, good_req(d, &r));
	straddle(d, &r, b);
	put_req(VQ(d, aq(d)), &r, 0, 0, 0);
	used = publish(d, 0);
	expect_broken(_metadata, self, aq(d), used, &r);
	EXPECT_EQ(0, vhost_dev_set_mem_gmem(DEV(d), MEM(d), 1));
}

/*
 * Legitimate: a zero-length descriptor inside a request maps to nothing;
 * the request around it is served as if it were not there.
 */
TEST_F(hostile, zero_len_inside)
{
	struct hdev *d = &self->d;
	struct virtq *vq = VQ(d, aq(d));
	__u32 half;
	struct req r;

	ASSERT_EQ(0, good_req(d, &r));
	half = r.len[0] / 2;
	virtq_raw_set_desc(vq, 0, r.gpa[0], half, NX, 1);
	virtq_raw_set_desc(vq, 1, r.gpa[0] + half, 0, NX, 2);
	virtq_raw_set_desc(vq, 2, r.gpa[0] + half, r.len[0] - half,
			   r.n > 1 ? NX : 0, 3);
	if (r.n > 1) {
		/* blk: an empty writable one before the status byte too. */
		virtq_raw_set_desc(vq, 3, r.gpa[1], 0, W | NX, 4);
		virtq_raw_set_desc(vq, 4, r.gpa[1], 1, W, 0);
	}
	publish(d, 0);
	EXPECT_EQ(1, consumed(d, &r, WAIT_MS)) TH_LOG("request not served");
	expect_fine(_metadata, self, aq(d));
}

static unsigned long long vsock_malformed(struct hdev *d)
{
	unsigned long long v = ~0ULL;
	char *text = fdinfo_read(0, DEV(d)->fd);
	const char *line;
	size_t len;

	line = text ? fdinfo_find(text, "vhl-vsock", &len) : NULL;
	if (!line || !fdinfo_kv(line, len, "malformed", &v))
		v = ~0ULL;
	free(text);
	return v;
}

/*
 * A chain of one empty descriptor.  net (an empty frame) and vsock (a
 * packet shorter than its header) legitimately drop it and give the
 * buffer back; blk has no status byte to answer on: broken.
 */
TEST_F(hostile, zero_len_only)
{
	struct hdev *d = &self->d;
	struct virtq *vq = VQ(d, aq(d));
	unsigned long long bad = d->kind == K_VSOCK ? vsock_malformed(d) : 0;
	struct req r;
	__u16 used;

	ASSERT_EQ(0, good_req(d, &r));
	virtq_raw_set_desc(vq, 0, r.gpa[0], 0, d->kind == K_BLK ? W : 0, 0);
	used = publish(d, 0);
	if (d->kind == K_BLK) {
		expect_broken(_metadata, self, aq(d), used, NULL);
		return;
	}
	ASSERT_TRUE(WAIT_FOR(virtq_used_idx(vq) == (__u16)(used + 1)))
		TH_LOG("empty chain not given back");
	EXPECT_EQ(0, virtq_raw_used_elem(vq, used).len);
	if (d->kind == K_NET) {
		EXPECT_EQ(0, tap_got_frame(d, QUIET_MS))
			TH_LOG("an empty frame reached the tap");
	} else {
		EXPECT_EQ(bad + 1, vsock_malformed(d))
			TH_LOG("the short packet was not counted");
	}
	expect_fine(_metadata, self, aq(d));
}

/*
 * Device-writable descriptors where the device must read: net breaks the
 * TX queue; vsock drops the packet (malformed, buffer given back) as
 * in-tree does; blk cannot read the header and answers IOERR through the
 * last writable byte, as the virtio-blk spec wants.
 */
TEST_F(hostile, writable_where_readable)
{
	struct hdev *d = &self->d;
	struct virtq *vq = VQ(d, aq(d));
	unsigned long long bad = d->kind == K_VSOCK ? vsock_malformed(d) : 0;
	struct req r;
	__u16 used;

	ASSERT_EQ(0, good_req(d, &r));
	r.flags[0] = W;
	put_req(vq, &r, 0, 0, 0);
	used = publish(d, 0);
	if (d->kind == K_NET) {
		expect_broken(_metadata, self, aq(d), used, &r);
		return;
	}
	ASSERT_TRUE(WAIT_FOR(virtq_used_idx(vq) == (__u16)(used + 1)));
	if (d->kind == K_VSOCK) {
		EXPECT_EQ(bad + 1, vsock_malformed(d));
		EXPECT_EQ(0, consumed(d, &r, QUIET_MS));
	} else {
		EXPECT_EQ(VIRTIO_BLK_S_IOERR, *r.status);
	}
	expect_fine(_metadata, self, aq(d));
}

/*
 * Device-readable descriptors where the device must write: the RX queue
 * of net and vsock (for a frame, a reply), a blk request whose status
 * byte is readable.  All break the queue.
 */
TEST_F(hostile, readable_where_writable)
{
	struct hdev *d = &self->d;
	unsigned int q = d->kind == K_BLK ? 0 : NET_VQ_RX;
	struct virtq *vq = VQ(d, q);
	__u8 *buf = gmem_alloc(MEM(d), 2048, 64);
	struct req r;
	__u16 used;

	ASSERT_NE(NULL, buf);
	if (d->kind == K_BLK) {
		ASSERT_EQ(0, good_req(d, &r));
		r.flags[1] = 0;
		put_req(vq, &r, 0, 0, 0);
		used = publish(d, 0);
		expect_broken(_metadata, self, q, used, &r);
		return;
	}
	if (d->kind == K_VSOCK) {
		/* An RX ring holding nothing but the readable buffer. */
		ASSERT_EQ(0, q_stop(d, q));
		virtq_destroy(vq);
		ASSERT_EQ(0, virtq_init(vq, MEM(d), q, d->num, d->features));
		ASSERT_EQ(0, virtq_hostile_isolate(vq));
		ASSERT_EQ(0, vhost_dev_setup_vq(DEV(d), vq));
		ASSERT_EQ(0, q_start(d, q));
	}
	used = virtq_used_idx(vq);
	virtq_raw_set_desc(vq, 0, gmem_gpa(MEM(d), buf), 2048, 0, 0);
	virtq_raw_publish(vq, 0);
	virtq_notify(vq);
	if (d->kind == K_NET) {
		make_frame(d, d->frame);
		ASSERT_EQ(FRAME, tap_packet_send(d->pkt, &d->tap, d->frame,
						 FRAME));
	} else {
		struct virtio_vsock_hdr h;

		/* Its reset is what the device must put on RX. */
		vsock_req_hdr(d, &h, ++d->port);
		ASSERT_EQ(0, vsock_guest_send_raw(&d->g, &h, sizeof(h)));
	}
	expect_broken(_metadata, self, q, used, NULL);
}

static unsigned long long blk_inflight(struct hdev *d, unsigned int q)
{
	return fdinfo_stat(0, DEV(d)->fd, "vhl-blk-vq", q, "inflight");
}

/*
 * The used ring made read-only under the device: it cannot publish (or
 * even write its notification flags): broken.  What it did before the
 * write failed (a frame sent, a status byte written) may show.
 */
TEST_F(hostile, used_ring_read_only)
{
	struct hdev *d = &self->d;
	struct virtq *vq = VQ(d, aq(d));
	struct req r;
	__u16 used;

	ASSERT_EQ(0, good_req(d, &r));
	put_req(vq, &r, 0, 0, 0);
	ASSERT_EQ(0, virtq_hostile_protect_used(vq, PROT_READ));
	used = publish(d, 0);
	ASSERT_EQ(1, virtq_wait_err(vq, WAIT_MS));
	/*
	 * blk: the request taken before the queue broke still completes;
	 * while the ring is read-only its used entry cannot be published
	 * either.  Let it end before the ring is writable again.
	 */
	if (d->kind == K_BLK)
		ASSERT_TRUE(WAIT_FOR(blk_inflight(d, 0) == 0));
	EXPECT_EQ(used, virtq_used_idx(vq));
	ASSERT_EQ(0, virtq_hostile_protect_used(vq, PROT_READ | PROT_WRITE));
	/* The error was already consumed: expect_broken() waits again. */
	eventfd_write(vq->err_fd, 1);
	expect_broken(_metadata, self, aq(d), used, NULL);
}

/* The rings unmapped while the worker is busy with a batch. */
TEST_F(hostile, rings_unmapped)
{
	struct hdev *d = &self->d;
	struct virtq *vq = VQ(d, aq(d));
	struct req r;
	unsigned int i;

	if (MEM(d)->memfd < 0)
		SKIP(return, "arena without memfd: cannot map the rings back");
	for (i = 0; i < 32; i++) {
		ASSERT_EQ(0, good_req(d, &r));
		put_req(vq, &r, (__u16)(i * r.n), 0, 0);
		virtq_raw_set_avail(vq, vq->avail_idx++, (__u16)(i * r.n));
	}
	virtq_raw_set_avail_idx(vq, vq->avail_idx);
	virtq_notify(vq);
	ASSERT_EQ(0, virtq_hostile_unmap_rings(vq));
	virtq_notify(vq);
	ASSERT_EQ(1, virtq_wait_err(vq, WAIT_MS));
	EXPECT_EQ(1, vq_stat(d, aq(d), "broken"));
	ASSERT_EQ(0, virtq_hostile_remap_rings(vq));
	/* Taken before or not at all: never more than were offered. */
	EXPECT_GE(32, virtq_used_idx(vq));
	eventfd_write(vq->err_fd, 1);
	expect_broken(_metadata, self, aq(d), virtq_used_idx(vq), NULL);
}

struct flipper {
	struct hdev *d;
	bool stop;	/* __atomic */
	int flips;	/* __atomic */
	int err;
};

/* Replace the memory table again and again with equivalent ones. */
static void *flip_tables(void *arg)
{
	struct flipper *f = arg;

	int n = 0;

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		f->err = vhost_dev_set_mem_gmem(DEV(f->d), MEM(f->d),
						n % 2 ? 1 : 4);
		if (f->err)
			break;
		__atomic_store_n(&f->flips, ++n, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Traffic rounds: at least 40, and until 10 tables were replaced. */
#define FLIP_ROUNDS	40
#define FLIP_MIN	10
#define FLIP_MAX_ROUNDS	4000

/* Legitimate: the table replaced by equivalent ones under traffic. */
TEST_F(hostile, mem_table_replaced_under_traffic)
{
	struct flipper f = { .d = &self->d };
	pthread_t t;
	int i, ret = 0;

	/*
	 * Under TCG the flipper may get little CPU while traffic runs, so
	 * traffic goes on until it has replaced the table FLIP_MIN times
	 * (bounded by FLIP_MAX_ROUNDS rounds), not for a fixed time.
	 */
	ASSERT_EQ(0, pthread_create(&t, NULL, flip_tables, &f));
	for (i = 0; !ret && i < FLIP_MAX_ROUNDS &&
	     (i < FLIP_ROUNDS ||
	      __atomic_load_n(&f.flips, __ATOMIC_ACQUIRE) < FLIP_MIN); i++)
		ret = traffic(&self->d);
	__atomic_store_n(&f.stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	EXPECT_EQ(0, ret) TH_LOG("round %d: %s", i, why);
	EXPECT_EQ(0, f.err);
	EXPECT_LE(FLIP_MIN, f.flips);
	TH_LOG("%d tables while %d rounds of traffic ran", f.flips, i);
	expect_fine(_metadata, self, aq(&self->d));
}

/*
 * The table replaced, under traffic, by one without the buffers: the
 * queue breaks at the first chain it cannot translate; with the table
 * back and set up anew it works.
 */
TEST_F(hostile, mem_table_dropped_under_traffic)
{
	struct hdev *d = &self->d;
	struct virtq *vq = VQ(d, aq(d));
	struct vhost_memory_region elsewhere = {
		.guest_phys_addr = 0x4000000000ULL, .memory_size = 1 << 20,
		.userspace_addr = gmem_uaddr(MEM(d)->base),
	};
	struct req r;
	unsigned int i;

	for (i = 0; i < 16; i++) {
		ASSERT_EQ(0, good_req(d, &r));
		put_req(vq, &r, (__u16)(i * r.n), 0, 0);
		virtq_raw_set_avail(vq, vq->avail_idx++, (__u16)(i * r.n));
	}
	virtq_raw_set_avail_idx(vq, vq->avail_idx);
	virtq_notify(vq);
	ASSERT_EQ(0, vhost_dev_set_mem_table(DEV(d), &elsewhere, 1));
	/* One more after the switch, for certain. */
	ASSERT_EQ(0, good_req(d, &r));
	put_req(vq, &r, 100, 0, 0);
	publish(d, 100);
	ASSERT_EQ(1, virtq_wait_err(vq, WAIT_MS));
	EXPECT_EQ(1, vq_stat(d, aq(d), "broken"));
	EXPECT_GE(16, virtq_used_idx(vq));
	ASSERT_EQ(0, vhost_dev_set_mem_gmem(DEV(d), MEM(d), 1));
	eventfd_write(vq->err_fd, 1);
	/* vsock: a reply to one of the batch may have broken RX too. */
	if (d->kind == K_VSOCK) {
		ASSERT_EQ(0, q_reinit(d, 0))
			TH_LOG("%s", why);
	}
	expect_broken(_metadata, self, aq(d), virtq_used_idx(vq), NULL);
}

TEST_HARNESS_MAIN
