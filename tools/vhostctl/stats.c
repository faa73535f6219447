// SPDX-License-Identifier: GPL-2.0
/*
 * vhostctl stats: per-virtqueue rates of one device, computed from two
 * reads of its /proc/PID/fdinfo/FD counters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fdinfo.h"
#include "vhostctl.h"

#define STATS_USAGE "usage: vhostctl stats PID:FD [--watch SEC] [--count N] [--json]\n"

/* The fdinfo counters of a vhl-vqN line that stats reads, in this order. */
enum {
	C_KICKS, C_CALLS, C_DESCS, C_PACKETS, C_BYTES, C_ERRORS, C_WORKER_NS,
	NCOUNTERS
};

static const char *const counter_keys[NCOUNTERS] = {
	"kicks", "calls", "descs", "packets", "bytes", "errors", "worker_ns",
};

struct vq_sample {
	unsigned int index;
	unsigned long long broken;
	unsigned long long c[NCOUNTERS];
};

struct sample {
	struct timespec t;
	char kind[32];
	unsigned long long id;
	struct vq_sample *vqs;
	unsigned int nvqs;
};

static void sample_free(struct sample *s)
{
	free(s->vqs);
	s->vqs = NULL;
	s->nvqs = 0;
}

/* Read the device's counters now; 0 or a negative errno. */
static int sample_take(pid_t pid, int fd, struct sample *s)
{
	struct vhl_dev_info d;
	unsigned int i, k;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = vhl_dev_info_read(pid, fd, &d);
	clock_gettime(CLOCK_MONOTONIC, &s->t);
	if (ret)
		return ret;
	snprintf(s->kind, sizeof(s->kind), "%s", d.kind);
	s->id = d.id;
	s->vqs = calloc(d.nvqs ? d.nvqs : 1, sizeof(*s->vqs));
	if (!s->vqs) {
		vhl_dev_info_free(&d);
		return -ENOMEM;
	}
	s->nvqs = d.nvqs;
	for (i = 0; i < d.nvqs; i++) {
		struct vq_sample *v = &s->vqs[i];

		v->index = d.vqs[i].index;
		fdinfo_kv(d.vqs[i].kv, d.vqs[i].len, "broken", &v->broken);
		for (k = 0; k < NCOUNTERS; k++)
			fdinfo_kv(d.vqs[i].kv, d.vqs[i].len, counter_keys[k],
				  &v->c[k]);
	}
	vhl_dev_info_free(&d);
	return 0;
}

static const struct vq_sample *find_vq(const struct sample *s,
				       unsigned int index)
{
	unsigned int i;

	for (i = 0; i < s->nvqs; i++)
		if (s->vqs[i].index == index)
			return &s->vqs[i];
	return NULL;
}

/* Growth of counter @k of @cur since @prev (a reset counts from 0). */
static unsigned long long delta(const struct vq_sample *prev,
				const struct vq_sample *cur, int k)
{
	if (!prev || cur->c[k] < prev->c[k])
		return cur->c[k];
	return cur->c[k] - prev->c[k];
}

static void print_text(pid_t pid, int fd, const struct sample *prev,
		       const struct sample *cur, double secs)
{
	unsigned int i;

	printf("%d:%d %s id %llu, %.2f s\n", pid, fd, cur->kind, cur->id, secs);
	printf("%-4s %10s %10s %10s %10s %12s %6s %7s %6s\n", "VQ", "KICKS/s",
	       "CALLS/s", "DESCS/s", "PKTS/s", "BYTES/s", "ERRORS", "WORKER%",
	       "BROKEN");
	for (i = 0; i < cur->nvqs; i++) {
		const struct vq_sample *c = &cur->vqs[i];
		const struct vq_sample *p = find_vq(prev, c->index);

		printf("%-4u %10.1f %10.1f %10.1f %10.1f %12.1f %6llu %7.1f %6llu\n",
		       c->index, delta(p, c, C_KICKS) / secs,
		       delta(p, c, C_CALLS) / secs, delta(p, c, C_DESCS) / secs,
		       delta(p, c, C_PACKETS) / secs,
		       delta(p, c, C_BYTES) / secs, delta(p, c, C_ERRORS),
		       delta(p, c, C_WORKER_NS) / secs / 1e7, c->broken);
	}
}

/* One sample as one JSON object on one line (JSON Lines with --watch). */
static void print_json(pid_t pid, int fd, const struct sample *prev,
		       const struct sample *cur, double secs)
{
	unsigned int i;

	printf("{\"pid\":%d,\"fd\":%d,\"kind\":", pid, fd);
	json_str(stdout, cur->kind, strlen(cur->kind));
	printf(",\"id\":%llu,\"interval_s\":%.6f,\"vqs\":[", cur->id, secs);
	for (i = 0; i < cur->nvqs; i++) {
		const struct vq_sample *c = &cur->vqs[i];
		const struct vq_sample *p = find_vq(prev, c->index);

		printf("%s{\"index\":%u", i ? "," : "", c->index);
		printf(",\"kicks_per_s\":%.3f,\"calls_per_s\":%.3f",
		       delta(p, c, C_KICKS) / secs, delta(p, c, C_CALLS) / secs);
		printf(",\"descs_per_s\":%.3f,\"packets_per_s\":%.3f",
		       delta(p, c, C_DESCS) / secs,
		       delta(p, c, C_PACKETS) / secs);
		printf(",\"bytes_per_s\":%.3f,\"errors\":%llu",
		       delta(p, c, C_BYTES) / secs, delta(p, c, C_ERRORS));
		printf(",\"worker_pct\":%.3f,\"broken\":%llu",
		       delta(p, c, C_WORKER_NS) / secs / 1e7, c->broken);
		printf(",\"kicks\":%llu,\"calls\":%llu,\"descs\":%llu",
		       c->c[C_KICKS], c->c[C_CALLS], c->c[C_DESCS]);
		printf(",\"packets\":%llu,\"bytes\":%llu,\"errors_total\":%llu}",
		       c->c[C_PACKETS], c->c[C_BYTES], c->c[C_ERRORS]);
	}
	printf("]}\n");
}

static void sleep_secs(double secs)
{
	struct timespec ts = {
		.tv_sec = (time_t)secs,
		.tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9),
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int stats_error(pid_t pid, int fd, int ret)
{
	if (ret == -ENODEV)
		fprintf(stderr, "vhostctl: %d:%d is not a vhost-lite device\n",
			pid, fd);
	else
		fprintf(stderr, "vhostctl: /proc/%d/fdinfo/%d: %s\n", pid, fd,
			strerror(-ret));
	return 1;
}

/**
 * cmd_stats() - vhostctl stats PID:FD [--watch SEC] [--count N] [--json]
 * @argc: argument count (argv[0] is "stats")
 * @argv: arguments
 *
 * Without --watch: one sample over 1 s.  --watch SEC: a sample every SEC
 * seconds, until interrupted or --count N samples were printed.
 *
 * Return: exit status.
 */
int cmd_stats(int argc, char **argv)
{
	const char *target = NULL;
	struct sample prev, cur;
	bool json = false;
	double secs = 1.0;
	long count = -1, n;
	int pid, fd, i, ret;
	char *end;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--watch") && i + 1 < argc) {
			secs = strtod(argv[++i], &end);
			if (*end || !(secs >= 0.01 && secs <= 86400))
				goto usage;
			if (count < 0)
				count = 0;
		} else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			count = strtol(argv[++i], &end, 10);
			if (*end || count < 1)
				goto usage;
		} else if (argv[i][0] != '-' && !target) {
			target = argv[i];
		} else {
			goto usage;
		}
	}
	if (!target || vhl_parse_id(target, &pid, &fd))
		goto usage;
	if (count < 0)
		count = 1;	/* no --watch, no --count: one sample */

	ret = sample_take(pid, fd, &prev);
	if (ret)
		return stats_error(pid, fd, ret);
	for (n = 0; !count || n < count; n++) {
		double dt;

		sleep_secs(secs);
		ret = sample_take(pid, fd, &cur);
		if (ret) {
			sample_free(&prev);
			return stats_error(pid, fd, ret);
		}
		dt = (double)(cur.t.tv_sec - prev.t.tv_sec) +
		     (double)(cur.t.tv_nsec - prev.t.tv_nsec) / 1e9;
		if (json) {
			print_json(pid, fd, &prev, &cur, dt);
		} else {
			if (n)
				putchar('\n');
			print_text(pid, fd, &prev, &cur, dt);
		}
		fflush(stdout);
		sample_free(&prev);
		prev = cur;
	}
	sample_free(&prev);
	return 0;

usage:
	fputs(STATS_USAGE, stderr);
	return 2;
}
