// SPDX-License-Identifier: GPL-2.0
/*
 * ABI tests of the core vhost ioctls on a vhost-net device node
 * (/dev/vhost-net-lite, or $VHOST_NET_DEV).
 *
 * Every ioctl is tried with good and bad arguments.  Where vhost-lite
 * deliberately differs from the in-tree module the expected value depends
 * on the flavour under test (see vhl_test.h), so the same program also
 * documents the in-tree behaviour when pointed at /dev/vhost-net.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "fdinfo.h"
#include "vhl_test.h"

#define KERNEL_ADDR	0xffff888000000000ULL

static void open_or_skip(struct __test_metadata *_metadata,
			 struct vhost_dev *d, bool *lite)
{
	int ret = vhl_open(d);

	if (ret == -ENOENT)
		SKIP(return, "%s does not exist (module not loaded?)",
		     vhost_net_dev_path());
	ASSERT_EQ(0, ret) TH_LOG("open %s: %s", vhost_net_dev_path(),
				 strerror(-ret));
	*lite = vhl_flavor_lite(d->fd);
}

/* A device that was opened but has no owner yet. */
FIXTURE(unowned) {
	struct vhost_dev dev;
	bool lite;
};

FIXTURE_SETUP(unowned)
{
	self->dev.fd = -1;
	open_or_skip(_metadata, &self->dev, &self->lite);
}

FIXTURE_TEARDOWN(unowned)
{
	vhost_dev_close(&self->dev);
}

TEST_F(unowned, get_features_before_owner)
{
	__u64 f = 0;

	ASSERT_EQ(0, vhost_dev_get_features(&self->dev, &f));
	ASSERT_EQ(VHL_INTREE_NET_FEATURES, f & VHL_INTREE_NET_FEATURES);
}

TEST_F(unowned, ioctls_before_owner)
{
	struct vhost_memory mem = { .nregions = 0 };
	struct vhost_vring_state s = { .index = 0, .num = 256 };
	struct vhost_vring_addr a = { .index = 0 };
	struct vhost_vring_file f = { .index = 0, .fd = -1 };
	int efd = eventfd(0, EFD_CLOEXEC);

	ASSERT_LE(0, efd);
	EXPECT_EQ(-EPERM, vhost_dev_ioctl(&self->dev, VHOST_SET_MEM_TABLE,
					  &mem));
	EXPECT_EQ(-EPERM, vhost_dev_ioctl(&self->dev, VHOST_SET_VRING_NUM, &s));
	EXPECT_EQ(-EPERM, vhost_dev_ioctl(&self->dev, VHOST_SET_VRING_BASE,
					  &s));
	EXPECT_EQ(-EPERM, vhost_dev_ioctl(&self->dev, VHOST_GET_VRING_BASE,
					  &s));
	EXPECT_EQ(-EPERM, vhost_dev_ioctl(&self->dev, VHOST_SET_VRING_ADDR,
					  &a));
	f.fd = efd;
	EXPECT_EQ(-EPERM, vhost_dev_ioctl(&self->dev, VHOST_SET_VRING_KICK,
					  &f));
	EXPECT_EQ(-EPERM, vhost_dev_ioctl(&self->dev, VHOST_SET_VRING_CALL,
					  &f));
	EXPECT_EQ(-EPERM, vhost_dev_ioctl(&self->dev, VHOST_SET_VRING_ERR,
					  &f));
	EXPECT_EQ(-EPERM, vhost_net_set_backend(&self->dev, 0, -1));
	EXPECT_EQ(-EPERM, vhost_dev_reset_owner(&self->dev));
	close(efd);
}

TEST_F(unowned, set_owner_twice)
{
	ASSERT_EQ(0, vhost_dev_set_owner(&self->dev));
	ASSERT_EQ(-EBUSY, vhost_dev_set_owner(&self->dev));
}

TEST_F(unowned, reset_owner_then_set_owner)
{
	ASSERT_EQ(0, vhost_dev_set_owner(&self->dev));
	ASSERT_EQ(0, vhost_dev_reset_owner(&self->dev));
	/* Ownership is gone: owner-only ioctls fail again. */
	ASSERT_EQ(-EPERM, vhost_dev_set_vring_num(&self->dev, 0, 256));
	ASSERT_EQ(-EPERM, vhost_dev_reset_owner(&self->dev));
	ASSERT_EQ(0, vhost_dev_set_owner(&self->dev));
	ASSERT_EQ(0, vhost_dev_set_vring_num(&self->dev, 0, 256));
	ASSERT_EQ(-EBUSY, vhost_dev_set_owner(&self->dev));
}

/* An owned device with a small guest memory arena. */
FIXTURE(core) {
	struct vhost_dev dev;
	struct gmem mem;
	__u64 offered;
	size_t page;
	bool lite;
};

FIXTURE_SETUP(core)
{
	self->dev.fd = -1;
	self->page = (size_t)sysconf(_SC_PAGESIZE);
	open_or_skip(_metadata, &self->dev, &self->lite);
	ASSERT_EQ(0, vhost_dev_set_owner(&self->dev));
	ASSERT_EQ(0, vhost_dev_get_features(&self->dev, &self->offered));
	ASSERT_EQ(0, gmem_init(&self->mem, 4 << 20, GMEM_GPA_BASE_DEFAULT));
}

FIXTURE_TEARDOWN(core)
{
	vhost_dev_close(&self->dev);
	gmem_destroy(&self->mem);
}

TEST_F(core, set_owner_again)
{
	ASSERT_EQ(-EBUSY, vhost_dev_set_owner(&self->dev));
}

TEST_F(core, get_features)
{
	__u64 f = 0;

	ASSERT_EQ(0, vhost_dev_get_features(&self->dev, &f));
	ASSERT_EQ(self->offered, f);
	if (self->lite) {
		ASSERT_EQ(VHL_NET_FEATURES, f)
			TH_LOG("offered 0x%llx, expected 0x%llx",
			       (unsigned long long)f,
			       (unsigned long long)VHL_NET_FEATURES);
	} else {
		ASSERT_EQ(VHL_INTREE_NET_FEATURES, f & VHL_INTREE_NET_FEATURES);
	}
}

TEST_F(core, set_features)
{
	ASSERT_EQ(0, vhost_dev_set_features(&self->dev, self->offered &
					    VHL_NET_FEATURES));
	ASSERT_EQ(0, vhost_dev_set_features(&self->dev,
					    BIT64(VIRTIO_F_VERSION_1)));
	ASSERT_EQ(0, vhost_dev_set_features(&self->dev, 0));
}

TEST_F(core, set_features_unknown)
{
	__u64 bad = 0;
	int bit;

	/* Every bit the device does not offer must be refused alone... */
	for (bit = 0; bit < 64; bit++) {
		if (self->offered & BIT64(bit))
			continue;
		EXPECT_EQ(-EOPNOTSUPP,
			  vhost_dev_set_features(&self->dev, BIT64(bit)))
			TH_LOG("feature bit %d", bit);
		bad |= BIT64(bit);
	}
	/* ...and next to offered ones. */
	ASSERT_NE(0, bad);
	ASSERT_EQ(-EOPNOTSUPP, vhost_dev_set_features(&self->dev,
						      BIT64(VIRTIO_F_VERSION_1) |
						      BIT64(63)));
	if (self->lite) {
		/* Not offered yet by vhost-lite: IOTLB. */
		ASSERT_EQ(-EOPNOTSUPP,
			  vhost_dev_set_features(&self->dev,
						 BIT64(VIRTIO_F_ACCESS_PLATFORM)));
	}
}

TEST_F(core, backend_features)
{
	__u64 f = ~0ULL;
	int bit;

	ASSERT_EQ(0, vhost_dev_get_backend_features(&self->dev, &f));
	if (self->lite)
		ASSERT_EQ(VHL_NET_BACKEND_FEATURES, f);
	ASSERT_EQ(0, vhost_dev_set_backend_features(&self->dev, f));
	ASSERT_EQ(0, vhost_dev_set_backend_features(&self->dev, 0));
	for (bit = 0; bit < 64; bit++) {
		if (f & BIT64(bit))
			continue;
		EXPECT_EQ(-EOPNOTSUPP,
			  vhost_dev_set_backend_features(&self->dev,
							 BIT64(bit)))
			TH_LOG("backend feature bit %d", bit);
	}
}

static struct vhost_memory_region region(__u64 gpa, __u64 size,
					 const void *uaddr)
{
	struct vhost_memory_region r = {
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = gmem_uaddr(uaddr),
	};

	return r;
}

TEST_F(core, mem_table_good)
{
	struct gmem *m = &self->mem;
	struct vhost_memory_region r[2];

	ASSERT_EQ(0, vhost_dev_set_mem_gmem(&self->dev, m, 1));
	/* Replacing the table is allowed. */
	ASSERT_EQ(0, vhost_dev_set_mem_gmem(&self->dev, m, 4));
	/* Two regions with a gap in guest-physical space. */
	r[0] = region(m->gpa_base, m->size / 2, m->base);
	r[1] = region(m->gpa_base + m->size, m->size / 2,
		      m->base + m->size / 2);
	ASSERT_EQ(0, vhost_dev_set_mem_table(&self->dev, r, 2));
	/* An empty table is allowed too. */
	ASSERT_EQ(0, vhost_dev_set_mem_table(&self->dev, NULL, 0));
}

TEST_F(core, mem_table_bad_pointer)
{
	ASSERT_EQ(-EFAULT, vhost_dev_ioctl(&self->dev, VHOST_SET_MEM_TABLE,
					   NULL));
}

TEST_F(core, mem_table_overlap)
{
	struct gmem *m = &self->mem;
	struct vhost_memory_region r[2];

	r[0] = region(m->gpa_base, 2 * self->page, m->base);
	r[1] = region(m->gpa_base + self->page, 2 * self->page,
		      m->base + 4 * self->page);
	/* The in-tree module accepts overlapping regions. */
	ASSERT_EQ(vhl_want(self->lite, -EINVAL, 0),
		  vhost_dev_set_mem_table(&self->dev, r, 2));
	/* Same start, listed in the other order. */
	r[1] = region(m->gpa_base, self->page, m->base + 4 * self->page);
	ASSERT_EQ(vhl_want(self->lite, -EINVAL, 0),
		  vhost_dev_set_mem_table(&self->dev, r, 2));
}

TEST_F(core, mem_table_gpa_overflow)
{
	struct vhost_memory_region r;

	r = region(0xfffffffffffff000ULL, 2 * self->page, self->mem.base);
	ASSERT_EQ(vhl_want(self->lite, -EINVAL, -EFAULT),
		  vhost_dev_set_mem_table(&self->dev, &r, 1));
}

TEST_F(core, mem_table_size_zero)
{
	struct vhost_memory_region r;

	r = region(self->mem.gpa_base, 0, self->mem.base);
	ASSERT_EQ(vhl_want(self->lite, -EINVAL, -EFAULT),
		  vhost_dev_set_mem_table(&self->dev, &r, 1));
}

TEST_F(core, mem_table_unaligned)
{
	struct gmem *m = &self->mem;
	struct vhost_memory_region r;

	/* The in-tree module does not require alignment; vhost-lite does. */
	r = region(m->gpa_base, self->page, m->base + 8);
	EXPECT_EQ(vhl_want(self->lite, -EINVAL, 0),
		  vhost_dev_set_mem_table(&self->dev, &r, 1));
	r = region(m->gpa_base, self->page + 8, m->base);
	EXPECT_EQ(vhl_want(self->lite, -EINVAL, 0),
		  vhost_dev_set_mem_table(&self->dev, &r, 1));
}

TEST_F(core, mem_table_kernel_address)
{
	struct vhost_memory_region r;

	r = region(self->mem.gpa_base, self->page, NULL);
	r.userspace_addr = KERNEL_ADDR;
	/* The in-tree module checks only while a backend is attached. */
	ASSERT_EQ(vhl_want(self->lite, -EFAULT, 0),
		  vhost_dev_set_mem_table(&self->dev, &r, 1));
}

/* The device's max_mem_regions module parameter. */
static unsigned int mem_regions_limit(bool lite)
{
	const char *path = lite ?
		"/sys/module/vhost_lite/parameters/max_mem_regions" :
		"/sys/module/vhost/parameters/max_mem_regions";
	unsigned int n = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	if (fscanf(f, "%u", &n) != 1)
		n = 0;
	fclose(f);
	return n;
}

/* @n one-page regions with gaps between them in guest-physical space. */
static int set_n_regions(struct vhost_dev *d, struct gmem *m, size_t page,
			 unsigned int n)
{
	struct vhost_memory_region *r = calloc(n, sizeof(*r));
	unsigned int i;
	int ret;

	if (!r)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		r[i] = region(m->gpa_base + 2 * page * i, page,
			      m->base + (i % (m->size / page)) * page);
	ret = vhost_dev_set_mem_table(d, r, n);
	free(r);
	return ret;
}

TEST_F(core, mem_table_509_regions)
{
	/* What QEMU and rust-vmm use; the in-tree default limit is 64. */
	ASSERT_EQ(vhl_want(self->lite, 0, -E2BIG),
		  set_n_regions(&self->dev, &self->mem, self->page, 509));
}

TEST_F(core, mem_table_too_many_regions)
{
	struct vhost_memory mem = { .nregions = 1U << 20 };
	unsigned int limit = mem_regions_limit(self->lite);

	/* Refused before the kernel even reads the regions. */
	ASSERT_EQ(-E2BIG, vhost_dev_ioctl(&self->dev, VHOST_SET_MEM_TABLE,
					  &mem));
	mem.nregions = ~0U;
	ASSERT_EQ(-E2BIG, vhost_dev_ioctl(&self->dev, VHOST_SET_MEM_TABLE,
					  &mem));
	if (!limit || limit > 4096)
		SKIP(return, "max_mem_regions parameter unreadable or large");
	if (self->lite)
		ASSERT_LE(509, limit);
	ASSERT_EQ(0, set_n_regions(&self->dev, &self->mem, self->page, limit));
	ASSERT_EQ(-E2BIG, set_n_regions(&self->dev, &self->mem, self->page,
					limit + 1));
}

TEST_F(core, vring_num)
{
	ASSERT_EQ(0, vhost_dev_set_vring_num(&self->dev, 0, 256));
	ASSERT_EQ(0, vhost_dev_set_vring_num(&self->dev, 1, 1));
	ASSERT_EQ(0, vhost_dev_set_vring_num(&self->dev, 1, 32768));
	EXPECT_EQ(-EINVAL, vhost_dev_set_vring_num(&self->dev, 0, 0));
	EXPECT_EQ(-EINVAL, vhost_dev_set_vring_num(&self->dev, 0, 3));
	EXPECT_EQ(-EINVAL, vhost_dev_set_vring_num(&self->dev, 0, 257));
	EXPECT_EQ(-EINVAL, vhost_dev_set_vring_num(&self->dev, 0, 65536));
	EXPECT_EQ(-EINVAL, vhost_dev_set_vring_num(&self->dev, 0, 1U << 31));
}

TEST_F(core, vring_bad_index)
{
	struct vhost_vring_state s = { .index = NET_VQ_MAX, .num = 0 };
	struct vhost_vring_addr a = { .index = NET_VQ_MAX };
	struct vhost_vring_file f = { .index = NET_VQ_MAX, .fd = -1 };

	EXPECT_EQ(-ENOBUFS, vhost_dev_set_vring_num(&self->dev, NET_VQ_MAX,
						    256));
	EXPECT_EQ(-ENOBUFS, vhost_dev_set_vring_num(&self->dev, ~0U, 256));
	EXPECT_EQ(-ENOBUFS, vhost_dev_ioctl(&self->dev, VHOST_SET_VRING_BASE,
					    &s));
	EXPECT_EQ(-ENOBUFS, vhost_dev_ioctl(&self->dev, VHOST_GET_VRING_BASE,
					    &s));
	EXPECT_EQ(-ENOBUFS, vhost_dev_ioctl(&self->dev, VHOST_SET_VRING_ADDR,
					    &a));
	EXPECT_EQ(-ENOBUFS, vhost_dev_ioctl(&self->dev, VHOST_SET_VRING_KICK,
					    &f));
	EXPECT_EQ(-ENOBUFS, vhost_dev_ioctl(&self->dev, VHOST_SET_VRING_CALL,
					    &f));
	EXPECT_EQ(-ENOBUFS, vhost_dev_ioctl(&self->dev, VHOST_SET_VRING_ERR,
					    &f));
	EXPECT_EQ(-ENOBUFS, vhost_net_set_backend(&self->dev, NET_VQ_MAX, -1));
}

TEST_F(core, vring_base_roundtrip)
{
	unsigned int base = 0;

	ASSERT_EQ(0, vhost_dev_set_vring_base(&self->dev, 0, 1234));
	ASSERT_EQ(0, vhost_dev_set_vring_base(&self->dev, 1, 0xffff));
	ASSERT_EQ(0, vhost_dev_get_vring_base(&self->dev, 0, &base));
	ASSERT_EQ(1234, base);
	ASSERT_EQ(0, vhost_dev_get_vring_base(&self->dev, 1, &base));
	ASSERT_EQ(0xffff, base);
	ASSERT_EQ(-EINVAL, vhost_dev_set_vring_base(&self->dev, 0, 0x10000));
	ASSERT_EQ(0, vhost_dev_set_vring_base(&self->dev, 0, 0));
	ASSERT_EQ(0, vhost_dev_get_vring_base(&self->dev, 0, &base));
	ASSERT_EQ(0, base);
}

TEST_F(core, vring_addr)
{
	struct virtq vq;
	__u64 d, a, u;

	ASSERT_EQ(0, virtq_init(&vq, &self->mem, 0, 256, 0));
	ASSERT_EQ(0, vhost_dev_set_mem_gmem(&self->dev, &self->mem, 1));
	ASSERT_EQ(0, vhost_dev_set_vring_num(&self->dev, 0, 256));
	d = gmem_uaddr(vq.desc);
	a = gmem_uaddr(vq.avail);
	u = gmem_uaddr(vq.used);
	ASSERT_EQ(0, vhost_dev_set_vring_addr(&self->dev, 0, d, a, u, 0, 0));
	/* Minimal alignments of the virtio spec: 16, 2, 4. */
	EXPECT_EQ(-EINVAL, vhost_dev_set_vring_addr(&self->dev, 0, d, a + 1,
						    u, 0, 0));
	EXPECT_EQ(-EINVAL, vhost_dev_set_vring_addr(&self->dev, 0, d, a,
						    u + 2, 0, 0));
	/* The in-tree module does not check the descriptor table's. */
	EXPECT_EQ(vhl_want(self->lite, -EINVAL, 0),
		  vhost_dev_set_vring_addr(&self->dev, 0, d + 8, a, u, 0, 0));
	/* Unknown flags. */
	EXPECT_EQ(-EOPNOTSUPP, vhost_dev_set_vring_addr(&self->dev, 0, d, a, u,
							0x2, 0));
	/* A logged used ring whose guest address wraps. */
	EXPECT_EQ(-EINVAL, vhost_dev_set_vring_addr(&self->dev, 0, d, a, u,
						    1U << VHOST_VRING_F_LOG,
						    ~0ULL - 100));
	EXPECT_EQ(-EFAULT, vhost_dev_ioctl(&self->dev, VHOST_SET_VRING_ADDR,
					   NULL));
	virtq_destroy(&vq);
}

/*
 * Packed rings: SET_VRING_BASE carries positions and wrap counters
 * (QEMU's layout), SET_VRING_ADDR the packed sizes and alignments, and
 * the layout cannot change under a ring that is set up.
 */
TEST_F(core, packed_vring_base_and_addr)
{
	__u64 packed = BIT64(VIRTIO_F_VERSION_1) | BIT64(VIRTIO_F_RING_PACKED);
	unsigned int base = 0;
	struct virtq vq;
	__u64 d, a, u;

	if (!(self->offered & BIT64(VIRTIO_F_RING_PACKED)))
		SKIP(return, "no VIRTIO_F_RING_PACKED (in-tree vhost)");
	/* Packed rings are VIRTIO 1.x only. */
	EXPECT_EQ(-EINVAL, vhost_dev_set_features(&self->dev,
						  BIT64(VIRTIO_F_RING_PACKED)));
	ASSERT_EQ(0, vhost_dev_set_features(&self->dev, packed));
	ASSERT_EQ(0, vhost_dev_get_vring_base(&self->dev, 0, &base));
	/* A fresh ring: both positions 0, both wrap counters 1. */
	EXPECT_EQ(0x80008000U, base);
	ASSERT_EQ(0, vhost_dev_set_vring_num(&self->dev, 0, 256));
	ASSERT_EQ(0, vhost_dev_set_vring_base(&self->dev, 0, 0x000580ffU));
	ASSERT_EQ(0, vhost_dev_get_vring_base(&self->dev, 0, &base));
	EXPECT_EQ(0x000580ffU, base);
	ASSERT_EQ(0, vhost_dev_set_vring_base(&self->dev, 0, 0x80ff0003U));
	ASSERT_EQ(0, vhost_dev_get_vring_base(&self->dev, 0, &base));
	EXPECT_EQ(0x80ff0003U, base);
	/* Positions beyond the ring. */
	EXPECT_EQ(-EINVAL, vhost_dev_set_vring_base(&self->dev, 0, 256));
	EXPECT_EQ(-EINVAL, vhost_dev_set_vring_base(&self->dev, 0, 256U << 16));

	ASSERT_EQ(0, virtq_init(&vq, &self->mem, 0, 256, packed));
	ASSERT_EQ(0, vhost_dev_set_mem_gmem(&self->dev, &self->mem, 1));
	d = gmem_uaddr(vq.desc);
	a = gmem_uaddr(vq.avail);
	u = gmem_uaddr(vq.used);
	/* Event areas are 4-byte aligned, the descriptor ring 16. */
	EXPECT_EQ(-EINVAL, vhost_dev_set_vring_addr(&self->dev, 0, d, a + 2,
						    u, 0, 0));
	EXPECT_EQ(-EINVAL, vhost_dev_set_vring_addr(&self->dev, 0, d, a,
						    u + 2, 0, 0));
	EXPECT_EQ(-EINVAL, vhost_dev_set_vring_addr(&self->dev, 0, d + 8, a,
						    u, 0, 0));
	ASSERT_EQ(0, vhost_dev_setup_vq(&self->dev, &vq));
	/* The device asks for kicks in its event area from the start. */
	EXPECT_EQ(VRING_PACKED_EVENT_FLAG_ENABLE, virtq_device_event_flags(&vq));
	/* A set-up ring keeps its layout; the same layout may be set again. */
	EXPECT_EQ(-EBUSY, vhost_dev_set_features(&self->dev,
						 BIT64(VIRTIO_F_VERSION_1)));
	EXPECT_EQ(0, vhost_dev_set_features(&self->dev, packed));
	virtq_destroy(&vq);
}

TEST_F(core, vring_addr_not_in_mm)
{
	size_t len = 4 * self->page;
	__u8 *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u64 u;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, munmap(p, len));
	u = gmem_uaddr(p);
	ASSERT_EQ(0, vhost_dev_set_vring_num(&self->dev, 0, 64));
	/*
	 * The in-tree module checks ring addresses only once a backend is
	 * attached; vhost-lite refuses them up front.
	 */
	EXPECT_EQ(vhl_want(self->lite, -EFAULT, 0),
		  vhost_dev_set_vring_addr(&self->dev, 0, u, u + 1024,
					   u + 2048, 0, 0));
	EXPECT_EQ(vhl_want(self->lite, -EFAULT, 0),
		  vhost_dev_set_vring_addr(&self->dev, 0, KERNEL_ADDR,
					   KERNEL_ADDR + 1024,
					   KERNEL_ADDR + 2048, 0, 0));
}

static void check_vring_file(struct __test_metadata *_metadata,
			     struct vhost_dev *d, unsigned long req)
{
	struct vhost_vring_file f = { .index = 0 };
	int efd = eventfd(0, EFD_CLOEXEC), nfd = open("/dev/null", O_RDWR);

	ASSERT_LE(0, efd);
	ASSERT_LE(0, nfd);
	f.fd = efd;
	EXPECT_EQ(0, vhost_dev_ioctl(d, req, &f));
	/* Setting the same eventfd again, then unsetting it. */
	EXPECT_EQ(0, vhost_dev_ioctl(d, req, &f));
	f.fd = -1;
	EXPECT_EQ(0, vhost_dev_ioctl(d, req, &f));
	EXPECT_EQ(0, vhost_dev_ioctl(d, req, &f));
	/* Not an eventfd. */
	f.fd = nfd;
	EXPECT_EQ(-EINVAL, vhost_dev_ioctl(d, req, &f));
	/* Not a file descriptor at all. */
	f.fd = 1 << 20;
	EXPECT_EQ(-EBADF, vhost_dev_ioctl(d, req, &f));
	f.fd = -2;
	EXPECT_EQ(-EBADF, vhost_dev_ioctl(d, req, &f));
	/* The eventfd may be closed once set: the device holds it. */
	f.fd = efd;
	EXPECT_EQ(0, vhost_dev_ioctl(d, req, &f));
	close(efd);
	close(nfd);
	EXPECT_EQ(-EFAULT, vhost_dev_ioctl(d, req, NULL));
}

TEST_F(core, vring_kick)
{
	check_vring_file(_metadata, &self->dev, VHOST_SET_VRING_KICK);
}

TEST_F(core, vring_call)
{
	check_vring_file(_metadata, &self->dev, VHOST_SET_VRING_CALL);
}

TEST_F(core, vring_err)
{
	check_vring_file(_metadata, &self->dev, VHOST_SET_VRING_ERR);
}

TEST_F(core, unknown_ioctl)
{
	/* A valid index, so the request reaches the end of the dispatch. */
	__u64 arg[8] = { 0 };

	ASSERT_EQ(-ENOTTY, vhost_dev_ioctl(&self->dev,
					   _IOW(VHOST_VIRTIO, 0x7e, __u64),
					   arg));
	ASSERT_EQ(-ENOTTY, vhost_dev_ioctl(&self->dev, _IO(VHOST_VIRTIO, 0x7f),
					   arg));
	ASSERT_EQ(-ENOTTY, vhost_dev_ioctl(&self->dev, _IOW('x', 1, int),
					   arg));
}

TEST_F(core, reset_owner_resets_state)
{
	unsigned int base = 1;

	ASSERT_EQ(0, vhost_dev_set_features(&self->dev,
					    BIT64(VIRTIO_F_VERSION_1)));
	ASSERT_EQ(0, vhost_dev_set_mem_gmem(&self->dev, &self->mem, 1));
	ASSERT_EQ(0, vhost_dev_set_vring_base(&self->dev, 0, 77));
	ASSERT_EQ(0, vhost_dev_reset_owner(&self->dev));
	ASSERT_EQ(-EPERM, vhost_dev_get_vring_base(&self->dev, 0, &base));
	ASSERT_EQ(0, vhost_dev_set_owner(&self->dev));
	ASSERT_EQ(0, vhost_dev_get_vring_base(&self->dev, 0, &base));
	ASSERT_EQ(0, base);
}

static int non_owner_ioctls(void *arg, int *res, int max)
{
	struct vhost_dev *d = arg;
	struct vhost_memory mem = { .nregions = 0 };
	struct vhost_vring_state s = { .index = 0, .num = 256 };
	struct vhost_vring_addr a = { .index = 0 };
	struct vhost_vring_file f = { .index = 0, .fd = -1 };
	int n = 0;

	if (max < 11)
		return 0;
	res[n++] = vhost_dev_ioctl(d, VHOST_SET_MEM_TABLE, &mem);
	res[n++] = vhost_dev_ioctl(d, VHOST_SET_VRING_NUM, &s);
	res[n++] = vhost_dev_ioctl(d, VHOST_SET_VRING_BASE, &s);
	res[n++] = vhost_dev_ioctl(d, VHOST_GET_VRING_BASE, &s);
	res[n++] = vhost_dev_ioctl(d, VHOST_SET_VRING_ADDR, &a);
	res[n++] = vhost_dev_ioctl(d, VHOST_SET_VRING_KICK, &f);
	res[n++] = vhost_dev_ioctl(d, VHOST_SET_VRING_CALL, &f);
	res[n++] = vhost_dev_ioctl(d, VHOST_SET_VRING_ERR, &f);
	res[n++] = vhost_net_set_backend(d, 0, -1);
	res[n++] = vhost_dev_reset_owner(d);
	res[n++] = vhost_dev_set_owner(d);
	return n;
}

TEST_F(core, non_owner_process)
{
	static const char * const names[] = {
		"SET_MEM_TABLE", "SET_VRING_NUM", "SET_VRING_BASE",
		"GET_VRING_BASE", "SET_VRING_ADDR", "SET_VRING_KICK",
		"SET_VRING_CALL", "SET_VRING_ERR", "NET_SET_BACKEND",
		"RESET_OWNER",
	};
	int res[ARRAY_SIZE(names) + 1], n;
	unsigned int i;

	n = vhl_in_child(non_owner_ioctls, &self->dev, res, ARRAY_SIZE(res));
	ASSERT_EQ(ARRAY_SIZE(res), n);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		const char *name = names[i];

		EXPECT_EQ(-EPERM, res[i]) TH_LOG("%s from a child",
						 name ? name : "?");
	}
	EXPECT_EQ(-EBUSY, res[ARRAY_SIZE(names)])
		TH_LOG("SET_OWNER from a child");
	/* The parent still owns the device. */
	ASSERT_EQ(0, vhost_dev_set_vring_num(&self->dev, 0, 128));
}

TEST_F(core, fdinfo)
{
	char *text, comm[64] = "", want[128];
	size_t len;
	const char *v;
	FILE *f;

	if (!self->lite)
		SKIP(return, "the in-tree module prints no vhl- fdinfo lines");
	ASSERT_EQ(0, vhost_dev_set_features(&self->dev,
					    BIT64(VIRTIO_F_VERSION_1)));
	ASSERT_EQ(0, vhost_dev_set_mem_gmem(&self->dev, &self->mem, 2));
	ASSERT_EQ(0, vhost_dev_set_vring_num(&self->dev, 1, 512));
	text = fdinfo_read(0, self->dev.fd);
	ASSERT_NE(NULL, text);

	v = fdinfo_find(text, "vhl-kind", &len);
	ASSERT_NE(NULL, v);
	ASSERT_EQ(0, strncmp(v, "net", len));

	/* vhl-id: a number of its own for every open device. */
	v = fdinfo_find(text, "vhl-id", &len);
	ASSERT_NE(NULL, v);
	{
		unsigned long long id = strtoull(v, NULL, 10), id2;
		struct vhost_dev other = { .fd = -1 };
		char *text2;

		EXPECT_LT(0, id);
		ASSERT_EQ(0, vhl_open(&other));
		text2 = fdinfo_read(0, other.fd);
		vhost_dev_close(&other);
		ASSERT_NE(NULL, text2);
		v = fdinfo_find(text2, "vhl-id", &len);
		ASSERT_NE(NULL, v);
		id2 = strtoull(v, NULL, 10);
		free(text2);
		EXPECT_NE(id, id2);
	}

	f = fopen("/proc/self/comm", "re");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	snprintf(want, sizeof(want), "%d %s", getpid(), comm);
	v = fdinfo_find(text, "vhl-owner", &len);
	ASSERT_NE(NULL, v);
	EXPECT_EQ(strlen(want), len);
	EXPECT_EQ(0, strncmp(v, want, len)) TH_LOG("owner '%.*s' want '%s'",
						   (int)len, v, want);

	v = fdinfo_find(text, "vhl-features", &len);
	ASSERT_NE(NULL, v);
	EXPECT_EQ(BIT64(VIRTIO_F_VERSION_1), strtoull(v, NULL, 0));
	v = fdinfo_find(text, "vhl-backend-features", &len);
	ASSERT_NE(NULL, v);
	EXPECT_EQ(0, strtoull(v, NULL, 0));
	v = fdinfo_find(text, "vhl-mem-regions", &len);
	ASSERT_NE(NULL, v);
	EXPECT_EQ(2, strtoull(v, NULL, 0));
	v = fdinfo_find(text, "vhl-mem-bytes", &len);
	ASSERT_NE(NULL, v);
	EXPECT_EQ(self->mem.size, strtoull(v, NULL, 0));
	ASSERT_NE(NULL, fdinfo_find(text, "vhl-vq0", &len));
	v = fdinfo_find(text, "vhl-vq1", &len);
	ASSERT_NE(NULL, v);
	{
		unsigned long long num = 0;

		ASSERT_TRUE(fdinfo_kv(v, len, "num", &num));
		EXPECT_EQ(512, num);
	}
	EXPECT_EQ(NULL, fdinfo_find(text, "vhl-vq2", &len));
	free(text);
}

TEST_HARNESS_MAIN
