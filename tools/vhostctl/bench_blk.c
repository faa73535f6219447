// SPDX-License-Identifier: GPL-2.0
/*
 * vhostctl bench blk: virtio-blk requests (tools/lib/blk_req.c) on one
 * virtqueue, either of a kernel device (/dev/vhost-blk-lite, a backing
 * file attached by the bench) or of a vhost-user-blk server such as
 * qemu-storage-daemon's export (--dev is then its unix socket; the bench
 * is the front end, with the message layer of vhost_user.c).  The driver
 * code and the measurement are the same for both: only the setup differs.
 * On the kernel device, --queues N drives N virtqueues, one thread each,
 * with the case's queue depth on every queue; --workers gives each queue
 * a worker of its own (VHOST_NEW_WORKER) instead of sharing worker 0.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#define BLK_NQ_MAX	2

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

/* The device, kernel or vhost-user, with @nq virtqueues (vhost-user: 1). */
struct blk_dev {
	bool vu;
	struct vhost_dev dev;
	int sock;
	int backing;
	char tmp[64];
	struct gmem mem;
	unsigned int nq;
	struct virtq vq[BLK_NQ_MAX];
	__u64 features;
	__u64 sectors;
	struct blk_req reqs[BLK_NQ_MAX][BLK_QD_MAX];
	__u8 *data;
};

/* Bytes of request data per queue: BLK_QD_MAX requests of up to 128 KiB. */
#define BLK_Q_DATA	((size_t)BLK_QD_MAX * (128 << 10))

static const __u64 blk_want = (1ULL << VIRTIO_F_VERSION_1) |
			      (1ULL << VIRTIO_RING_F_EVENT_IDX);

static int blk_kernel_up(struct blk_dev *b, const struct bench_opts *o)
{
	struct virtio_blk_config cfg;
	unsigned int q, worker = 0;
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
		if (b->nq > 1)
			b->features |= offered & (1ULL << VIRTIO_BLK_F_MQ);
		ret = vhost_dev_set_features(&b->dev, b->features);
	}
	if (!ret)
		ret = vhost_blk_get_config(&b->dev, &cfg);
	if (ret)
		return ret;
	b->sectors = le64toh(cfg.capacity);
	ret = vhost_dev_set_mem_gmem(&b->dev, &b->mem, 1);
	for (q = 0; !ret && q < b->nq; q++) {
		ret = vhost_dev_setup_vq(&b->dev, &b->vq[q]);
		/* Queue 0 keeps worker 0, every other queue gets its own. */
		if (!ret && q && o->workers)
			ret = vhost_dev_new_worker(&b->dev, &worker);
		if (!ret && q && o->workers)
			ret = vhost_dev_attach_vring_worker(&b->dev, q, worker);
	}
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
	ret = virtq_create_eventfds(&b->vq[0]);
	if (!ret)
		ret = vu_state(b->sock, VU_SET_VRING_NUM, 0, b->vq[0].num);
	if (!ret)
		ret = vu_state(b->sock, VU_SET_VRING_BASE, 0, 0);
	addr.desc = gmem_uaddr(b->vq[0].desc);
	addr.avail = gmem_uaddr(b->vq[0].avail);
	addr.used = gmem_uaddr(b->vq[0].used);
	if (!ret)
		ret = vu_call(b->sock, VU_SET_VRING_ADDR, &addr, sizeof(addr),
			      NULL, 0, NULL);
	if (!ret)
		ret = vu_call(b->sock, VU_SET_VRING_CALL, &idx, sizeof(idx),
			      &b->vq[0].call_fd, 1, NULL);
	if (!ret)
		ret = vu_call(b->sock, VU_SET_VRING_KICK, &idx, sizeof(idx),
			      &b->vq[0].kick_fd, 1, NULL);
	if (!ret && (b->features & (1ULL << VU_F_PROTOCOL_FEATURES)))
		ret = vu_state(b->sock, VU_SET_VRING_ENABLE, 0, 1);
	/* A request with a reply: everything before it was handled. */
	if (!ret)
		ret = vu_u64(b->sock, VU_GET_FEATURES, &offered);
	return ret;
}

static void blk_down(struct blk_dev *b)
{
	unsigned int q;

	vhost_dev_close(&b->dev);
	if (b->sock >= 0)
		close(b->sock);
	for (q = 0; q < BLK_NQ_MAX; q++)
		virtq_destroy(&b->vq[q]);
	gmem_destroy(&b->mem);
	if (b->backing >= 0)
		close(b->backing);
	if (b->tmp[0])
		unlink(b->tmp);
}

static int blk_up(struct blk_dev *b, const struct bench_opts *o)
{
	struct stat st;
	unsigned int i, q;
	int ret;

	memset(b, 0, sizeof(*b));
	b->dev.fd = -1;
	b->sock = -1;
	b->backing = -1;
	b->mem.memfd = -1;
	for (q = 0; q < BLK_NQ_MAX; q++) {
		b->vq[q].kick_fd = -1;
		b->vq[q].call_fd = -1;
		b->vq[q].err_fd = -1;
	}
	b->vu = !stat(o->dev, &st) && S_ISSOCK(st.st_mode);
	b->nq = o->queues ? o->queues : 1;
	if (b->vu && (b->nq > 1 || o->workers)) {
		bench_err("%s: --queues and --workers need a kernel device",
			  o->dev);
		return -EOPNOTSUPP;
	}

	ret = gmem_init(&b->mem, b->nq * BLK_Q_DATA + (2UL << 20),
			GMEM_GPA_BASE_DEFAULT);
	if (ret)
		return ret;
	/* Ring features are the same on both paths: known before set-up. */
	for (q = 0; q < b->nq; q++) {
		ret = virtq_init(&b->vq[q], &b->mem, q, BLK_RING, blk_want);
		if (ret)
			return ret;
	}
	b->data = gmem_alloc(&b->mem, b->nq * BLK_Q_DATA, 4096);
	if (!b->data)
		return -ENOMEM;
	for (q = 0; q < b->nq; q++) {
		for (i = 0; i < BLK_QD_MAX; i++) {
			ret = blk_req_alloc(&b->reqs[q][i], &b->mem);
			if (ret)
				return ret;
		}
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

/* One queue's driver: @qd requests in flight until the clock ends. */
struct blk_qrun {
	struct blk_dev *b;
	const struct blk_case *c;
	struct bench_clock *clk;
	__u64 *total;
	unsigned int q;
	__u64 ops;
	double secs;
	struct bench_lat lat;
	int err;
	pthread_t thread;
};

/* Queue 0 reports progress; the others only watch the clock's end. */
static bool blk_q_running(struct blk_qrun *qr)
{
	return qr->q ? bench_now_ns() < qr->clk->end :
		       bench_clock_running(qr->clk);
}

static int blk_q_drive(struct blk_qrun *qr)
{
	const struct blk_case *c = qr->c;
	struct blk_dev *b = qr->b;
	struct virtq *vq = &b->vq[qr->q];
	struct blk_req *reqs = b->reqs[qr->q];
	__u8 *data = b->data + qr->q * BLK_Q_DATA;
	__u64 t_add[BLK_QD_MAX], seq = 0, now;
	__u64 rng = 0x2545f4914f6cdd1dULL * (qr->q + 1);
	unsigned int i, inflight = 0;
	struct blk_req *q;
	bool running = true;
	int ret;

	/* Sequential cases: each queue walks its own part of the disk. */
	seq = qr->q * (b->sectors / (c->bs / 512) / b->nq);
	now = bench_now_ns();
	for (i = 0; i < c->qd; i++) {
		q = &reqs[i];
		blk_req_prep(q, c->type, blk_next_sector(b, c, &seq, &rng),
			     data + (size_t)i * (128 << 10), c->bs);
		t_add[i] = now;
		ret = blk_req_queue(vq, q);
		if (ret)
			return ret;
		inflight++;
	}
	virtq_kick(vq);
	while (inflight) {
		unsigned int done = 0;

		if (running && !blk_q_running(qr)) {
			running = false;
			qr->secs = (bench_now_ns() - qr->clk->start) / 1e9;
		}
		now = bench_now_ns();
		while ((q = blk_req_complete(vq))) {
			i = (unsigned int)(q - reqs);
			if (i >= c->qd || *q->status != VIRTIO_BLK_S_OK) {
				bench_err("%s: queue %u request %u status %u",
					  c->name, qr->q, i,
					  i < c->qd ? *q->status : 0xffU);
				return -EIO;
			}
			inflight--;
			done++;
			if (!running)
				continue;
			bench_lat_add(&qr->lat, now - t_add[i]);
			bench_add(&qr->ops, 1);
			bench_add(qr->total, 1);
			blk_req_prep(q, c->type, blk_next_sector(b, c, &seq, &rng),
				     q->data, c->bs);
			t_add[i] = now;
			ret = blk_req_queue(vq, q);
			if (ret)
				return ret;
			inflight++;
		}
		if (done) {
			virtq_kick(vq);
			continue;
		}
		if (!virtq_enable_cb(vq))
			continue;
		ret = virtq_wait_call(vq, BENCH_WAIT_MS);
		virtq_disable_cb(vq);
		if (ret < 0)
			return ret;
		if (!ret && !virtq_more_used(vq)) {
			bench_err("%s: queue %u: no completion in %d ms",
				  c->name, qr->q, BENCH_WAIT_MS);
			return -ETIMEDOUT;
		}
	}
	if (!qr->secs)
		qr->secs = (bench_now_ns() - qr->clk->start) / 1e9;
	return 0;
}

static void *blk_q_thread(void *arg)
{
	struct blk_qrun *qr = arg;

	qr->err = blk_q_drive(qr);
	return NULL;
}

static int blk_case_run(struct blk_dev *b, const struct bench_opts *o,
			const struct blk_case *c)
{
	struct bench_result r = { .queues = c->qd, .size = c->bs };
	struct blk_qrun qr[BLK_NQ_MAX] = { 0 };
	struct bench_clock clk;
	unsigned int q, started = 0;
	__u64 total = 0;	/* of every queue, for progress lines */
	int ret;

	ret = bench_lat_init(&r.lat);
	for (q = 0; !ret && q < b->nq; q++) {
		qr[q] = (struct blk_qrun){ .b = b, .c = c, .clk = &clk,
					   .total = &total, .q = q };
		ret = bench_lat_init(&qr[q].lat);
	}
	if (ret)
		goto out;
	if (b->nq > 1)
		snprintf(r.name, sizeof(r.name), "%s-%uq%s", c->name, b->nq,
			 o->workers ? "-workers" : "");
	else
		snprintf(r.name, sizeof(r.name), "%s", c->name);
	bench_clock_start(&clk, o, r.name, &total);
	if (b->nq == 1) {
		qr[0].err = blk_q_drive(&qr[0]);
		started = 1;
	}
	for (q = started; q < b->nq; q++) {
		ret = -pthread_create(&qr[q].thread, NULL, blk_q_thread, &qr[q]);
		if (ret)
			break;
		started++;
	}
	for (q = b->nq > 1 ? 0 : 1; q < started; q++)
		pthread_join(qr[q].thread, NULL);
	for (q = 0; !ret && q < b->nq; q++) {
		ret = qr[q].err;
		r.ops += qr[q].ops;
		if (qr[q].secs > r.secs)
			r.secs = qr[q].secs;
		bench_lat_merge(&r.lat, &qr[q].lat);
	}
	if (ret)
		goto out;
	r.bytes = r.ops * c->bs;
	r.features = b->features;
	bench_emit(o, &r);
out:
	for (q = 0; q < b->nq; q++)
		if (qr[q].lat.ns)
			bench_lat_free(&qr[q].lat);
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
