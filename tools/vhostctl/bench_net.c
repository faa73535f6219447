// SPDX-License-Identifier: GPL-2.0
/*
 * vhostctl bench net: guest TX and RX through a tap on any vhost-net node.
 *
 * Each queue pair is one open of the device (as QEMU does it) on its own
 * queue of a tap, driven by its own thread.  TX: the driver keeps its ring
 * full of frames, the host stack drops them (they are for another MAC).
 * RX: a sender thread per queue pair writes frames into the tap through a
 * packet socket, with a bounded number in flight so nothing is dropped;
 * frames carry their send time, the receiving driver takes the latency.
 * The 64 KB cases are TCP/IPv4 GSO frames (65214 bytes, 45 segments of
 * 1448) with a virtio-net header
 * (gso_type TCPV4): the tap takes them whole both ways (TUNSETOFFLOAD).
 * The driver negotiates VERSION_1, MRG_RXBUF and EVENT_IDX, never
 * VHOST_NET_F_VIRTIO_NET_HDR: the tap handles the header, as with QEMU.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "bench.h"
#include "tap.h"
#include "vhost_dev.h"
#include "vhostctl.h"

#define NET_VQ_RX	0
#define NET_VQ_TX	1
#define NET_RING	256
#define NET_RXBUF	4096
#define NET_HDR		((__u32)sizeof(struct virtio_net_hdr_mrg_rxbuf))
#define NET_MAXQ	2
#define NET_GSO_MSS	1448
/*
 * The "64 KB" GSO frame: headers and 45 full segments, 65214 bytes.  A GSO
 * packet of 64 KiB or more would be segmented in software on its way into
 * the tap (it reaches the device's gso_max_size).
 */
#define NET_GSO_FRAME	(54 + 45 * NET_GSO_MSS)
/* Where a frame carries its send time (inside every frame size). */
#define NET_TS_OFF	54
/* Source ports per queue pair: spread over the tap queues by flow hash. */
#define NET_FLOWS	64

struct net_case {
	const char *name;
	bool tx;
	bool gso;
	__u32 size;
};

static const struct net_case net_cases[] = {
	{ "tx-64", true, false, 64 },
	{ "tx-1500", true, false, 1500 },
	{ "tx-64k-gso", true, true, NET_GSO_FRAME },
	{ "rx-64", false, false, 64 },
	{ "rx-1500", false, false, 1500 },
	{ "rx-64k-gso", false, true, NET_GSO_FRAME },
};

struct net_run;

/* One queue pair: a device open, a tap queue, a driver thread. */
struct net_q {
	struct net_run *run;
	unsigned int idx;
	struct vhost_dev dev;
	struct gmem mem;
	struct virtq vq[2];
	struct tap tap;
	int sock;
	__u8 *bufs;
	__u32 slot;
	__u64 *t_add;
	struct bench_lat lat;
	__u64 ops;
	__u64 bytes;
	int err;
	pthread_t drv;
	pthread_t snd;
	bool drv_running;
	bool snd_running;
};

struct net_run {
	const struct bench_opts *o;
	const struct net_case *c;
	unsigned int nq;
	__u64 features;
	int stop;
	__u64 sent;
	unsigned int window;
	struct net_q q[NET_MAXQ];
};

static void *slot_token(unsigned int i)
{
	return (void *)(uintptr_t)(i + 1);
}

static unsigned int token_slot(void *t)
{
	return (unsigned int)((uintptr_t)t - 1);
}

static __u16 ip_csum(const __u8 *p, size_t len)
{
	__u32 sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* An Ethernet + IPv4 + UDP (or TCP for GSO) frame of @len bytes. */
static void net_frame(__u8 *f, __u32 len, bool tcp, __u16 sport)
{
	static const __u8 macs[12] = { 0x02, 0, 0, 0, 0, 0x01,
				       0x02, 0, 0, 0, 0, 0x02 };
	__u8 *ip = f + 14, *l4 = f + 34;
	__u32 i;

	memcpy(f, macs, sizeof(macs));
	f[12] = 0x08;
	f[13] = 0x00;
	for (i = 14; i < len; i++)
		f[i] = (__u8)i;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (__u8)((len - 14) >> 8);
	ip[3] = (__u8)(len - 14);
	ip[6] = 0x40;		/* DF */
	ip[8] = 64;
	ip[9] = tcp ? 6 : 17;
	ip[12] = 10; ip[15] = 2;
	ip[16] = 10; ip[19] = 1;
	ip[10] = 0; ip[11] = 0;
	i = ip_csum(ip, 20);
	ip[10] = (__u8)(i >> 8);
	ip[11] = (__u8)i;
	l4[0] = (__u8)(sport >> 8);
	l4[1] = (__u8)sport;
	l4[2] = 0;
	l4[3] = 9;
	if (tcp) {
		memset(l4 + 4, 0, 16);
		l4[12] = 5 << 4;
		l4[13] = 0x10;	/* ACK */
		l4[14] = 0xff;
		l4[15] = 0xff;
	} else {
		l4[4] = (__u8)((len - 34) >> 8);
		l4[5] = (__u8)(len - 34);
		l4[6] = 0;
		l4[7] = 0;
	}
}

/* The virtio-net header of a frame: GSO TCPv4 with a partial checksum. */
static void net_hdr(struct virtio_net_hdr *h, bool gso)
{
	memset(h, 0, sizeof(*h));
	if (!gso)
		return;
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	h->hdr_len = htole16(54);
	h->gso_size = htole16(NET_GSO_MSS);
	h->csum_start = htole16(34);
	h->csum_offset = htole16(16);
}

static void net_q_init(struct net_q *q)
{
	unsigned int i;

	memset(q, 0, sizeof(*q));
	q->dev.fd = -1;
	q->tap.fd = -1;
	q->sock = -1;
	for (i = 0; i < 2; i++) {
		q->vq[i].kick_fd = -1;
		q->vq[i].call_fd = -1;
		q->vq[i].err_fd = -1;
	}
}

static void net_q_down(struct net_q *q)
{
	unsigned int i;

	/* The device first, before its memory goes away. */
	vhost_dev_close(&q->dev);
	for (i = 0; i < 2; i++)
		virtq_destroy(&q->vq[i]);
	if (q->sock >= 0)
		close(q->sock);
	tap_close(&q->tap);
	gmem_destroy(&q->mem);
	free(q->t_add);
	bench_lat_free(&q->lat);
}

static int net_q_up(struct net_run *run, struct net_q *q, const char *tapname)
{
	const struct net_case *c = run->c;
	int flags = IFF_VNET_HDR | (run->nq > 1 ? IFF_MULTI_QUEUE : 0);
	unsigned int off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;
	__u64 offered = 0, want;
	size_t arena;
	unsigned int i;
	int ret;

	q->run = run;
	ret = vhost_dev_open(&q->dev, run->o->dev);
	if (!ret)
		ret = vhost_dev_set_owner(&q->dev);
	if (!ret)
		ret = vhost_dev_get_features(&q->dev, &offered);
	if (ret)
		return ret;
	want = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_NET_F_MRG_RXBUF);
	if ((offered & want) != want) {
		bench_err("%s lacks VERSION_1 or MRG_RXBUF", run->o->dev);
		return -EOPNOTSUPP;
	}
	want |= offered & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	ret = vhost_dev_set_features(&q->dev, want);
	if (ret)
		return ret;
	run->features = want;

	q->slot = c->tx ? (NET_HDR + c->size + 63) & ~63U : NET_RXBUF;
	arena = (size_t)q->slot * NET_RING + (1UL << 20);
	ret = gmem_init(&q->mem, arena, GMEM_GPA_BASE_DEFAULT);
	if (!ret)
		ret = vhost_dev_set_mem_gmem(&q->dev, &q->mem, 1);
	for (i = 0; !ret && i < 2; i++) {
		ret = virtq_init(&q->vq[i], &q->mem, i, NET_RING, want);
		if (!ret)
			ret = vhost_dev_setup_vq(&q->dev, &q->vq[i]);
		if (!ret && run->o->busyloop_us)
			ret = vhost_dev_set_vring_busyloop(&q->dev, i,
							   run->o->busyloop_us);
	}
	if (ret)
		return ret;
	q->bufs = gmem_alloc(&q->mem, (size_t)q->slot * NET_RING, 64);
	q->t_add = calloc(NET_RING, sizeof(*q->t_add));
	if (!q->bufs || !q->t_add || bench_lat_init(&q->lat))
		return -ENOMEM;

	ret = tap_open(&q->tap, tapname, flags, (int)NET_HDR);
	if (ret)
		return ret;
	if (ioctl(q->tap.fd, TUNSETOFFLOAD, off) < 0)
		return -errno;
	for (i = 0; i < 2; i++) {
		ret = vhost_net_set_backend(&q->dev, i, q->tap.fd);
		if (ret)
			return ret;
	}
	return 0;
}

/* Driver TX: keep the ring full, take the used buffers back. */
static void net_tx(struct net_q *q)
{
	const struct net_case *c = q->run->c;
	struct virtq *vq = &q->vq[NET_VQ_TX];
	unsigned int freel[NET_RING], nfree = 0, i;
	__u32 len = NET_HDR + c->size;
	void *tok;
	__u64 now;
	int ret;

	for (i = 0; i < NET_RING; i++) {
		__u8 *p = q->bufs + (size_t)i * q->slot;

		net_hdr((struct virtio_net_hdr *)p, c->gso);
		net_frame(p + NET_HDR, c->size, c->gso,
			  (__u16)(1024 + q->idx * NET_FLOWS + i % NET_FLOWS));
		freel[nfree++] = NET_RING - 1 - i;
	}
	while (!bench_stopped(&q->run->stop)) {
		now = bench_now_ns();
		while (nfree && vq->num_free) {
			i = freel[--nfree];
			q->t_add[i] = now;
			ret = virtq_add_outbuf(vq, q->bufs + (size_t)i * q->slot,
					       len, slot_token(i));
			if (ret) {
				q->err = ret;
				return;
			}
		}
		ret = virtq_kick(vq);
		if (ret < 0) {
			q->err = ret;
			return;
		}
		now = bench_now_ns();
		ret = 0;
		while ((tok = virtq_get_buf(vq, &len))) {
			i = token_slot(tok);
			bench_lat_add(&q->lat, now - q->t_add[i]);
			freel[nfree++] = i;
			bench_add(&q->ops, 1);
			bench_add(&q->bytes, c->size);
			ret++;
		}
		len = NET_HDR + c->size;
		if (ret)
			continue;
		if (!virtq_enable_cb(vq))
			continue;
		ret = virtq_wait_call(vq, 100);
		virtq_disable_cb(vq);
		if (ret < 0) {
			q->err = ret;
			return;
		}
	}
}

/* Driver RX: every buffer posted; count packets, take the latency. */
static void net_rx(struct net_q *q)
{
	struct virtq *vq = &q->vq[NET_VQ_RX];
	unsigned int i, pending = 0;
	__u64 now, pkt = 0, ts;
	void *tok;
	__u32 len;
	int ret;

	for (i = 0; i < NET_RING; i++) {
		ret = virtq_add_inbuf(vq, q->bufs + (size_t)i * q->slot,
				      q->slot, slot_token(i));
		if (ret) {
			q->err = ret;
			return;
		}
	}
	virtq_kick(vq);
	while (!bench_stopped(&q->run->stop)) {
		now = bench_now_ns();
		ret = 0;
		while ((tok = virtq_get_buf(vq, &len))) {
			__u8 *b;

			i = token_slot(tok);
			b = q->bufs + (size_t)i * q->slot;
			if (!pending) {
				struct virtio_net_hdr_mrg_rxbuf *h = (void *)b;

				pending = le16toh(h->num_buffers);
				if (!pending)
					pending = 1;
				memcpy(&ts, b + NET_HDR + NET_TS_OFF, sizeof(ts));
				if (ts && ts <= now)
					bench_lat_add(&q->lat, now - ts);
				pkt = 0;
			}
			pkt += len;
			if (!--pending) {
				bench_add(&q->bytes, pkt - NET_HDR);
				bench_add(&q->ops, 1);
			}
			if (virtq_add_inbuf(vq, b, q->slot, tok)) {
				q->err = -EPROTO;
				return;
			}
			ret++;
		}
		if (ret) {
			virtq_kick(vq);
			continue;
		}
		if (!virtq_enable_cb(vq))
			continue;
		ret = virtq_wait_call(vq, 100);
		virtq_disable_cb(vq);
		if (ret < 0) {
			q->err = ret;
			return;
		}
	}
}

static void *net_drv_thread(void *arg)
{
	struct net_q *q = arg;

	if (q->run->c->tx)
		net_tx(q);
	else
		net_rx(q);
	return NULL;
}

static __u64 net_received(const struct net_run *run)
{
	__u64 n = 0;
	unsigned int i;

	for (i = 0; i < run->nq; i++)
		n += bench_get(&run->q[i].ops);
	return n;
}

/* Host sender of one queue pair: frames into the tap, bounded in flight. */
static void *net_snd_thread(void *arg)
{
	struct net_q *q = arg;
	struct net_run *run = q->run;
	const struct net_case *c = run->c;
	size_t hlen = c->gso ? sizeof(struct virtio_net_hdr) : 0;
	__u8 *frames[NET_FLOWS] = { NULL };
	__u64 stall = 0;
	unsigned int i, k = 0;
	int one = 1;

	if (c->gso && setsockopt(q->sock, SOL_PACKET, PACKET_VNET_HDR, &one,
				 sizeof(one))) {
		q->err = -errno;
		return NULL;
	}
	/* Straight to the tap's queue; not fatal where unsupported. */
	(void)setsockopt(q->sock, SOL_PACKET, PACKET_QDISC_BYPASS, &one,
			 sizeof(one));
	for (i = 0; i < NET_FLOWS; i++) {
		frames[i] = malloc(hlen + c->size);
		if (!frames[i]) {
			q->err = -ENOMEM;
			goto out;
		}
		if (hlen)
			net_hdr((struct virtio_net_hdr *)frames[i], true);
		net_frame(frames[i] + hlen, c->size, c->gso,
			  (__u16)(1024 + q->idx * NET_FLOWS + i));
	}
	while (!bench_stopped(&run->stop)) {
		__u64 now, inflight;
		ssize_t n;

		inflight = bench_get(&run->sent) -
			   net_received(run);
		if (inflight >= run->window) {
			now = bench_now_ns();
			if (!stall) {
				stall = now;
			} else if (now - stall > 20000000ULL) {
				/* Frames were lost: forget them. */
				__atomic_store_n(&run->sent, net_received(run),
						 __ATOMIC_RELEASE);
				stall = 0;
			}
			sched_yield();
			continue;
		}
		stall = 0;
		now = bench_now_ns();
		memcpy(frames[k] + hlen + NET_TS_OFF, &now, sizeof(now));
		n = tap_packet_send(q->sock, &q->tap, frames[k], hlen + c->size);
		if (n == -ENOBUFS || n == -EAGAIN) {
			sched_yield();
			continue;
		}
		if (n < 0) {
			q->err = (int)n;
			break;
		}
		bench_add(&run->sent, 1);
		k = (k + 1) % NET_FLOWS;
	}
out:
	for (i = 0; i < NET_FLOWS; i++)
		free(frames[i]);
	return NULL;
}

static int net_case_run(const struct bench_opts *o, const struct net_case *c,
			unsigned int nq)
{
	struct net_run *run;
	struct bench_result r = { .queues = nq, .size = c->size };
	struct bench_clock clk;
	__u64 ops = 0;
	unsigned int i;
	__u64 end_ops = 0, end_bytes = 0, t_end = 0;
	int ret = 0;

	run = calloc(1, sizeof(*run));
	if (!run)
		return -ENOMEM;
	run->o = o;
	run->c = c;
	run->nq = nq;
	run->window = (c->gso ? 8 : 128) * nq;
	for (i = 0; i < nq; i++)
		net_q_init(&run->q[i]);
	for (i = 0; !ret && i < nq; i++) {
		run->q[i].idx = i;
		ret = net_q_up(run, &run->q[i], i ? run->q[0].tap.name : NULL);
		if (!ret && !c->tx) {
			/* Protocol 0: this socket sends, it never receives. */
			run->q[i].sock = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC,
						0);
			if (run->q[i].sock < 0)
				ret = -errno;
		}
	}
	if (ret)
		goto out;
	for (i = 0; i < nq; i++) {
		ret = -pthread_create(&run->q[i].drv, NULL, net_drv_thread,
				      &run->q[i]);
		if (ret)
			goto stop;
		run->q[i].drv_running = true;
		if (c->tx)
			continue;
		ret = -pthread_create(&run->q[i].snd, NULL, net_snd_thread,
				      &run->q[i]);
		if (ret)
			goto stop;
		run->q[i].snd_running = true;
	}
	snprintf(r.name, sizeof(r.name), "%s", c->name);
	bench_clock_start(&clk, o, r.name, &ops);
	while (bench_clock_running(&clk)) {
		struct timespec ts = { 0, 50000000 };

		nanosleep(&ts, NULL);
		ops = net_received(run);
		for (i = 0; i < nq; i++)
			if (run->q[i].err)
				break;
		if (i < nq)
			break;
	}
	t_end = bench_now_ns();
	for (i = 0; i < nq; i++) {
		end_ops += bench_get(&run->q[i].ops);
		end_bytes += bench_get(&run->q[i].bytes);
	}
stop:
	bench_stop(&run->stop);
	for (i = 0; i < nq; i++) {
		if (run->q[i].drv_running)
			pthread_join(run->q[i].drv, NULL);
		if (run->q[i].snd_running)
			pthread_join(run->q[i].snd, NULL);
		if (!ret && run->q[i].err)
			ret = run->q[i].err;
	}
	if (ret)
		goto out;
	r.secs = (t_end - clk.start) / 1e9;
	r.ops = end_ops;
	r.bytes = end_bytes;
	r.features = run->features;
	ret = bench_lat_init(&r.lat);
	for (i = 0; !ret && i < nq; i++)
		bench_lat_merge(&r.lat, &run->q[i].lat);
	if (!ret)
		bench_emit(o, &r);
out:
	for (i = 0; i < nq; i++)
		net_q_down(&run->q[i]);
	free(run);
	return ret;
}

/**
 * bench_net() - every selected net case on o->dev
 * @o: options
 *
 * Return: 0 or the first negative errno.
 */
int bench_net(const struct bench_opts *o)
{
	unsigned int nq, i;
	int ret;

	/* A private network namespace keeps other traffic off the tap. */
	if (unshare(CLONE_NEWNET) && !o->quiet)
		bench_err("no private netns (%s), using the current one",
			  strerror(errno));
	for (nq = 1; nq <= NET_MAXQ; nq++) {
		if (o->queues && o->queues != nq)
			continue;
		for (i = 0; i < ARRAY_SIZE(net_cases); i++) {
			if (!bench_want(o, net_cases[i].name))
				continue;
			ret = net_case_run(o, &net_cases[i], nq);
			if (ret) {
				bench_err("%s, %u queue pairs", net_cases[i].name,
					  nq);
				return ret;
			}
		}
	}
	return 0;
}
