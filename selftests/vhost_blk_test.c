// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of /dev/vhost-blk-lite (or $VHOST_BLK_DEV) driven by the
 * guest-driver library: every request type checked against the backing
 * file, read-only disks, out-of-range sectors, short buffers, malformed
 * chains, FLUSH ordering, many requests in flight, swapping the backend
 * under traffic, failing backends, and virtqueues on workers of their own
 * (VHOST_NEW_WORKER), moved while requests run.
 *
 * The backing store is a file on tmpfs ($TMPDIR, default /tmp), used as
 * is (buffered I/O) and opened with O_DIRECT where tmpfs allows it (6.6+),
 * a file on ext4 (on a loop device) opened with O_DIRECT (iomap direct
 * I/O), and a loop device opened with O_DIRECT (asynchronous direct I/O
 * completing in interrupt context).  Content is always checked through the
 * file, opened without O_DIRECT.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/loop.h>

#include "kselftest_harness.h"
#include "blk_req.h"
#include "dirty_log.h"
#include "fdinfo.h"
#include "vhl_test.h"

#define SECT		512
#define DISK_SECTORS	16384		/* 8 MiB */
#define DISK_BYTES	((off_t)DISK_SECTORS * SECT)
#define NQ		2
#define RING		256
#define MAX_QUEUES	16
#define SEG_MAX		254
#define MAX_DISCARD	4194304U
#define MAX_DSEG	32

enum backing { BACK_FILE, BACK_FILE_DIRECT, BACK_EXT4_DIRECT,
	       BACK_LOOP_DIRECT };

/* The backing store: a tmpfs file, maybe behind a loop device. */
struct disk {
	char path[160];
	char mnt[128];
	char img[128];
	char loop[32];
	int file_fd;	/* the tmpfs file, for checks */
	int fd;		/* what the device gets */
};

static __u8 pat(off_t off, unsigned int seed)
{
	return (__u8)((off / SECT) * 31 + off % SECT * 7 + seed);
}

static void fill(__u8 *p, off_t off, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = pat(off + i, seed);
}

/* Does the file hold the pattern @seed over [off, off + len)? */
static bool file_has(int fd, off_t off, size_t len, unsigned int seed)
{
	__u8 *buf = malloc(len), *want = malloc(len);
	bool ok;

	if (!buf || !want) {
		free(buf);
		free(want);
		return false;
	}
	fill(want, off, len, seed);
	ok = pread(fd, buf, len, off) == (ssize_t)len &&
	     !memcmp(buf, want, len);
	free(buf);
	free(want);
	return ok;
}

static bool file_zero(int fd, off_t off, size_t len)
{
	__u8 *buf = malloc(len);
	bool ok;
	size_t i;

	if (!buf)
		return false;
	ok = pread(fd, buf, len, off) == (ssize_t)len;
	for (i = 0; ok && i < len; i++)
		ok = !buf[i];
	free(buf);
	return ok;
}

static int run_cmd_out(const char *cmd, char *out, size_t size)
{
	FILE *f = popen(cmd, "r");
	int rc;

	if (!f)
		return -1;
	if (!fgets(out, (int)size, f))
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	rc = pclose(f);
	return rc;
}

static const char *tmpdir(void)
{
	const char *d = getenv("TMPDIR");

	return d && *d ? d : "/tmp";
}

/* An ext4 filesystem on a loop device over a tmpfs image, at d->mnt. */
static const char *ext4_mount(struct disk *d)
{
	char cmd[512];
	int fd;

	if (system("modprobe loop 2>/dev/null; modprobe ext4 2>/dev/null; "
		   "command -v mkfs.ext4 >/dev/null"))
		return "no mkfs.ext4";
	snprintf(d->img, sizeof(d->img), "%s/vhl-ext4-XXXXXX", tmpdir());
	fd = mkstemp(d->img);
	if (fd < 0) {
		d->img[0] = '\0';
		return "mkstemp failed";
	}
	if (ftruncate(fd, 4 * DISK_BYTES)) {
		close(fd);
		return "cannot size the ext4 image";
	}
	close(fd);
	snprintf(d->mnt, sizeof(d->mnt), "%s/vhl-mnt-XXXXXX", tmpdir());
	if (!mkdtemp(d->mnt)) {
		d->mnt[0] = '\0';
		return "mkdtemp failed";
	}
	snprintf(cmd, sizeof(cmd),
		 "mkfs.ext4 -q -F %s >/dev/null 2>&1 && mount -o loop %s %s",
		 d->img, d->img, d->mnt);
	if (system(cmd)) {
		rmdir(d->mnt);
		d->mnt[0] = '\0';
		return "cannot make and mount an ext4 image";
	}
	return NULL;
}

/* Create an 8 MiB file holding pattern 0; return 0, or a reason to skip. */
static const char *disk_create(struct disk *d, enum backing b)
{
	static char buf_why[128];
	const char *why;
	char cmd[256];
	size_t chunk = 1 << 20;
	__u8 *buf;
	off_t off;

	memset(d, 0, sizeof(*d));
	d->file_fd = -1;
	d->fd = -1;
	if (b == BACK_EXT4_DIRECT) {
		why = ext4_mount(d);
		if (why)
			return why;
	}
	snprintf(d->path, sizeof(d->path), "%s/vhl-blk-XXXXXX",
		 d->mnt[0] ? d->mnt : tmpdir());
	d->file_fd = mkstemp(d->path);
	if (d->file_fd < 0)
		return "mkstemp failed";
	buf = malloc(chunk);
	if (!buf)
		return "malloc failed";
	for (off = 0; off < DISK_BYTES; off += chunk) {
		fill(buf, off, chunk, 0);
		if (pwrite(d->file_fd, buf, chunk, off) != (ssize_t)chunk) {
			free(buf);
			return "cannot write the backing file";
		}
	}
	free(buf);

	switch (b) {
	case BACK_FILE:
		d->fd = open(d->path, O_RDWR | O_CLOEXEC);
		break;
	case BACK_FILE_DIRECT:
		d->fd = open(d->path, O_RDWR | O_CLOEXEC | O_DIRECT);
		if (d->fd < 0)
			return "O_DIRECT not supported on this tmpfs";
		break;
	case BACK_EXT4_DIRECT:
		d->fd = open(d->path, O_RDWR | O_CLOEXEC | O_DIRECT);
		break;
	case BACK_LOOP_DIRECT:
		if (system("modprobe loop 2>/dev/null; command -v losetup >/dev/null"))
			return "no losetup";
		snprintf(cmd, sizeof(cmd), "losetup -f --show %s", d->path);
		if (run_cmd_out(cmd, d->loop, sizeof(d->loop)) || !d->loop[0]) {
			d->loop[0] = '\0';
			return "losetup failed";
		}
		d->fd = open(d->loop, O_RDWR | O_CLOEXEC | O_DIRECT);
		if (d->fd < 0) {
			snprintf(buf_why, sizeof(buf_why), "open %s: %s",
				 d->loop, strerror(errno));
			return buf_why;
		}
		break;
	}
	return d->fd < 0 ? "cannot open the backing file" : NULL;
}

static void disk_destroy(struct disk *d)
{
	char cmd[128];

	if (d->fd >= 0)
		close(d->fd);
	if (d->loop[0]) {
		snprintf(cmd, sizeof(cmd), "losetup -d %s", d->loop);
		if (system(cmd))
			fprintf(stderr, "# %s failed\n", cmd);
	}
	if (d->file_fd >= 0)
		close(d->file_fd);
	if (d->path[0])
		unlink(d->path);
	if (d->mnt[0]) {
		if (umount(d->mnt))
			fprintf(stderr, "# umount %s: %s\n", d->mnt,
				strerror(errno));
		rmdir(d->mnt);
	}
	if (d->img[0])
		unlink(d->img);
	memset(d, 0, sizeof(*d));
	d->fd = -1;
	d->file_fd = -1;
}

FIXTURE(blk) {
	struct vhost_dev dev;
	struct gmem mem;
	struct virtq vq[NQ];
	struct disk disk;
	__u64 features;
	bool up;
};

FIXTURE_VARIANT(blk) {
	enum backing backing;
	bool packed;
};

FIXTURE_VARIANT_ADD(blk, file) {
	.backing = BACK_FILE,
};

FIXTURE_VARIANT_ADD(blk, file_direct) {
	.backing = BACK_FILE_DIRECT,
};

FIXTURE_VARIANT_ADD(blk, ext4_direct) {
	.backing = BACK_EXT4_DIRECT,
};

FIXTURE_VARIANT_ADD(blk, loop_direct) {
	.backing = BACK_LOOP_DIRECT,
};

/* Packed rings (VIRTIO_F_RING_PACKED); the others use split rings. */
FIXTURE_VARIANT_ADD(blk, file_direct_packed) {
	.backing = BACK_FILE_DIRECT,
	.packed = true,
};

FIXTURE_SETUP(blk)
{
	const char *why;
	__u64 offered;
	int i, ret;

	self->dev.fd = -1;
	self->disk.fd = -1;
	self->disk.file_fd = -1;
	for (i = 0; i < NQ; i++) {
		self->vq[i].kick_fd = -1;
		self->vq[i].call_fd = -1;
		self->vq[i].err_fd = -1;
	}
	ret = vhost_dev_open(&self->dev, vhost_blk_dev_path());
	if (ret == -ENOENT)
		SKIP(return, "%s does not exist (module not loaded?)",
		     vhost_blk_dev_path());
	ASSERT_EQ(0, ret);
	why = disk_create(&self->disk, variant->backing);
	if (why)
		SKIP(return, "%s", why);

	ASSERT_EQ(0, vhost_dev_set_owner(&self->dev));
	/* The backend first, as a vhost-user bridge does: GET_CONFIG. */
	ASSERT_EQ(0, vhost_blk_set_backend(&self->dev, self->disk.fd, 0));
	ASSERT_EQ(0, vhost_dev_get_features(&self->dev, &offered));
	/* Dirty logging only where a test sets up a bitmap. */
	self->features = offered & ~BIT64(VHOST_F_LOG_ALL);
	if (!variant->packed)
		self->features &= ~BIT64(VIRTIO_F_RING_PACKED);
	else if (!(offered & BIT64(VIRTIO_F_RING_PACKED)))
		SKIP(return, "no VIRTIO_F_RING_PACKED");
	ASSERT_EQ(0, vhost_dev_set_features(&self->dev, self->features));
	ASSERT_EQ(0, gmem_init(&self->mem, 32 << 20, GMEM_GPA_BASE_DEFAULT));
	ASSERT_EQ(0, vhost_dev_set_mem_gmem(&self->dev, &self->mem, 1));
	for (i = 0; i < NQ; i++) {
		ASSERT_EQ(0, virtq_init(&self->vq[i], &self->mem, i, RING,
					self->features));
		ASSERT_EQ(0, vhost_dev_setup_vq(&self->dev, &self->vq[i]));
	}
	self->up = true;
}

FIXTURE_TEARDOWN(blk)
{
	int i;

	/* Release the device before its memory and backend go away. */
	vhost_dev_close(&self->dev);
	for (i = 0; i < NQ; i++)
		virtq_destroy(&self->vq[i]);
	if (self->up)
		gmem_destroy(&self->mem);
	disk_destroy(&self->disk);
}

/* A request with a data buffer of @len bytes, all in the arena. */
static struct blk_req *new_req(struct gmem *m, __u32 type, __u64 sector,
			       __u32 len)
{
	struct blk_req *r = calloc(1, sizeof(*r));
	void *data = NULL;

	if (!r || blk_req_alloc(r, m)) {
		free(r);
		return NULL;
	}
	if (len) {
		data = gmem_alloc(m, len, 4096);
		if (!data) {
			free(r);
			return NULL;
		}
	}
	blk_req_prep(r, type, sector, data, len);
	return r;
}

/* Run one request on vq @q; return its status or a negative errno. */
static int run1(struct _test_data_blk *self, int q, struct blk_req *r)
{
	return blk_req_run(&self->vq[q], r, WAIT_MS);
}

static int do_rw(struct _test_data_blk *self, int q, __u32 type, __u64 sector,
		 __u32 len, unsigned int seed, bool check_read)
{
	struct blk_req *r = new_req(&self->mem, type, sector, len);
	int st;

	if (!r)
		return -ENOMEM;
	if (type == VIRTIO_BLK_T_OUT)
		fill(r->data, (off_t)sector * SECT, len, seed);
	st = run1(self, q, r);
	if (st == VIRTIO_BLK_S_OK && type == VIRTIO_BLK_T_IN && check_read) {
		__u8 *want = malloc(len);

		fill(want, (off_t)sector * SECT, len, seed);
		if (memcmp(want, r->data, len))
			st = -EBADMSG;
		if (r->used_len != len + 1)
			st = -EMSGSIZE;
		free(want);
	}
	free(r);
	return st;
}

/* Wait for @n completions on @vq, storing them in @done. */
static int collect(struct virtq *vq, struct blk_req **done, int n)
{
	int got = 0;

	while (got < n) {
		struct blk_req *r = blk_req_complete(vq);

		if (r) {
			done[got++] = r;
			continue;
		}
		if (virtq_wait_used(vq, WAIT_MS) <= 0)
			break;
	}
	return got;
}

static unsigned long long vq_stat(int fd, int q, const char *key)
{
	return fdinfo_stat(0, fd, "vhl-vq", q, key);
}

TEST_F(blk, config_and_features)
{
	struct virtio_blk_config c;
	__u64 f = self->features;

	ASSERT_EQ(0, vhost_blk_get_config(&self->dev, &c));
	EXPECT_EQ(DISK_SECTORS, le64toh(c.capacity));
	EXPECT_EQ(SEG_MAX, le32toh(c.seg_max));
	EXPECT_EQ(MAX_QUEUES, le16toh(c.num_queues));
	EXPECT_EQ(512, le32toh(c.blk_size));
	EXPECT_EQ(MAX_DISCARD, le32toh(c.max_discard_sectors));
	EXPECT_EQ(MAX_DSEG, le32toh(c.max_discard_seg));
	EXPECT_LE(1, le32toh(c.discard_sector_alignment));
	EXPECT_EQ(MAX_DISCARD, le32toh(c.max_write_zeroes_sectors));
	EXPECT_EQ(MAX_DSEG, le32toh(c.max_write_zeroes_seg));
	EXPECT_TRUE(f & BIT64(VIRTIO_BLK_F_FLUSH));
	EXPECT_TRUE(f & BIT64(VIRTIO_BLK_F_MQ));
	EXPECT_TRUE(f & BIT64(VIRTIO_BLK_F_SEG_MAX));
	EXPECT_TRUE(f & BIT64(VIRTIO_BLK_F_BLK_SIZE));
	EXPECT_TRUE(f & BIT64(VIRTIO_BLK_F_DISCARD));
	EXPECT_TRUE(f & BIT64(VIRTIO_BLK_F_WRITE_ZEROES));
	EXPECT_FALSE(f & BIT64(VIRTIO_BLK_F_RO));
	EXPECT_TRUE(f & BIT64(VIRTIO_F_VERSION_1));
}

TEST_F(blk, read_write)
{
	static const struct { __u64 sector; __u32 len; } io[] = {
		{ 0, 512 }, { 8, 4096 }, { 1, 1536 }, { 100, 65536 },
		{ DISK_SECTORS - 8, 4096 }, { 4000, 1 << 20 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(io); i++) {
		int q = i % NQ;

		/* The disk starts with pattern 0. */
		EXPECT_EQ(0, do_rw(self, q, VIRTIO_BLK_T_IN, io[i].sector,
				   io[i].len, 0, true)) TH_LOG("read %u", i);
		EXPECT_EQ(0, do_rw(self, q, VIRTIO_BLK_T_OUT, io[i].sector,
				   io[i].len, i + 1, false)) TH_LOG("write %u", i);
		EXPECT_TRUE(file_has(self->disk.file_fd,
				     (off_t)io[i].sector * SECT, io[i].len,
				     i + 1)) TH_LOG("file after write %u", i);
		EXPECT_EQ(0, do_rw(self, q, VIRTIO_BLK_T_IN, io[i].sector,
				   io[i].len, i + 1, true)) TH_LOG("reread %u", i);
	}
	/* Zero-length transfers are fine. */
	EXPECT_EQ(0, do_rw(self, 0, VIRTIO_BLK_T_IN, 0, 0, 0, false));
	/* vq 0 ran io 0, 2 and 4 three times each, and the empty read. */
	EXPECT_EQ(10ULL, vq_stat(self->dev.fd, 0, "packets"));
	EXPECT_EQ(3ULL * (512 + 1536 + 4096), vq_stat(self->dev.fd, 0, "bytes"));
}

/* VIRTIO_F_ANY_LAYOUT: header split, data split, status in a data buffer. */
TEST_F(blk, any_layout)
{
	struct virtio_blk_outhdr *hdr = gmem_alloc(&self->mem, 16, 16);
	__u8 *buf = gmem_alloc(&self->mem, 4096 + 1, 4096);
	__u8 *want = malloc(4096);
	struct virtq_sg out[2] = { { hdr, 6 }, { (__u8 *)hdr + 6, 10 } };
	struct virtq_sg in[3] = { { buf, 1000 }, { buf + 1000, 96 },
				  { buf + 1096, 4096 - 1096 + 1 } };
	struct virtq *vq = &self->vq[1];
	__u32 len;

	ASSERT_TRUE(hdr && buf && want);
	hdr->type = htole32(VIRTIO_BLK_T_IN);
	hdr->ioprio = 0;
	hdr->sector = htole64(24);
	buf[4096] = 0xff;
	ASSERT_EQ(0, virtq_add_buf(vq, out, 2, in, 3, buf));
	ASSERT_LE(0, virtq_kick(vq));
	ASSERT_EQ(1, virtq_wait_used(vq, WAIT_MS));
	ASSERT_EQ(buf, virtq_get_buf(vq, &len));
	EXPECT_EQ(4097, len);
	EXPECT_EQ(VIRTIO_BLK_S_OK, buf[4096]);
	fill(want, 24 * SECT, 4096, 0);
	EXPECT_EQ(0, memcmp(want, buf, 4096));
	free(want);
}

TEST_F(blk, get_id)
{
	static const char serial[] = "vhl-serial-0123456789";	/* 21 chars */
	struct blk_req *r;

	ASSERT_EQ(0, vhost_blk_set_serial(&self->dev, "disk-one"));
	r = new_req(&self->mem, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES);
	ASSERT_NE(NULL, r);
	memset(r->data, 0xaa, VIRTIO_BLK_ID_BYTES);
	ASSERT_EQ(VIRTIO_BLK_S_OK, run1(self, 0, r));
	EXPECT_EQ(VIRTIO_BLK_ID_BYTES + 1, r->used_len);
	EXPECT_EQ(0, memcmp(r->data, "disk-one\0\0\0\0\0\0\0\0\0\0\0\0",
			    VIRTIO_BLK_ID_BYTES));
	/* 20 bytes used: not terminated; a short buffer gets a prefix. */
	ASSERT_EQ(0, vhost_blk_set_serial(&self->dev, serial));
	blk_req_prep(r, VIRTIO_BLK_T_GET_ID, 0, r->data, VIRTIO_BLK_ID_BYTES);
	ASSERT_EQ(VIRTIO_BLK_S_OK, run1(self, 1, r));
	EXPECT_EQ(0, memcmp(r->data, serial, VIRTIO_BLK_ID_BYTES));
	blk_req_prep(r, VIRTIO_BLK_T_GET_ID, 0, r->data, 4);
	memset(r->data, 0, VIRTIO_BLK_ID_BYTES);
	ASSERT_EQ(VIRTIO_BLK_S_OK, run1(self, 1, r));
	EXPECT_EQ(5, r->used_len);
	EXPECT_EQ(0, memcmp(r->data, "vhl-\0", 5));
	free(r);
}

/*
 * Writes then a FLUSH in one kick: when the FLUSH completes, every write
 * queued before it has completed, and the file holds the data.
 */
TEST_F(blk, flush_ordering)
{
	enum { NW = 48 };
	struct blk_req *w[NW], *done[NW + 1], *fl;
	struct virtq *vq = &self->vq[0];
	int i, got, flush_at = -1;

	for (i = 0; i < NW; i++) {
		w[i] = new_req(&self->mem, VIRTIO_BLK_T_OUT, i * 64, 16384);
		ASSERT_NE(NULL, w[i]);
		fill(w[i]->data, (off_t)i * 64 * SECT, 16384, 77);
		ASSERT_EQ(0, blk_req_queue(vq, w[i]));
	}
	fl = new_req(&self->mem, VIRTIO_BLK_T_FLUSH, 0, 0);
	ASSERT_NE(NULL, fl);
	ASSERT_EQ(0, blk_req_queue(vq, fl));
	ASSERT_LE(0, virtq_kick(vq));
	got = collect(vq, done, NW + 1);
	ASSERT_EQ(NW + 1, got);
	for (i = 0; i < got; i++) {
		EXPECT_EQ(VIRTIO_BLK_S_OK, *done[i]->status);
		if (done[i] == fl)
			flush_at = i;
	}
	EXPECT_EQ(NW, flush_at);
	for (i = 0; i < NW; i++) {
		EXPECT_TRUE(file_has(self->disk.file_fd, (off_t)i * 64 * SECT,
				     16384, 77));
		free(w[i]);
	}
	free(fl);
}

TEST_F(blk, unsupported_types)
{
	static const __u32 types[] = { 2, 3, 5, 14, 99, 0x80000000u,
				       0x80000001u };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(types); i++) {
		struct blk_req *r = new_req(&self->mem, types[i], 0, 0);

		ASSERT_NE(NULL, r);
		EXPECT_EQ(VIRTIO_BLK_S_UNSUPP, run1(self, i % NQ, r))
			TH_LOG("type 0x%x", types[i]);
		EXPECT_EQ(1, r->used_len);
		free(r);
	}
}

TEST_F(blk, out_of_range)
{
	struct stat st;

	EXPECT_EQ(VIRTIO_BLK_S_IOERR,
		  do_rw(self, 0, VIRTIO_BLK_T_IN, DISK_SECTORS, 512, 0, false));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR,
		  do_rw(self, 0, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 1024, 0,
			false));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR,
		  do_rw(self, 1, VIRTIO_BLK_T_OUT, DISK_SECTORS, 512, 1,
			false));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR,
		  do_rw(self, 1, VIRTIO_BLK_T_OUT, ~0ULL >> 9, 4096, 1,
			false));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR,
		  do_rw(self, 1, VIRTIO_BLK_T_IN, ~0ULL, 512, 1, false));
	/* The last sector is fine. */
	EXPECT_EQ(0, do_rw(self, 0, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, 512,
			   0, true));
	ASSERT_EQ(0, fstat(self->disk.file_fd, &st));
	EXPECT_EQ(DISK_BYTES, st.st_size);
	EXPECT_EQ(3ULL, vq_stat(self->dev.fd, 0, "packets"));
	EXPECT_EQ(3ULL, vq_stat(self->dev.fd, 1, "packets"));
	EXPECT_EQ(2ULL, fdinfo_stat(0, self->dev.fd, "vhl-blk-vq", 0, "ioerr"));
	EXPECT_EQ(3ULL, fdinfo_stat(0, self->dev.fd, "vhl-blk-vq", 1, "ioerr"));
	EXPECT_EQ(0ULL, fdinfo_stat(0, self->dev.fd, "vhl-blk-vq", 1, "inflight"));
}

/* Malformed requests with a writable status byte: IOERR, queue goes on. */
TEST_F(blk, malformed)
{
	struct virtio_blk_outhdr *hdr = gmem_alloc(&self->mem, 16, 16);
	__u8 *buf = gmem_alloc(&self->mem, 8192, 4096);
	__u8 *st = gmem_alloc(&self->mem, 1, 1);
	struct virtq *vq = &self->vq[0];
	struct {
		const char *what;
		__u32 type;
		struct virtq_sg out[2];
		unsigned int nout;
		struct virtq_sg in[2];
		unsigned int nin;
	} c[] = {
		{ "short header", VIRTIO_BLK_T_IN, { { hdr, 8 } }, 1,
		  { { buf, 512 }, { st, 1 } }, 2 },
		{ "unaligned read", VIRTIO_BLK_T_IN, { { hdr, 16 } }, 1,
		  { { buf, 100 }, { st, 1 } }, 2 },
		{ "unaligned write", VIRTIO_BLK_T_OUT,
		  { { hdr, 16 }, { buf, 700 } }, 2, { { st, 1 } }, 1 },
		{ "read data readable", VIRTIO_BLK_T_IN,
		  { { hdr, 16 }, { buf, 512 } }, 2, { { st, 1 } }, 1 },
		{ "write data writable", VIRTIO_BLK_T_OUT, { { hdr, 16 } }, 1,
		  { { buf, 512 }, { st, 1 } }, 2 },
		{ "flush with data", VIRTIO_BLK_T_FLUSH,
		  { { hdr, 16 }, { buf, 512 } }, 2, { { st, 1 } }, 1 },
		{ "get_id readable data", VIRTIO_BLK_T_GET_ID,
		  { { hdr, 16 }, { buf, 20 } }, 2, { { st, 1 } }, 1 },
		{ "discard without ranges", VIRTIO_BLK_T_DISCARD,
		  { { hdr, 16 } }, 1, { { st, 1 } }, 1 },
		{ "discard partial range", VIRTIO_BLK_T_DISCARD,
		  { { hdr, 16 }, { buf, 20 } }, 2, { { st, 1 } }, 1 },
	};
	unsigned int i;
	__u32 len;

	ASSERT_TRUE(hdr && buf && st);
	memset(buf, 0, 8192);
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		hdr->type = htole32(c[i].type);
		hdr->ioprio = 0;
		hdr->sector = 0;
		*st = 0xff;
		ASSERT_EQ(0, virtq_add_buf(vq, c[i].out, c[i].nout, c[i].in,
					   c[i].nin, st));
		ASSERT_LE(0, virtq_kick(vq));
		ASSERT_EQ(1, virtq_wait_used(vq, WAIT_MS)) TH_LOG("%s", c[i].what);
		ASSERT_EQ(st, virtq_get_buf(vq, &len));
		EXPECT_EQ(VIRTIO_BLK_S_IOERR, *st) TH_LOG("%s", c[i].what);
	}
	/* Nothing was written, and the queue still works. */
	EXPECT_TRUE(file_has(self->disk.file_fd, 0, 8192, 0));
	EXPECT_EQ(0, do_rw(self, 0, VIRTIO_BLK_T_IN, 0, 4096, 0, true));
	EXPECT_EQ(ARRAY_SIZE(c) + 1, vq_stat(self->dev.fd, 0, "packets"));
}

/*
 * Chains the device cannot answer (no writable byte) or cannot map (a
 * length past guest memory) break that queue, signalled on the error
 * eventfd; the other queue goes on.
 */
TEST_F(blk, broken_chains)
{
	struct virtio_blk_outhdr *hdr = gmem_alloc(&self->mem, 16, 16);
	__u8 *buf = gmem_alloc(&self->mem, 4096, 4096);
	struct virtq_sg out[1] = { { hdr, 16 } };
	int q;

	if (variant->packed)
		SKIP(return, "raw split descriptors (packed: vhost_net_test)");

	ASSERT_TRUE(hdr && buf);
	hdr->type = htole32(VIRTIO_BLK_T_IN);
	hdr->sector = 0;
	hdr->ioprio = 0;
	for (q = 0; q < NQ; q++) {
		struct virtq *vq = &self->vq[q];

		if (q == 0) {
			ASSERT_EQ(0, virtq_add_buf(vq, out, 1, NULL, 0, hdr));
		} else {
			/* Only an empty writable descriptor: go raw. */
			virtq_raw_set_desc(vq, 0, virtq_gpa(vq, hdr), 16,
					   VRING_DESC_F_NEXT, 1);
			virtq_raw_set_desc(vq, 1, virtq_gpa(vq, buf), 0,
					   VRING_DESC_F_WRITE, 0);
			virtq_raw_publish(vq, 0);
		}
		ASSERT_LE(0, virtq_notify(vq));
		EXPECT_EQ(1, virtq_wait_err(vq, WAIT_MS)) TH_LOG("vq %d", q);
		EXPECT_EQ(0, virtq_wait_used(vq, QUIET_MS));
		EXPECT_EQ(1ULL, vq_stat(self->dev.fd, q, "broken"));
	}
}

TEST_F(blk, huge_length)
{
	struct virtio_blk_outhdr *hdr = gmem_alloc(&self->mem, 16, 16);
	__u8 *st = gmem_alloc(&self->mem, 1, 1);
	struct virtq *vq = &self->vq[1];
	__u16 head = 0;

	if (variant->packed)
		SKIP(return, "raw split descriptors (packed: vhost_net_test)");

	ASSERT_TRUE(hdr && st);
	hdr->type = htole32(VIRTIO_BLK_T_IN);
	hdr->sector = 0;
	hdr->ioprio = 0;
	*st = 0xff;
	/* header, 4 GiB - 512 of "data" from the status byte on, status. */
	virtq_raw_set_desc(vq, 0, virtq_gpa(vq, hdr), 16, VRING_DESC_F_NEXT, 1);
	virtq_raw_set_desc(vq, 1, virtq_gpa(vq, st), 0xfffffe00,
			   VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	virtq_raw_set_desc(vq, 2, virtq_gpa(vq, st), 1, VRING_DESC_F_WRITE, 0);
	virtq_raw_publish(vq, head);
	ASSERT_LE(0, virtq_notify(vq));
	/* Past the memory table: the chain cannot be mapped. */
	EXPECT_EQ(1, virtq_wait_err(vq, WAIT_MS));
	EXPECT_EQ(0, virtq_wait_used(vq, QUIET_MS));
	EXPECT_EQ(0xff, *st);
}

TEST_F(blk, discard)
{
	struct blk_req *r = new_req(&self->mem, VIRTIO_BLK_T_DISCARD, 0,
				    16 * (MAX_DSEG + 1));
	struct stat before, after;
	__u8 *p;
	int i;

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, fstat(self->disk.file_fd, &before));
	p = blk_discard_seg(r->data, 64, 64, 0);
	blk_discard_seg(p, 1024, 2048, 0);
	blk_req_prep(r, VIRTIO_BLK_T_DISCARD, 0, r->data, 32);
	ASSERT_EQ(VIRTIO_BLK_S_OK, run1(self, 0, r));
	EXPECT_TRUE(file_zero(self->disk.file_fd, 64 * SECT, 64 * SECT));
	EXPECT_TRUE(file_zero(self->disk.file_fd, 1024 * SECT, 2048 * SECT));
	EXPECT_TRUE(file_has(self->disk.file_fd, 128 * SECT, 896 * SECT, 0));
	ASSERT_EQ(0, fstat(self->disk.file_fd, &after));
	EXPECT_GT(before.st_blocks, after.st_blocks);

	/* The unmap flag is for WRITE_ZEROES only. */
	blk_discard_seg(r->data, 8, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	blk_req_prep(r, VIRTIO_BLK_T_DISCARD, 0, r->data, 16);
	EXPECT_EQ(VIRTIO_BLK_S_UNSUPP, run1(self, 1, r));
	/* Limits: segments, sectors, range. */
	for (p = r->data, i = 0; i < MAX_DSEG + 1; i++)
		p = blk_discard_seg(p, 8 * i, 8, 0);
	blk_req_prep(r, VIRTIO_BLK_T_DISCARD, 0, r->data, 16 * (MAX_DSEG + 1));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR, run1(self, 1, r));
	blk_req_prep(r, VIRTIO_BLK_T_DISCARD, 0, r->data, 16 * MAX_DSEG);
	EXPECT_EQ(VIRTIO_BLK_S_OK, run1(self, 1, r));
	blk_discard_seg(r->data, 0, MAX_DISCARD + 8, 0);
	blk_req_prep(r, VIRTIO_BLK_T_DISCARD, 0, r->data, 16);
	EXPECT_EQ(VIRTIO_BLK_S_IOERR, run1(self, 1, r));
	blk_discard_seg(r->data, DISK_SECTORS - 8, 16, 0);
	blk_req_prep(r, VIRTIO_BLK_T_DISCARD, 0, r->data, 16);
	EXPECT_EQ(VIRTIO_BLK_S_IOERR, run1(self, 1, r));
	EXPECT_TRUE(file_has(self->disk.file_fd, (DISK_SECTORS - 8) * SECT,
			     8 * SECT, 0));
	free(r);
}

TEST_F(blk, write_zeroes)
{
	struct blk_req *r = new_req(&self->mem, VIRTIO_BLK_T_WRITE_ZEROES, 0,
				    32);
	__u8 *p;

	ASSERT_NE(NULL, r);
	p = blk_discard_seg(r->data, 16, 8, 0);
	blk_discard_seg(p, 300, 100, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	blk_req_prep(r, VIRTIO_BLK_T_WRITE_ZEROES, 0, r->data, 32);
	ASSERT_EQ(VIRTIO_BLK_S_OK, run1(self, 0, r));
	EXPECT_TRUE(file_zero(self->disk.file_fd, 16 * SECT, 8 * SECT));
	EXPECT_TRUE(file_zero(self->disk.file_fd, 300 * SECT, 100 * SECT));
	EXPECT_TRUE(file_has(self->disk.file_fd, 24 * SECT, 276 * SECT, 0));
	EXPECT_TRUE(file_has(self->disk.file_fd, 400 * SECT, 8 * SECT, 0));
	/* Unknown flags, out of range. */
	blk_discard_seg(r->data, 16, 8, 2);
	blk_req_prep(r, VIRTIO_BLK_T_WRITE_ZEROES, 0, r->data, 16);
	EXPECT_EQ(VIRTIO_BLK_S_UNSUPP, run1(self, 1, r));
	blk_discard_seg(r->data, DISK_SECTORS, 1, 0);
	blk_req_prep(r, VIRTIO_BLK_T_WRITE_ZEROES, 0, r->data, 16);
	EXPECT_EQ(VIRTIO_BLK_S_IOERR, run1(self, 1, r));
	free(r);
}

/* 128 requests in flight at once across two queues, reads and writes. */
TEST_F(blk, many_inflight)
{
	enum { PER_Q = 64, LEN = 8192 };
	struct blk_req *r[NQ][PER_Q], *done[PER_Q];
	unsigned long long before[NQ];
	int q, i, got;

	for (q = 0; q < NQ; q++) {
		before[q] = vq_stat(self->dev.fd, q, "packets");
		for (i = 0; i < PER_Q; i++) {
			__u64 sector = (__u64)(q * PER_Q + i) * (LEN / SECT);
			bool wr = i % 2;

			r[q][i] = new_req(&self->mem, wr ? VIRTIO_BLK_T_OUT :
					  VIRTIO_BLK_T_IN, sector, LEN);
			ASSERT_NE(NULL, r[q][i]);
			if (wr)
				fill(r[q][i]->data, sector * SECT, LEN, 9);
			ASSERT_EQ(0, blk_req_queue(&self->vq[q], r[q][i]));
		}
	}
	for (q = 0; q < NQ; q++)
		ASSERT_LE(0, virtq_kick(&self->vq[q]));
	for (q = 0; q < NQ; q++) {
		got = collect(&self->vq[q], done, PER_Q);
		ASSERT_EQ(PER_Q, got) TH_LOG("vq %d", q);
		for (i = 0; i < PER_Q; i++) {
			struct blk_req *x = r[q][i];
			__u64 sector = (__u64)(q * PER_Q + i) * (LEN / SECT);

			EXPECT_EQ(VIRTIO_BLK_S_OK, *x->status);
			if (x->type == VIRTIO_BLK_T_OUT) {
				EXPECT_TRUE(file_has(self->disk.file_fd,
						     sector * SECT, LEN, 9));
			} else {
				__u8 want[LEN];

				fill(want, sector * SECT, LEN, 0);
				EXPECT_EQ(0, memcmp(want, x->data, LEN));
			}
			free(x);
		}
		EXPECT_EQ(before[q] + PER_Q,
			  vq_stat(self->dev.fd, q, "packets"));
	}
}

/*
 * Swap the backend while requests are in flight: every request completes,
 * each write lands on the old or the new file, and requests queued while
 * no backend is attached wait for the next one.
 */
TEST_F(blk, swap_backend_inflight)
{
	enum { N = 96, LEN = 4096 };
	struct blk_req *r[N], *done[N];
	struct disk d2;
	const char *why;
	int i, got, in_old = 0, in_new = 0;

	why = disk_create(&d2, BACK_FILE);
	ASSERT_EQ(NULL, why);
	for (i = 0; i < N; i++) {
		r[i] = new_req(&self->mem, VIRTIO_BLK_T_OUT, i * 8, LEN);
		ASSERT_NE(NULL, r[i]);
		fill(r[i]->data, (off_t)i * 8 * SECT, LEN, 5);
		ASSERT_EQ(0, blk_req_queue(&self->vq[i % NQ], r[i]));
	}
	for (i = 0; i < NQ; i++)
		ASSERT_LE(0, virtq_kick(&self->vq[i]));
	ASSERT_EQ(0, vhost_blk_set_backend(&self->dev, d2.fd, 0));
	got = collect(&self->vq[0], done, N / NQ);
	got += collect(&self->vq[1], done, N / NQ);
	ASSERT_EQ(N, got);
	for (i = 0; i < N; i++) {
		bool o = file_has(self->disk.file_fd, (off_t)i * 8 * SECT, LEN, 5);
		bool n = file_has(d2.file_fd, (off_t)i * 8 * SECT, LEN, 5);

		EXPECT_EQ(VIRTIO_BLK_S_OK, *r[i]->status);
		EXPECT_TRUE(o != n) TH_LOG("request %d: old %d new %d", i, o, n);
		in_old += o;
		in_new += n;
	}
	TH_LOG("%d writes on the old backend, %d on the new", in_old, in_new);

	/* Detached: requests wait; attached again: they complete. */
	ASSERT_EQ(0, vhost_blk_set_backend(&self->dev, -1, 0));
	blk_req_prep(r[0], VIRTIO_BLK_T_OUT, 0, r[0]->data, LEN);
	ASSERT_EQ(0, blk_req_queue(&self->vq[0], r[0]));
	ASSERT_LE(0, virtq_kick(&self->vq[0]));
	EXPECT_EQ(0, virtq_wait_used(&self->vq[0], QUIET_MS));
	EXPECT_EQ(-ENODEV, vhost_blk_get_config(&self->dev,
						&(struct virtio_blk_config){}));
	ASSERT_EQ(0, vhost_blk_set_backend(&self->dev, self->disk.fd, 0));
	ASSERT_EQ(1, collect(&self->vq[0], done, 1));
	EXPECT_EQ(VIRTIO_BLK_S_OK, *r[0]->status);
	for (i = 0; i < N; i++)
		free(r[i]);
	disk_destroy(&d2);
}

/* GET_VRING_BASE returns once every request taken is in the used ring. */
TEST_F(blk, get_vring_base_drains)
{
	enum { N = 64 };
	struct blk_req *r[N];
	struct virtq *vq = &self->vq[0];
	unsigned int base;
	int i;

	for (i = 0; i < N; i++) {
		r[i] = new_req(&self->mem, i % 2 ? VIRTIO_BLK_T_OUT :
			       VIRTIO_BLK_T_IN, i * 16, 8192);
		ASSERT_NE(NULL, r[i]);
		ASSERT_EQ(0, blk_req_queue(vq, r[i]));
	}
	ASSERT_LE(0, virtq_kick(vq));
	/* Let the device take some (bounded). */
	for (i = 0; i < WAIT_MS && !vq_stat(self->dev.fd, 0, "descs"); i++)
		usleep(1000);
	ASSERT_EQ(0, vhost_dev_get_vring_base(&self->dev, 0, &base));
	if (vq->packed) {
		/* Drained: the used position caught up with the avail one. */
		EXPECT_EQ(base & 0xffff, base >> 16);
		EXPECT_NE(0x80008000, base);
	} else {
		EXPECT_EQ(base, virtq_used_idx(vq));
		EXPECT_LT(0, base);
	}
	for (i = 0; i < N; i++)
		free(r[i]);
}

/*
 * More requests than a queue keeps in flight (256): the rest wait in the
 * ring until completions make room, then all complete.
 */
TEST_F(blk, over_inflight_limit)
{
	enum { N = 700, LEN = 4096, BIG_RING = 1024 };
	struct blk_req **r = calloc(N, sizeof(*r)), **done = calloc(N, sizeof(*r));
	struct virtq big = { .kick_fd = -1, .call_fd = -1, .err_fd = -1 };
	int i, got;

	ASSERT_TRUE(r && done);
	/* vq 1 again, with a ring larger than the in-flight limit. */
	ASSERT_EQ(0, virtq_init(&big, &self->mem, 1, BIG_RING, self->features));
	ASSERT_EQ(0, vhost_dev_setup_vq(&self->dev, &big));
	for (i = 0; i < N; i++) {
		__u64 sector = (__u64)(i % 2000) * (LEN / SECT);

		r[i] = new_req(&self->mem, i % 3 ? VIRTIO_BLK_T_IN :
			       VIRTIO_BLK_T_OUT, sector, LEN);
		ASSERT_NE(NULL, r[i]);
		if (r[i]->type == VIRTIO_BLK_T_OUT)
			fill(r[i]->data, sector * SECT, LEN, 0);
		ASSERT_EQ(0, blk_req_queue(&big, r[i]));
	}
	ASSERT_LE(0, virtq_kick(&big));
	got = collect(&big, done, N);
	EXPECT_EQ(N, got);
	for (i = 0; i < N; i++) {
		EXPECT_EQ(VIRTIO_BLK_S_OK, *r[i]->status) TH_LOG("request %d", i);
		free(r[i]);
	}
	EXPECT_EQ(0ULL, fdinfo_stat(0, self->dev.fd, "vhl-blk-vq", 1, "inflight"));
	/* Release the device before the ring goes. */
	vhost_dev_close(&self->dev);
	virtq_destroy(&big);
	free(r);
	free(done);
}

/*
 * Dirty logging (VHOST_F_LOG_ALL): the pages a read filled and the status
 * byte are marked before the request completes; the data of a write is
 * not (the device only read it).
 */
TEST_F(blk, dirty_log)
{
	struct virtq *vq = &self->vq[0];
	struct blk_req *rd, *wr, *id;
	struct dlog l = {};
	unsigned int i;

#define MARKED(p) dlog_test(&l, virtq_gpa(vq, p))

	ASSERT_EQ(0, dlog_init(&l, &self->mem));
	ASSERT_EQ(0, vhost_dev_set_log_base(&self->dev, l.bits));
	ASSERT_EQ(0, dlog_switch(&self->dev, self->features, vq, 1, true));
	rd = new_req(&self->mem, VIRTIO_BLK_T_IN, 8, 3 * DLOG_PAGE);
	wr = new_req(&self->mem, VIRTIO_BLK_T_OUT, 64, 2 * DLOG_PAGE);
	id = new_req(&self->mem, VIRTIO_BLK_T_GET_ID, 0, VIRTIO_BLK_ID_BYTES);
	ASSERT_TRUE(rd && wr && id);
	dlog_clear(&l);

	ASSERT_EQ(VIRTIO_BLK_S_OK, run1(self, 0, rd));
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(MARKED((__u8 *)rd->data + i * DLOG_PAGE))
			TH_LOG("page %u", i);
	EXPECT_TRUE(MARKED(rd->status));
	/* Packed rings write used entries into the descriptor ring. */
	EXPECT_TRUE(MARKED(vq->packed ? (void *)vq->pdesc : (void *)vq->used));
	ASSERT_EQ(VIRTIO_BLK_S_OK, run1(self, 0, wr));
	EXPECT_FALSE(MARKED(wr->data));
	EXPECT_FALSE(MARKED((__u8 *)wr->data + DLOG_PAGE));
	EXPECT_TRUE(MARKED(wr->status));
	ASSERT_EQ(VIRTIO_BLK_S_OK, run1(self, 0, id));
	EXPECT_TRUE(MARKED(id->data));
	/* 3 read pages, 3 status pages, 1 GET_ID page, the used ring. */
	EXPECT_GE(9U, dlog_count(&l));
#undef MARKED
	ASSERT_EQ(0, dlog_switch(&self->dev, self->features, vq, 1, false));
	ASSERT_EQ(0, vhost_dev_set_log_base(&self->dev, NULL));
	dlog_destroy(&l);
	free(rd);
	free(wr);
	free(id);
}

/* Closing the device with requests in flight neither hangs nor leaks. */
TEST_F(blk, close_inflight)
{
	enum { N = 128 };
	int i;

	for (i = 0; i < N; i++) {
		struct blk_req *r = new_req(&self->mem, i % 2 ?
					    VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
					    i * 32, 16384);

		ASSERT_NE(NULL, r);
		ASSERT_EQ(0, blk_req_queue(&self->vq[i % NQ], r));
		/* Freed with the arena; the token is all we keep. */
		free(r);
	}
	for (i = 0; i < NQ; i++)
		ASSERT_LE(0, virtq_kick(&self->vq[i]));
	vhost_dev_close(&self->dev);
	/* And RESET_OWNER on a fresh device with a backend works. */
	ASSERT_EQ(0, vhost_dev_open(&self->dev, vhost_blk_dev_path()));
	ASSERT_EQ(0, vhost_dev_set_owner(&self->dev));
	ASSERT_EQ(0, vhost_blk_set_backend(&self->dev, self->disk.fd, 0));
	ASSERT_EQ(0, vhost_dev_reset_owner(&self->dev));
	EXPECT_EQ(-EPERM, vhost_blk_set_backend(&self->dev, self->disk.fd, 0));
	ASSERT_EQ(0, vhost_dev_set_owner(&self->dev));
	EXPECT_EQ(-ENODEV, vhost_blk_get_config(&self->dev,
						&(struct virtio_blk_config){}));
}

TEST_F(blk, read_only)
{
	struct virtio_blk_config c;
	struct blk_req *r;
	__u64 f;
	int rofd;

	/* VHOST_BLK_LITE_F_RO on a writable fd. */
	ASSERT_EQ(0, vhost_blk_set_backend(&self->dev, self->disk.fd,
					   VHOST_BLK_LITE_F_RO));
	ASSERT_EQ(0, vhost_dev_get_features(&self->dev, &f));
	EXPECT_TRUE(f & BIT64(VIRTIO_BLK_F_RO));
	EXPECT_FALSE(f & BIT64(VIRTIO_BLK_F_DISCARD));
	EXPECT_FALSE(f & BIT64(VIRTIO_BLK_F_WRITE_ZEROES));
	ASSERT_EQ(0, vhost_blk_get_config(&self->dev, &c));
	EXPECT_EQ(0, c.max_discard_sectors);
	EXPECT_EQ(0, c.max_write_zeroes_sectors);
	EXPECT_EQ(VIRTIO_BLK_S_IOERR,
		  do_rw(self, 0, VIRTIO_BLK_T_OUT, 0, 4096, 3, false));
	EXPECT_EQ(0, do_rw(self, 0, VIRTIO_BLK_T_IN, 0, 4096, 0, true));
	r = new_req(&self->mem, VIRTIO_BLK_T_DISCARD, 0, 16);
	ASSERT_NE(NULL, r);
	blk_discard_seg(r->data, 0, 8, 0);
	EXPECT_EQ(VIRTIO_BLK_S_IOERR, run1(self, 1, r));
	blk_req_prep(r, VIRTIO_BLK_T_WRITE_ZEROES, 0, r->data, 16);
	EXPECT_EQ(VIRTIO_BLK_S_IOERR, run1(self, 1, r));
	blk_req_prep(r, VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
	EXPECT_EQ(VIRTIO_BLK_S_OK, run1(self, 1, r));
	EXPECT_TRUE(file_has(self->disk.file_fd, 0, 8192, 0));

	/* A read-only fd. */
	rofd = open(self->disk.loop[0] ? self->disk.loop : self->disk.path,
		    O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, rofd);
	ASSERT_EQ(0, vhost_blk_set_backend(&self->dev, rofd, 0));
	close(rofd);	/* the device holds its own reference */
	ASSERT_EQ(0, vhost_dev_get_features(&self->dev, &f));
	EXPECT_TRUE(f & BIT64(VIRTIO_BLK_F_RO));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR,
		  do_rw(self, 1, VIRTIO_BLK_T_OUT, 8, 512, 3, false));
	EXPECT_EQ(0, do_rw(self, 1, VIRTIO_BLK_T_IN, 8, 512, 0, true));
	EXPECT_TRUE(file_has(self->disk.file_fd, 0, 8192, 0));
	free(r);
}

/* ioctl argument checks, without the fixture. */
TEST(set_backend_errors)
{
	struct virtio_blk_config c;
	struct vhost_dev d;
	int p[2], ret;

	ret = vhost_dev_open(&d, vhost_blk_dev_path());
	if (ret == -ENOENT)
		SKIP(return, "%s does not exist", vhost_blk_dev_path());
	ASSERT_EQ(0, ret);
	EXPECT_EQ(-EPERM, vhost_blk_set_backend(&d, -1, 0));
	ASSERT_EQ(0, vhost_dev_set_owner(&d));
	EXPECT_EQ(-ENODEV, vhost_blk_get_config(&d, &c));
	EXPECT_EQ(0, vhost_blk_set_backend(&d, -1, 0));
	EXPECT_EQ(-EINVAL, vhost_blk_set_backend(&d, -1, 2));
	EXPECT_EQ(-EBADF, vhost_blk_set_backend(&d, 12345, 0));
	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(-EINVAL, vhost_blk_set_backend(&d, p[0], 0));
	close(p[0]);
	close(p[1]);
	EXPECT_EQ(-EOPNOTSUPP, vhost_dev_set_features(&d, BIT64(VIRTIO_BLK_F_SCSI)));
	vhost_dev_close(&d);
}

/* One queue on @fd: run @n writes and return how many failed, or < 0. */
static int failing_writes(struct __test_metadata *_metadata, int fd, int n,
			  __u32 len, int *reads_ok)
{
	struct vhost_dev d;
	struct gmem m;
	struct virtq vq;
	struct blk_req *r[64], *done[64];
	__u64 f;
	int i, got, fails = 0;

	if (n > 64)
		return -EINVAL;
	vq.kick_fd = -1;
	vq.call_fd = -1;
	vq.err_fd = -1;
	if (vhost_dev_open(&d, vhost_blk_dev_path()))
		return -ENOENT;
	EXPECT_EQ(0, vhost_dev_set_owner(&d));
	EXPECT_EQ(0, vhost_blk_set_backend(&d, fd, 0));
	EXPECT_EQ(0, vhost_dev_get_features(&d, &f));
	EXPECT_EQ(0, vhost_dev_set_features(&d, f));
	EXPECT_EQ(0, gmem_init(&m, 16 << 20, GMEM_GPA_BASE_DEFAULT));
	EXPECT_EQ(0, vhost_dev_set_mem_gmem(&d, &m, 1));
	EXPECT_EQ(0, virtq_init(&vq, &m, 0, RING, f));
	EXPECT_EQ(0, vhost_dev_setup_vq(&d, &vq));
	for (i = 0; i < n; i++) {
		r[i] = new_req(&m, VIRTIO_BLK_T_OUT, (__u64)i * (len / SECT),
			       len);
		if (!r[i])
			return -ENOMEM;
		memset(r[i]->data, 0x5a, len);
		EXPECT_EQ(0, blk_req_queue(&vq, r[i]));
	}
	EXPECT_LE(0, virtq_kick(&vq));
	got = collect(&vq, done, n);
	EXPECT_EQ(n, got);
	for (i = 0; i < got; i++) {
		EXPECT_NE(BLK_REQ_STATUS_NONE, *done[i]->status);
		fails += *done[i]->status == VIRTIO_BLK_S_IOERR;
	}
	/* The failures were per request: a read still gets an answer. */
	blk_req_prep(r[0], VIRTIO_BLK_T_IN, 0, r[0]->data, SECT);
	*reads_ok = blk_req_run(&vq, r[0], WAIT_MS) == VIRTIO_BLK_S_OK;
	blk_req_prep(r[1], VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
	EXPECT_LE(0, blk_req_run(&vq, r[1], WAIT_MS));
	for (i = 0; i < n; i++)
		free(r[i]);
	vhost_dev_close(&d);
	virtq_destroy(&vq);
	gmem_destroy(&m);
	return fails;
}

/* A file on a full filesystem: ENOSPC becomes IOERR for those writes. */
TEST(enospc_is_ioerr)
{
	char dir[128], path[160];
	int fd, fails, reads_ok = 0;

	if (access(vhost_blk_dev_path(), F_OK))
		SKIP(return, "%s does not exist", vhost_blk_dev_path());
	snprintf(dir, sizeof(dir), "%s/vhl-full-XXXXXX", tmpdir());
	ASSERT_NE(NULL, mkdtemp(dir));
	if (mount("vhl-full", dir, "tmpfs", 0, "size=256k")) {
		rmdir(dir);
		SKIP(return, "cannot mount a small tmpfs: %s", strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/disk", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 8 << 20));	/* sparse: room for 256k */
	fails = failing_writes(_metadata, fd, 32, 65536, &reads_ok);
	EXPECT_LT(0, fails);
	EXPECT_GT(32, fails);	/* the first writes fit */
	EXPECT_TRUE(reads_ok);
	close(fd);
	umount2(dir, MNT_DETACH);
	rmdir(dir);
}

/* A device-mapper error target: every I/O fails, the guest gets IOERR. */
TEST(dm_error_is_ioerr)
{
	char cmd[256], node[64];
	int fd, fails, reads_ok = 1;

	if (access(vhost_blk_dev_path(), F_OK))
		SKIP(return, "%s does not exist", vhost_blk_dev_path());
	if (system("modprobe dm_mod 2>/dev/null; command -v dmsetup >/dev/null"))
		SKIP(return, "no dmsetup");
	snprintf(node, sizeof(node), "vhl-err-%d", getpid());
	snprintf(cmd, sizeof(cmd),
		 "dmsetup create %s --table '0 8192 error' && dmsetup mknodes %s",
		 node, node);
	if (system(cmd))
		SKIP(return, "dmsetup create failed");
	snprintf(cmd, sizeof(cmd), "/dev/mapper/%s", node);
	fd = open(cmd, O_RDWR | O_CLOEXEC | O_DIRECT);
	EXPECT_LE(0, fd) TH_LOG("open %s: %s", cmd, strerror(errno));
	if (fd >= 0) {
		fails = failing_writes(_metadata, fd, 16, 4096, &reads_ok);
		EXPECT_EQ(16, fails);
		EXPECT_FALSE(reads_ok);
		close(fd);
	}
	snprintf(cmd, sizeof(cmd), "dmsetup remove %s", node);
	EXPECT_EQ(0, system(cmd));
}

TEST_HARNESS_MAIN

static unsigned long long worker_works(int fd, unsigned int id)
{
	return fdinfo_stat(0, fd, "vhl-worker", id, "works");
}

/* vq 1 on a worker of its own: its requests run there, vq 0's do not. */
TEST_F(blk, workers_traffic)
{
	unsigned long long w0, w1;
	unsigned int id = 0;
	int i;

	ASSERT_EQ(0, vhost_dev_new_worker(&self->dev, &id));
	ASSERT_EQ(0, vhost_dev_attach_vring_worker(&self->dev, 1, id));
	w0 = worker_works(self->dev.fd, 0);
	w1 = worker_works(self->dev.fd, id);
	ASSERT_NE(~0ULL, w0);
	ASSERT_NE(~0ULL, w1);
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, do_rw(self, 1, VIRTIO_BLK_T_OUT, i * 8, 4096,
				   i + 1, false));
		ASSERT_EQ(0, do_rw(self, 1, VIRTIO_BLK_T_IN, i * 8, 4096,
				   i + 1, true));
		EXPECT_TRUE(file_has(self->disk.file_fd, i * 8 * SECT, 4096,
				     i + 1));
	}
	EXPECT_EQ(w0, worker_works(self->dev.fd, 0));
	EXPECT_LT(w1, worker_works(self->dev.fd, id));

	w1 = worker_works(self->dev.fd, id);
	ASSERT_EQ(0, do_rw(self, 0, VIRTIO_BLK_T_OUT, 512, 8192, 77, false));
	ASSERT_EQ(0, do_rw(self, 0, VIRTIO_BLK_T_IN, 512, 8192, 77, true));
	EXPECT_LT(w0, worker_works(self->dev.fd, 0));
	EXPECT_EQ(w1, worker_works(self->dev.fd, id));
	EXPECT_EQ(1ULL, vq_stat(self->dev.fd, 1, "worker"));
}

struct mover_io {
	struct _test_data_blk *self;
	int errors;
	int finished;
};

/*
 * On vq 1: rounds of 16 requests in flight, writes of pattern
 * round / 2 + 1 over 64 KiB, then reads that check it.
 */
static void *workers_io(void *arg)
{
	enum { ROUNDS = 40, K = 16, LEN = 4096 };
	struct mover_io *io = arg;
	struct virtq *vq = &io->self->vq[1];
	struct blk_req *r[K], *done[K];
	__u8 want[LEN];
	int round, i;

	for (round = 0; round < ROUNDS && !io->errors; round++) {
		bool wr = round % 2 == 0;
		unsigned int seed = round / 2 + 1;

		for (i = 0; i < K; i++) {
			__u64 sector = (__u64)i * (LEN / SECT);

			r[i] = new_req(&io->self->mem, wr ? VIRTIO_BLK_T_OUT :
				       VIRTIO_BLK_T_IN, sector, LEN);
			if (!r[i] || blk_req_queue(vq, r[i])) {
				io->errors++;
				goto out;
			}
			if (wr)
				fill(r[i]->data, sector * SECT, LEN, seed);
		}
		if (virtq_kick(vq) < 0 || collect(vq, done, K) != K) {
			io->errors++;
			goto out;
		}
		for (i = 0; i < K; i++) {
			io->errors += *r[i]->status != VIRTIO_BLK_S_OK;
			if (!wr) {
				fill(want, (off_t)i * LEN, LEN, seed);
				io->errors += !!memcmp(want, r[i]->data, LEN);
			}
			free(r[i]);
		}
	}
out:
	__atomic_store_n(&io->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Move vq 1 between two workers, again and again, while its requests run. */
TEST_F(blk, workers_move_under_traffic)
{
	struct mover_io io = { .self = self };
	unsigned int id = 0, moves = 0;
	pthread_t t;
	int r = 0;

	ASSERT_EQ(0, vhost_dev_new_worker(&self->dev, &id));
	ASSERT_EQ(0, pthread_create(&t, NULL, workers_io, &io));
	while (!r && !__atomic_load_n(&io.finished, __ATOMIC_ACQUIRE)) {
		r = vhost_dev_attach_vring_worker(&self->dev, 1,
						  moves % 2 ? 0 : id);
		moves++;
	}
	pthread_join(t, NULL);
	EXPECT_EQ(0, r);
	EXPECT_EQ(0, io.errors);
	EXPECT_LT(0, moves);
	TH_LOG("%u moves during 640 requests", moves);
	/* The last round that wrote (38) left pattern 20. */
	EXPECT_TRUE(file_has(self->disk.file_fd, 0, 16 * 4096, 20));
	/* Both workers ran vq 1's work, and the device still works. */
	EXPECT_LT(0ULL, worker_works(self->dev.fd, id));
	EXPECT_EQ(0, do_rw(self, 1, VIRTIO_BLK_T_IN, 0, 4096, 20, true));
}
