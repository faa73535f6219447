/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhostctl bench: the guest-driver library as a load generator against any
 * vhost device node, one case at a time, with common timing, latency
 * percentiles and output (table, JSON, CSV).
 */
#ifndef VHOSTCTL_BENCH_H
#define VHOSTCTL_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* Latency samples kept per case; more are reservoir-sampled into them. */
#define BENCH_LAT_MAX		1048576U
/* Bound of every single wait inside a case. */
#define BENCH_WAIT_MS		5000

/**
 * struct bench_opts - command-line options of one `vhostctl bench` run
 * @kind: "net", "vsock", "blk" or "memcpy"
 * @dev: device node (or, for blk, a vhost-user unix socket)
 * @label: name of the device in the output (default: basename of @dev)
 * @cases: comma-separated case names to run, NULL for all
 * @duration: seconds per case
 * @queues: net: queue pairs to run (0: 1 and 2); blk: virtqueues (0: 1)
 * @workers: blk: a worker thread of its own for every virtqueue
 * @busyloop_us: net: VHOST_SET_VRING_BUSYLOOP_TIMEOUT on both queues
 * @backing: blk: backing file for a kernel device (created if missing)
 * @size_mb: blk: size of a created backing file; memcpy: buffer size
 * @cid: vsock: guest CID
 * @port: vsock: host port the bench listens on
 * @json: print JSON
 * @csv: print CSV
 * @quiet: no progress on stderr
 */
struct bench_opts {
	const char *kind;
	const char *dev;
	const char *label;
	const char *cases;
	double duration;
	unsigned int queues;
	bool workers;
	unsigned int busyloop_us;
	const char *backing;
	unsigned int size_mb;
	__u64 cid;
	__u32 port;
	bool json;
	bool csv;
	bool quiet;
};

/**
 * struct bench_lat - latency samples of one case
 * @ns: samples in nanoseconds
 * @n: samples held
 * @seen: samples offered (reservoir sampling beyond BENCH_LAT_MAX)
 * @rng: state of the sampling generator
 */
struct bench_lat {
	__u64 *ns;
	size_t n;
	__u64 seen;
	__u64 rng;
};

/**
 * struct bench_result - outcome of one case
 * @name: case name, e.g. "tx-64"
 * @queues: queue pairs (net), queue depth (blk), 1 otherwise
 * @size: bytes per operation
 * @ops: packets, requests or round trips completed
 * @bytes: payload bytes moved
 * @secs: measured seconds
 * @features: virtio features negotiated
 * @lat: latency samples, or none
 * @p50_us: median latency (negative: not measured)
 * @p99_us: 99th percentile latency (negative: not measured)
 */
struct bench_result {
	char name[32];
	unsigned int queues;
	__u32 size;
	__u64 ops;
	__u64 bytes;
	double secs;
	__u64 features;
	struct bench_lat lat;
	double p50_us;
	double p99_us;
};

/**
 * struct bench_clock - the measured interval of one case
 * @o: options
 * @name: case being run (for progress)
 * @start: start, ns
 * @end: planned end, ns
 * @next_report: when the next progress line is due, ns
 * @ops: what to show in progress lines (may be NULL; read by the thread
 *	that calls bench_clock_running())
 */
struct bench_clock {
	const struct bench_opts *o;
	const char *name;
	__u64 start;
	__u64 end;
	__u64 next_report;
	const __u64 *ops;
};

__u64 bench_now_ns(void);
void bench_clock_start(struct bench_clock *c, const struct bench_opts *o,
		       const char *name, const __u64 *ops);
bool bench_clock_running(struct bench_clock *c);

/* Counters and flags shared between threads. */
static inline __u64 bench_get(const __u64 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void bench_add(__u64 *p, __u64 v)
{
	__atomic_add_fetch(p, v, __ATOMIC_RELEASE);
}

static inline bool bench_stopped(const int *stop)
{
	return __atomic_load_n(stop, __ATOMIC_ACQUIRE);
}

static inline void bench_stop(int *stop)
{
	__atomic_store_n(stop, 1, __ATOMIC_RELEASE);
}

int bench_lat_init(struct bench_lat *l);
void bench_lat_add(struct bench_lat *l, __u64 ns);
void bench_lat_merge(struct bench_lat *dst, const struct bench_lat *src);
void bench_lat_free(struct bench_lat *l);

bool bench_want(const struct bench_opts *o, const char *name);
void bench_emit(const struct bench_opts *o, struct bench_result *r);
void bench_err(const char *fmt, ...);

int bench_net(const struct bench_opts *o);
int bench_vsock(const struct bench_opts *o);
int bench_blk(const struct bench_opts *o);

#endif /* VHOSTCTL_BENCH_H */
