// SPDX-License-Identifier: GPL-2.0
/*
 * vhostctl bench: options, timing, latency percentiles, output, and the
 * memcpy reference.  The device kinds are in bench_net.c, bench_vsock.c
 * and bench_blk.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "vhostctl.h"

static unsigned int bench_rows;

static const char bench_csv_header[] =
	"kind,label,dev,case,queues,size,ops,bytes,secs,mpps,gbps,iops,mbps,p50_us,p99_us,features";

__u64 bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

void bench_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vhostctl bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void bench_clock_start(struct bench_clock *c, const struct bench_opts *o,
		       const char *name, const __u64 *ops)
{
	c->o = o;
	c->name = name;
	c->ops = ops;
	c->start = bench_now_ns();
	c->end = c->start + (__u64)(o->duration * 1e9);
	c->next_report = c->start + 1000000000ULL;
}

/* True until the case's duration is over; a progress line each second. */
bool bench_clock_running(struct bench_clock *c)
{
	__u64 now = bench_now_ns();

	if (now >= c->end)
		return false;
	if (now >= c->next_report) {
		c->next_report += 1000000000ULL;
		if (!c->o->quiet && c->o->duration > 2)
			fprintf(stderr, "bench: %s %s: %.0f/%.0f s, %llu ops\n",
				c->o->kind, c->name, (now - c->start) / 1e9,
				c->o->duration,
				c->ops ? (unsigned long long)*c->ops : 0ULL);
	}
	return true;
}

int bench_lat_init(struct bench_lat *l)
{
	memset(l, 0, sizeof(*l));
	l->rng = 0x9e3779b97f4a7c15ULL;
	l->ns = malloc(BENCH_LAT_MAX * sizeof(*l->ns));
	return l->ns ? 0 : -ENOMEM;
}

void bench_lat_add(struct bench_lat *l, __u64 ns)
{
	__u64 j;

	l->seen++;
	if (l->n < BENCH_LAT_MAX) {
		l->ns[l->n++] = ns;
		return;
	}
	/* Reservoir sampling: every sample kept with equal probability. */
	l->rng ^= l->rng << 13;
	l->rng ^= l->rng >> 7;
	l->rng ^= l->rng << 17;
	j = l->rng % l->seen;
	if (j < BENCH_LAT_MAX)
		l->ns[j] = ns;
}

void bench_lat_merge(struct bench_lat *dst, const struct bench_lat *src)
{
	size_t i;

	for (i = 0; i < src->n; i++)
		bench_lat_add(dst, src->ns[i]);
}

void bench_lat_free(struct bench_lat *l)
{
	free(l->ns);
	l->ns = NULL;
	l->n = 0;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static double lat_pct(const struct bench_lat *l, double p)
{
	size_t i;

	if (!l->n)
		return -1;
	i = (size_t)(p * (double)(l->n - 1) + 0.5);
	return l->ns[i] / 1000.0;
}

/* Is case @name selected by --case (a comma-separated list)? */
bool bench_want(const struct bench_opts *o, const char *name)
{
	size_t n = strlen(name);
	const char *p = o->cases;

	if (!p)
		return true;
	while (*p) {
		const char *e = strchrnul(p, ',');

		if ((size_t)(e - p) == n && !strncmp(p, name, n))
			return true;
		p = *e ? e + 1 : e;
	}
	return false;
}

static void emit_num(FILE *f, const char *key, double v, bool last)
{
	if (v < 0)
		fprintf(f, "\"%s\":null%s", key, last ? "" : ",");
	else
		fprintf(f, "\"%s\":%.9g%s", key, v, last ? "" : ",");
}

/**
 * bench_emit() - compute the percentiles and print one result
 * @o: options (output format)
 * @r: result; its latency samples are freed
 */
void bench_emit(const struct bench_opts *o, struct bench_result *r)
{
	double secs = r->secs > 0 ? r->secs : 1.0 / 1e9;
	double mpps = r->ops / secs / 1e6, gbps = r->bytes * 8.0 / secs / 1e9;
	double iops = r->ops / secs, mbps = r->bytes / secs / 1e6;

	if (r->lat.n) {
		qsort(r->lat.ns, r->lat.n, sizeof(*r->lat.ns), cmp_u64);
		r->p50_us = lat_pct(&r->lat, 0.50);
		r->p99_us = lat_pct(&r->lat, 0.99);
	} else {
		r->p50_us = -1;
		r->p99_us = -1;
	}
	bench_lat_free(&r->lat);

	if (o->json) {
		printf("%s\n  {\"kind\":", bench_rows ? "," : "");
		json_str(stdout, o->kind, strlen(o->kind));
		printf(",\"dev\":");
		json_str(stdout, o->dev, strlen(o->dev));
		printf(",\"label\":");
		json_str(stdout, o->label, strlen(o->label));
		printf(",\"case\":");
		json_str(stdout, r->name, strlen(r->name));
		printf(",\"queues\":%u,\"size\":%u,\"ops\":%llu,\"bytes\":%llu,",
		       r->queues, r->size, (unsigned long long)r->ops,
		       (unsigned long long)r->bytes);
		printf("\"features\":\"0x%llx\",",
		       (unsigned long long)r->features);
		emit_num(stdout, "secs", secs, false);
		emit_num(stdout, "mpps", mpps, false);
		emit_num(stdout, "gbps", gbps, false);
		emit_num(stdout, "iops", iops, false);
		emit_num(stdout, "mbps", mbps, false);
		emit_num(stdout, "p50_us", r->p50_us, false);
		emit_num(stdout, "p99_us", r->p99_us, true);
		printf("}");
	} else if (o->csv) {
		if (!bench_rows)
			puts(bench_csv_header);
		printf("%s,%s,%s,%s,%u,%u,%llu,%llu,%.3f,%.4f,%.4f,%.1f,%.2f,",
		       o->kind, o->label, o->dev, r->name, r->queues, r->size,
		       (unsigned long long)r->ops,
		       (unsigned long long)r->bytes, secs, mpps, gbps, iops,
		       mbps);
		if (r->p50_us >= 0)
			printf("%.2f,%.2f,", r->p50_us, r->p99_us);
		else
			printf(",,");
		printf("0x%llx\n", (unsigned long long)r->features);
	} else {
		if (!bench_rows)
			printf("%-6s %-18s %-18s %3s %6s %10s %8s %8s %9s %9s %9s %9s\n",
			       "kind", "device", "case", "q", "size", "ops",
			       "Mpps", "Gbit/s", "IOPS", "MB/s", "p50_us",
			       "p99_us");
		printf("%-6s %-18s %-18s %3u %6u %10llu %8.4f %8.3f %9.0f %9.1f ",
		       o->kind, o->label, r->name, r->queues, r->size,
		       (unsigned long long)r->ops, mpps, gbps, iops, mbps);
		if (r->p50_us >= 0)
			printf("%9.1f %9.1f\n", r->p50_us, r->p99_us);
		else
			printf("%9s %9s\n", "-", "-");
	}
	fflush(stdout);
	bench_rows++;
}

/* Single-core memcpy between two buffers larger than the caches. */
static int bench_memcpy(const struct bench_opts *o)
{
	size_t size = (size_t)(o->size_mb ? o->size_mb : 16) << 20;
	struct bench_result r = { .queues = 1 };
	struct bench_clock clk;
	__u64 ops = 0;
	__u8 *src, *dst;

	if (!bench_want(o, "memcpy"))
		return 0;
	src = malloc(size);
	dst = malloc(size);
	if (!src || !dst) {
		free(src);
		free(dst);
		return -ENOMEM;
	}
	memset(src, 0x5a, size);
	memset(dst, 0, size);
	snprintf(r.name, sizeof(r.name), "memcpy");
	r.size = (__u32)size;
	bench_clock_start(&clk, o, r.name, &ops);
	while (bench_clock_running(&clk)) {
		memcpy(dst, src, size);
		/* Keep the copy from being optimised away. */
		__asm__ __volatile__("" : : "r"(dst) : "memory");
		ops++;
	}
	r.secs = (bench_now_ns() - clk.start) / 1e9;
	r.ops = ops;
	r.bytes = ops * size;
	bench_emit(o, &r);
	free(src);
	free(dst);
	return 0;
}

static const char bench_usage_text[] =
	"usage: vhostctl bench net|vsock|blk|memcpy --dev PATH [options]\n"
	"\n"
	"Plays the guest driver (the selftests' tools/lib) against any vhost node,\n"
	"ours or in-tree, and reports throughput and p50/p99 latency per case.\n"
	"\n"
	"  --dev PATH        device node: /dev/vhost-net[-lite], /dev/vhost-vsock[-lite],\n"
	"                    /dev/vhost-blk-lite, or for blk a vhost-user-blk socket\n"
	"                    (e.g. qemu-storage-daemon's export)\n"
	"  --duration SEC    seconds per case (default 3; at most 3600)\n"
	"  --case LIST       comma-separated cases (default: all of the kind)\n"
	"  --queues N        net: run only N queue pairs (1 or 2; default both);\n"
	"                    blk, kernel device: drive N virtqueues (1 or 2,\n"
	"                    default 1), one thread each, each at the case's depth\n"
	"  --workers         blk, kernel device: every virtqueue but the first gets\n"
	"                    a worker of its own (VHOST_NEW_WORKER)\n"
	"  --busyloop-us N   net: the device busy-polls up to N us before it sleeps\n"
	"                    (VHOST_SET_VRING_BUSYLOOP_TIMEOUT on both queues)\n"
	"  --backing FILE    blk, kernel device: backing file (default a file in\n"
	"                    /dev/shm, created with --size-mb and removed after)\n"
	"  --size-mb N       blk: size of a created backing file (default 256);\n"
	"                    memcpy: buffer size (default 16)\n"
	"  --cid N           vsock: guest CID (default 3)\n"
	"  --port N          vsock: host port to listen on (default 5201)\n"
	"  --label NAME      device name in the output (default basename of --dev)\n"
	"  --json | --csv    machine-readable output on stdout\n"
	"  --quiet           no progress lines on stderr\n"
	"\n"
	"Cases:\n"
	"  net    tx-64 tx-1500 tx-64k-gso rx-64 rx-1500 rx-64k-gso (each with 1 and\n"
	"         2 queue pairs; a tap created by the bench, root needed; 64k is\n"
	"         a 65214-byte TCP GSO frame, 45 segments)\n"
	"  vsock  g2h-4k g2h-64k h2g-4k h2g-64k pingpong (g2h: driver to a host\n"
	"         AF_VSOCK socket, h2g: back; pingpong: 64-byte round trips)\n"
	"  blk    randread-4k-qd1 randwrite-4k-qd1 randread-4k-qd32\n"
	"         randwrite-4k-qd32 seqread-128k seqwrite-128k\n"
	"  memcpy one case: a single-core copy of --size-mb MB, the physical\n"
	"         reference\n"
	"\n"
	"Latency: net TX, blk: add to used; net RX: host send to driver receive;\n"
	"vsock pingpong: round trip.  Exit status: 0 ok, 1 error, 2 usage.\n";

static void bench_usage(FILE *f)
{
	fputs(bench_usage_text, f);
}

/**
 * cmd_bench() - vhostctl bench KIND --dev PATH [options]
 * @argc: arguments, argv[0] being "bench"
 * @argv: arguments
 *
 * Return: exit status.
 */
int cmd_bench(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "duration", required_argument, NULL, 't' },
		{ "case", required_argument, NULL, 'c' },
		{ "queues", required_argument, NULL, 'q' },
		{ "backing", required_argument, NULL, 'b' },
		{ "size-mb", required_argument, NULL, 's' },
		{ "cid", required_argument, NULL, 'C' },
		{ "port", required_argument, NULL, 'p' },
		{ "label", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "csv", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'Q' },
		{ "workers", no_argument, NULL, 'w' },
		{ "busyloop-us", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_opts o = {
		.duration = 3, .cid = 3, .port = 5201,
	};
	char *end;
	int opt, ret;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		bench_usage(stdout);
		return 0;
	}
	if (argc < 2 || argv[1][0] == '-') {
		bench_usage(stderr);
		return 2;
	}
	o.kind = argv[1];
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			o.dev = optarg;
			break;
		case 't':
			o.duration = strtod(optarg, &end);
			if (*end || !(o.duration > 0 && o.duration <= 3600)) {
				bench_err("--duration wants 0 < SEC <= 3600");
				return 2;
			}
			break;
		case 'c':
			o.cases = optarg;
			break;
		case 'q':
			o.queues = (unsigned int)strtoul(optarg, &end, 0);
			if (*end || o.queues < 1 || o.queues > 2) {
				bench_err("--queues wants 1 or 2");
				return 2;
			}
			break;
		case 'b':
			o.backing = optarg;
			break;
		case 's':
			o.size_mb = (unsigned int)strtoul(optarg, &end, 0);
			if (*end || !o.size_mb || o.size_mb > 65536) {
				bench_err("--size-mb wants 1..65536");
				return 2;
			}
			break;
		case 'C':
			o.cid = strtoull(optarg, &end, 0);
			if (*end || o.cid < 3 || o.cid > 0xffffffffULL) {
				bench_err("--cid wants 3..2^32-1");
				return 2;
			}
			break;
		case 'p':
			o.port = (__u32)strtoul(optarg, &end, 0);
			if (*end || !o.port) {
				bench_err("--port wants a port number");
				return 2;
			}
			break;
		case 'l':
			o.label = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'v':
			o.csv = true;
			break;
		case 'Q':
			o.quiet = true;
			break;
		case 'w':
			o.workers = true;
			break;
		case 'B':
			o.busyloop_us = (unsigned int)strtoul(optarg, &end, 0);
			if (*end || o.busyloop_us > 1000000) {
				bench_err("--busyloop-us wants 0..1000000");
				return 2;
			}
			break;
		case 'h':
			bench_usage(stdout);
			return 0;
		default:
			bench_usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (o.json && o.csv)) {
		bench_usage(stderr);
		return 2;
	}
	if (strcmp(o.kind, "memcpy") && !o.dev) {
		bench_err("%s needs --dev PATH", o.kind);
		return 2;
	}
	if (!o.dev)
		o.dev = o.kind;
	if (!o.label) {
		const char *s = strrchr(o.dev, '/');

		o.label = s ? s + 1 : o.dev;
	}

	/* A peer that goes away is an error return, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	if (o.json)
		printf("[");
	if (!strcmp(o.kind, "net")) {
		ret = bench_net(&o);
	} else if (!strcmp(o.kind, "vsock")) {
		ret = bench_vsock(&o);
	} else if (!strcmp(o.kind, "blk")) {
		ret = bench_blk(&o);
	} else if (!strcmp(o.kind, "memcpy")) {
		ret = bench_memcpy(&o);
	} else {
		bench_err("unknown kind '%s'", o.kind);
		return 2;
	}
	if (o.json)
		printf("\n]\n");
	if (!ret && !bench_rows) {
		bench_err("no case selected");
		return 2;
	}
	if (ret)
		bench_err("%s on %s: %s", o.kind, o.dev, strerror(-ret));
	return ret ? 1 : 0;
}
