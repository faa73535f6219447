// SPDX-License-Identifier: GPL-2.0
/*
 * vhostctl bench blk: virtio-blk requests (tools/lib/blk_req.c) on one
 * virtqueue, either of a kernel device (/dev/vhost-blk-lite, a backing
 * file attached by the bench) or of a vhost-user-blk server such as
 * qemu-storage-daemon's export (--dev is then its unix socket; the bench
 * is the front end, with the message layer of vhost_user.c).  The driver
 * code and the measurement are the same for both: only the setup differs.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>

#include "bench.h"
#include "blk_req.h"
#include "vhost_dev.h"
#include "vhost_user.h"
#include "vhostctl.h"

#define BLK_RING	256
#define BLK_QD_MAX	32
#define BLK_SEQ_QD	8

struct blk_case {
	const char *name;
	__u32 type;
	__u32 bs;
	unsigned int qd;
	bool seq;
};

static const struct blk_case blk_cases[] = {
	{ "randread-4k-qd1", VIRTIO_BLK_T_IN, 4096, 1, false },
	{ "randwrite-4k-qd1", VIRTIO_BLK_T_OUT, 4096, 1, false },
	{ "randread-4k-qd32", VIRTIO_BLK_T_IN, 4096, 32, false },
	{ "randwrite-4k-qd32", VIRTIO_BLK_T_OUT, 4096, 32, false },
	{ "seqread-128k", VIRTIO_BLK_T_IN, 128 << 10, BLK_SEQ_QD, true },
	{ "seqwrite-128k", VIRTIO_BLK_T_OUT, 128 << 10, BLK_SEQ_QD, true },
};

/* The device, kernel or vhost-user, with one virtqueue. */
struct blk_dev {
	bool vu;
	struct vhost_dev dev;
	int sock;
	int backing;
	char tmp[64];
	struct gmem mem;
	struct virtq vq;
	__u64 features;
	__u64 sectors;
	struct blk_req reqs[BLK_QD_MAX];
	__u8 *data;
};

static const __u64 blk_want = (1ULL << VIRTIO_F_VERSION_1) |
			      (1ULL << VIRTIO_RING_F_EVENT_IDX);

static int blk_kernel_up(struct blk_dev *b, const struct bench_opts *o)
{
	struct virtio_blk_config cfg;
	__u64 offered = 0;
	int ret;

	if (o->backing) {
		b->backing = open(o->backing, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	} else {
		snprintf(b->tmp, sizeof(b->tmp), "/dev/shm/vhostctl-bench-%d.img",
			 (int)getpid());
		b->backing = open(b->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
				  0600);
	}
	if (b->backing < 0)
		return -errno;
	if (!o->backing || o->size_mb) {
		off_t size = (off_t)(o->size_mb ? o->size_mb : 256) << 20;

		/* Allocated, not a hole: reads hit real pages. */
		ret = posix_fallocate(b->backing, 0, size);
		if (ret)
			return -ret;
	}
	ret = vhost_dev_open(&b->dev, o->dev);
	if (!ret)
		ret = vhost_dev_set_owner(&b->dev);
	if (!ret)
		ret = vhost_blk_set_backend(&b->dev, b->backing, 0);
	if (!ret)
		ret = vhost_dev_get_features(&b->dev, &offered);
	if (!ret) {
		b->features = offered & blk_want;
		ret = vhost_dev_set_features(&b->dev, b->features);
	}
	if (!ret)
		ret = vhost_blk_get_config(&b->dev, &cfg);
	if (ret)
		return ret;
	b->sectors = le64toh(cfg.capacity);
	ret = vhost_dev_set_mem_gmem(&b->dev, &b->mem, 1);
	if (!ret)
		ret = vhost_dev_setup_vq(&b->dev, &b->vq);
	return ret;
}

static int vu_u64(int sock, __u32 req, __u64 *val)
{
	struct vu_msg reply;
	int ret = vu_call(sock, req, NULL, 0, NULL, 0, &reply);

	if (ret)
		return ret;
	vu_msg_close_fds(&reply);
	if (reply.hdr.size != sizeof(*val))
		return -EPROTO;
	*val = reply.u64;
	return 0;
}

static int vu_state(int sock, __u32 req, __u32 index, __u32 num)
{
	struct vu_vring_state st = { .index = index, .num = num };

	return vu_call(sock, req, &st, sizeof(st), NULL, 0, NULL);
}

/* The front end's setup of one ring, as QEMU's vhost-user-blk does it. */
static int blk_vu_up(struct blk_dev *b, const struct bench_opts *o)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vu_memory mem = { .nregions = 1 };
	struct vu_vring_addr addr = { 0 };
	struct vu_config cfg = { 0 };
	struct virtio_blk_config bcfg;
	struct vu_msg reply;
	__u64 offered = 0, proto = 0, idx = 0;
	int ret;

	if (strlen(o->dev) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, o->dev, strlen(o->dev) + 1);
	b->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (b->sock < 0)
		return -errno;
	if (connect(b->sock, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	if (b->mem.memfd < 0)
		return -EOPNOTSUPP;	/* nothing to share */
	ret = vu_u64(b->sock, VU_GET_FEATURES, &offered);
	if (ret)
		return ret;
	b->features = offered & blk_want;
	if (offered & (1ULL << VU_F_PROTOCOL_FEATURES)) {
		b->features |= 1ULL << VU_F_PROTOCOL_FEATURES;
		ret = vu_u64(b->sock, VU_GET_PROTOCOL_FEATURES, &proto);
		if (ret)
			return ret;
		proto &= 1ULL << VU_PROTOCOL_F_CONFIG;
		ret = vu_call(b->sock, VU_SET_PROTOCOL_FEATURES, &proto,
			      sizeof(proto), NULL, 0, NULL);
		if (ret)
			return ret;
	}
	ret = vu_call(b->sock, VU_SET_OWNER, NULL, 0, NULL, 0, NULL);
	if (!ret)
		ret = vu_call(b->sock, VU_SET_FEATURES, &b->features,
			      sizeof(b->features), NULL, 0, NULL);
	if (ret)
		return ret;
	if (!(proto & (1ULL << VU_PROTOCOL_F_CONFIG))) {
		bench_err("%s: no config space (VHOST_USER_PROTOCOL_F_CONFIG)",
			  o->dev);
		return -EOPNOTSUPP;
	}
	/* Only the capacity: servers refuse more than their config holds. */
	cfg.size = sizeof(bcfg.capacity);
	ret = vu_call(b->sock, VU_GET_CONFIG, &cfg,
		      VU_CONFIG_HDR_SIZE + cfg.size, NULL, 0, &reply);
	if (ret)
		return ret;
	vu_msg_close_fds(&reply);
	if (reply.hdr.size < VU_CONFIG_HDR_SIZE + cfg.size)
		return -EPROTO;
	memcpy(&bcfg.capacity, reply.config.region, cfg.size);
	b->sectors = le64toh(bcfg.capacity);

	mem.regions[0] = (struct vu_region){
		.gpa = b->mem.gpa_base, .size = b->mem.size,
		.uaddr = gmem_uaddr(b->mem.base), .mmap_offset = 0,
	};
	ret = vu_call(b->sock, VU_SET_MEM_TABLE, &mem,
		      offsetof(struct vu_memory, regions[1]), &b->mem.memfd, 1,
		      NULL);
	if (ret)
		return ret;
	ret = virtq_create_eventfds(&b->vq);
	if (!ret)
		ret = vu_state(b->sock, VU_SET_VRING_NUM, 0, b->vq.num);
	if (!ret)
		ret = vu_state(b->sock, VU_SET_VRING_BASE, 0, 0);
	addr.desc = gmem_uaddr(b->vq.desc);
	addr.avail = gmem_uaddr(b->vq.avail);
	addr.used = gmem_uaddr(b->vq.used);
	if (!ret)
		ret = vu_call(b->sock, VU_SET_VRING_ADDR, &addr, sizeof(addr),
			      NULL, 0, NULL);
	if (!ret)
		ret = vu_call(b->sock, VU_SET_VRING_CALL, &idx, sizeof(idx),
			      &b->vq.call_fd, 1, NULL);
	if (!ret)
		ret = vu_call(b->sock, VU_SET_VRING_KICK, &idx, sizeof(idx),
			      &b->vq.kick_fd, 1, NULL);
	if (!ret && (b->features & (1ULL << VU_F_PROTOCOL_FEATURES)))
		ret = vu_state(b->sock, VU_SET_VRING_ENABLE, 0, 1);
	/* A request with a reply: everything before it was handled. */
	if (!ret)
		ret = vu_u64(b->sock, VU_GET_FEATURES, &offered);
	return ret;
}

static void blk_down(struct blk_dev *b)
{
	vhost_dev_close(&b->dev);
	if (b->sock >= 0)
		close(b->sock);
	virtq_destroy(&b->vq);
	gmem_destroy(&b->mem);
	if (b->backing >= 0)
		close(b->backing);
	if (b->tmp[0])
		unlink(b->tmp);
}

static int blk_up(struct blk_dev *b, const struct bench_opts *o)
{
	struct stat st;
	size_t data = (size_t)BLK_QD_MAX * (128 << 10);
	unsigned int i;
	int ret;

	memset(b, 0, sizeof(*b));
	b->dev.fd = -1;
	b->sock = -1;
	b->backing = -1;
	b->mem.memfd = -1;
	b->vq.kick_fd = -1;
	b->vq.call_fd = -1;
	b->vq.err_fd = -1;
	b->vu = !stat(o->dev, &st) && S_ISSOCK(st.st_mode);

	ret = gmem_init(&b->mem, data + (2UL << 20), GMEM_GPA_BASE_DEFAULT);
	if (ret)
		return ret;
	/* Ring features are the same on both paths: known before set-up. */
	ret = virtq_init(&b->vq, &b->mem, 0, BLK_RING, blk_want);
	if (ret)
		return ret;
	b->data = gmem_alloc(&b->mem, data, 4096);
	if (!b->data)
		return -ENOMEM;
	for (i = 0; i < BLK_QD_MAX; i++) {
		ret = blk_req_alloc(&b->reqs[i], &b->mem);
		if (ret)
			return ret;
	}
	ret = b->vu ? blk_vu_up(b, o) : blk_kernel_up(b, o);
	if (ret)
		return ret;
	/* The ring was laid out for blk_want: the device must agree. */
	if ((b->features & blk_want) != blk_want) {
		bench_err("%s: no VERSION_1 or EVENT_IDX", o->dev);
		return -EOPNOTSUPP;
	}
	if (b->sectors < (256 << 10) / 512) {
		bench_err("%s: disk too small (%llu sectors)", o->dev,
			  (unsigned long long)b->sectors);
		return -ENOSPC;
	}
	return 0;
}

static __u64 blk_next_sector(struct blk_dev *b, const struct blk_case *c,
			     __u64 *seq, __u64 *rng)
{
	__u64 blocks = b->sectors / (c->bs / 512), n;

	if (c->seq) {
		n = (*seq)++ % blocks;
	} else {
		*rng ^= *rng << 13;
		*rng ^= *rng >> 7;
		*rng ^= *rng << 17;
		n = *rng % blocks;
	}
	return n * (c->bs / 512);
}

static int blk_case_run(struct blk_dev *b, const struct bench_opts *o,
			const struct blk_case *c)
{
	struct bench_result r = { .queues = c->qd, .size = c->bs };
	__u64 t_add[BLK_QD_MAX], seq = 0, rng = 0x2545f4914f6cdd1dULL, now;
	unsigned int i, inflight = 0;
	struct bench_clock clk;
	__u64 ops = 0;
	struct blk_req *q;
	bool running = true;
	int ret;

	ret = bench_lat_init(&r.lat);
	if (ret)
		return ret;
	snprintf(r.name, sizeof(r.name), "%s", c->name);
	bench_clock_start(&clk, o, r.name, &ops);
	now = bench_now_ns();
	for (i = 0; i < c->qd; i++) {
		q = &b->reqs[i];
		blk_req_prep(q, c->type, blk_next_sector(b, c, &seq, &rng),
			     b->data + (size_t)i * (128 << 10), c->bs);
		t_add[i] = now;
		ret = blk_req_queue(&b->vq, q);
		if (ret)
			goto out;
		inflight++;
	}
	virtq_kick(&b->vq);
	while (inflight) {
		unsigned int done = 0;

		if (running && !bench_clock_running(&clk)) {
			running = false;
			r.secs = (bench_now_ns() - clk.start) / 1e9;
		}
		now = bench_now_ns();
		while ((q = blk_req_complete(&b->vq))) {
			i = (unsigned int)(q - b->reqs);
			if (i >= c->qd || *q->status != VIRTIO_BLK_S_OK) {
				bench_err("%s: request %u status %u", c->name, i,
					  i < c->qd ? *q->status : 0xffU);
				ret = -EIO;
				goto out;
			}
			inflight--;
			done++;
			if (!running)
				continue;
			bench_lat_add(&r.lat, now - t_add[i]);
			ops++;
			blk_req_prep(q, c->type, blk_next_sector(b, c, &seq, &rng),
				     q->data, c->bs);
			t_add[i] = now;
			ret = blk_req_queue(&b->vq, q);
			if (ret)
				goto out;
			inflight++;
		}
		if (done) {
			virtq_kick(&b->vq);
			continue;
		}
		if (!virtq_enable_cb(&b->vq))
			continue;
		ret = virtq_wait_call(&b->vq, BENCH_WAIT_MS);
		virtq_disable_cb(&b->vq);
		if (ret < 0)
			goto out;
		if (!ret && !virtq_more_used(&b->vq)) {
			bench_err("%s: no completion in %d ms", c->name,
				  BENCH_WAIT_MS);
			ret = -ETIMEDOUT;
			goto out;
		}
	}
	if (!r.secs)
		r.secs = (bench_now_ns() - clk.start) / 1e9;
	r.ops = ops;
	r.bytes = ops * c->bs;
	r.features = b->features;
	bench_emit(o, &r);
	ret = 0;
out:
	bench_lat_free(&r.lat);
	return ret;
}

/**
 * bench_blk() - every selected blk case on o->dev
 * @o: options
 *
 * Return: 0 or the first negative errno.
 */
int bench_blk(const struct bench_opts *o)
{
	struct blk_dev *b = malloc(sizeof(*b));
	unsigned int i;
	int ret;

	if (!b)
		return -ENOMEM;
	ret = blk_up(b, o);
	for (i = 0; !ret && i < ARRAY_SIZE(blk_cases); i++) {
		if (!bench_want(o, blk_cases[i].name))
			continue;
		ret = blk_case_run(b, o, &blk_cases[i]);
		if (ret)
			bench_err("%s", blk_cases[i].name);
	}
	blk_down(b);
	free(b);
	return ret;
}
