// SPDX-License-Identifier: GPL-2.0
/*
 * vhostctl list and show: vhost-lite devices seen through
 * /proc/PID/fdinfo/FD.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdinfo.h"
#include "vhostctl.h"

static void read_comm(pid_t pid, char *buf, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	buf[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static void copy_value(const char *text, const char *key, char *buf,
		       size_t size)
{
	size_t len = 0;
	const char *v = fdinfo_find(text, key, &len);

	if (!v)
		len = 0;
	if (len >= size)
		len = size - 1;
	memcpy(buf, v ? v : "", len);
	buf[len] = '\0';
}

static unsigned long long num_value(const char *text, const char *key)
{
	size_t len;
	const char *v = fdinfo_find(text, key, &len);

	return v ? strtoull(v, NULL, 0) : 0;
}

/**
 * vhl_dev_info_read() - read the fdinfo of a vhost-lite device
 * @pid: process
 * @fd: its file descriptor
 * @info: filled in; release with vhl_dev_info_free()
 *
 * Return: 0, -ENODEV if @fd is not a vhost-lite device, or another
 * negative errno (-ENOENT, -EACCES, ...).
 */
int vhl_dev_info_read(pid_t pid, int fd, struct vhl_dev_info *info)
{
	char path[64];
	const char *p;
	ssize_t n;

	memset(info, 0, sizeof(*info));
	info->text = fdinfo_read(pid, fd);
	if (!info->text)
		return -errno;
	if (!fdinfo_is_vhost_lite(info->text)) {
		vhl_dev_info_free(info);
		return -ENODEV;
	}
	info->pid = pid;
	info->fd = fd;
	read_comm(pid, info->comm, sizeof(info->comm));
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, info->path, sizeof(info->path) - 1);
	info->path[n > 0 ? n : 0] = '\0';

	copy_value(info->text, "vhl-kind", info->kind, sizeof(info->kind));
	copy_value(info->text, "vhl-owner", info->owner, sizeof(info->owner));
	info->id = num_value(info->text, "vhl-id");
	info->features = num_value(info->text, "vhl-features");
	info->backend_features = num_value(info->text, "vhl-backend-features");
	info->mem_regions = num_value(info->text, "vhl-mem-regions");
	info->mem_bytes = num_value(info->text, "vhl-mem-bytes");

	for (p = info->text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		struct vhl_vq_info *vqs, *vq;
		char *end;
		unsigned long idx;

		if (strncmp(p, "vhl-vq", 6) || !isdigit((unsigned char)p[6]))
			continue;
		idx = strtoul(p + 6, &end, 10);
		if (*end != ':')
			continue;
		vqs = realloc(info->vqs, sizeof(*vqs) * (info->nvqs + 1));
		if (!vqs) {
			vhl_dev_info_free(info);
			return -ENOMEM;
		}
		info->vqs = vqs;
		vq = &vqs[info->nvqs++];
		vq->index = (unsigned int)idx;
		end++;
		while (*end == '\t' || *end == ' ')
			end++;
		vq->kv = end;
		vq->len = strcspn(end, "\n");
	}
	return 0;
}

/**
 * vhl_dev_info_free() - release what vhl_dev_info_read() allocated
 * @info: device info
 */
void vhl_dev_info_free(struct vhl_dev_info *info)
{
	free(info->vqs);
	free(info->text);
	info->vqs = NULL;
	info->text = NULL;
	info->nvqs = 0;
}

/**
 * json_str() - print a JSON string literal
 * @f: stream
 * @s: bytes
 * @len: their number
 */
void json_str(FILE *f, const char *s, size_t len)
{
	size_t i;

	fputc('"', f);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static bool is_number(const char *s, size_t len)
{
	size_t i;

	/* JSON numbers have no leading zeros (pointer hashes do). */
	if (!len || len > 20 || (len > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* A vq line as a JSON object; a repeated key gets a _2, _3... suffix. */
static void json_vq(FILE *f, const struct vhl_vq_info *vq)
{
	const char *p = vq->kv, *end = vq->kv + vq->len;
	const char *keys[64];
	size_t klens[64], nkeys = 0;

	fprintf(f, "{\"index\":%u", vq->index);
	while (p < end) {
		const char *tok = p, *eq, *sp;
		size_t klen, vlen, i;
		unsigned int dup = 1;

		sp = memchr(p, ' ', (size_t)(end - p));
		if (!sp)
			sp = end;
		p = sp + 1;
		eq = memchr(tok, '=', (size_t)(sp - tok));
		if (!eq || eq == tok)
			continue;
		klen = (size_t)(eq - tok);
		vlen = (size_t)(sp - eq - 1);
		for (i = 0; i < nkeys; i++)
			if (klens[i] == klen && !memcmp(keys[i], tok, klen))
				dup++;
		if (nkeys < 64) {
			keys[nkeys] = tok;
			klens[nkeys++] = klen;
		}
		fputs(",\"", f);
		fwrite(tok, 1, klen, f);
		if (dup > 1)
			fprintf(f, "_%u", dup);
		fputs("\":", f);
		if (is_number(eq + 1, vlen))
			fwrite(eq + 1, 1, vlen, f);
		else
			json_str(f, eq + 1, vlen);
	}
	fputc('}', f);
}

static void json_dev(FILE *f, const struct vhl_dev_info *d)
{
	unsigned int i;

	fprintf(f, "{\"pid\":%d,\"fd\":%d,\"comm\":", d->pid, d->fd);
	json_str(f, d->comm, strlen(d->comm));
	fputs(",\"path\":", f);
	json_str(f, d->path, strlen(d->path));
	fputs(",\"kind\":", f);
	json_str(f, d->kind, strlen(d->kind));
	fprintf(f, ",\"id\":%llu", d->id);
	fputs(",\"owner\":", f);
	json_str(f, d->owner, strlen(d->owner));
	fprintf(f, ",\"features\":\"0x%016llx\",\"backend_features\":\"0x%016llx\"",
		(unsigned long long)d->features,
		(unsigned long long)d->backend_features);
	fprintf(f, ",\"mem_regions\":%llu,\"mem_bytes\":%llu,\"vqs\":[",
		d->mem_regions, d->mem_bytes);
	for (i = 0; i < d->nvqs; i++) {
		if (i)
			fputc(',', f);
		json_vq(f, &d->vqs[i]);
	}
	fputs("]}", f);
}

static const struct {
	int bit;
	const char *name;
} feature_names[] = {
	{ 15, "MRG_RXBUF" },
	{ 24, "NOTIFY_ON_EMPTY" },
	{ 26, "LOG_ALL" },
	{ 27, "ANY_LAYOUT/VHOST_NET_HDR" },
	{ 28, "INDIRECT_DESC" },
	{ 29, "EVENT_IDX" },
	{ 32, "VERSION_1" },
	{ 33, "ACCESS_PLATFORM" },
	{ 34, "RING_PACKED" },
	{ 35, "IN_ORDER" },
	{ 40, "RING_RESET" },
};

static void print_features(__u64 f)
{
	size_t i;

	printf("0x%016llx", (unsigned long long)f);
	for (i = 0; i < ARRAY_SIZE(feature_names); i++) {
		if (f & (1ULL << feature_names[i].bit)) {
			printf(" %s", feature_names[i].name);
			f &= ~(1ULL << feature_names[i].bit);
		}
	}
	if (f)
		printf(" +0x%llx", (unsigned long long)f);
	putchar('\n');
}

static bool is_pid_dir(const char *name)
{
	if (!*name)
		return false;
	for (; *name; name++)
		if (!isdigit((unsigned char)*name))
			return false;
	return true;
}

typedef void (*dev_fn_t)(const struct vhl_dev_info *d, void *arg);

/* Call @fn for every vhost-lite device of every process we may read. */
static int scan_devices(dev_fn_t fn, void *arg)
{
	struct dirent *pe, *fe;
	DIR *proc, *fds;
	int count = 0;

	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while ((pe = readdir(proc))) {
		char path[300];
		pid_t pid;

		if (!is_pid_dir(pe->d_name))
			continue;
		pid = (pid_t)atoi(pe->d_name);
		/* Descriptors vhostctl merely inherited are its parent's. */
		if (pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", pid);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((fe = readdir(fds))) {
			struct vhl_dev_info d;
			struct stat st;
			int fd;

			if (!is_pid_dir(fe->d_name))
				continue;
			fd = atoi(fe->d_name);
			snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
			/* Only character devices can be vhost-lite ones. */
			if (stat(path, &st) || !S_ISCHR(st.st_mode))
				continue;
			if (vhl_dev_info_read(pid, fd, &d))
				continue;
			fn(&d, arg);
			vhl_dev_info_free(&d);
			count++;
		}
		closedir(fds);
	}
	closedir(proc);
	return count;
}

struct list_state {
	bool json;
	unsigned int n;
};

static void list_one(const struct vhl_dev_info *d, void *arg)
{
	struct list_state *s = arg;
	char id[32];

	if (s->json) {
		fputs(s->n ? "," : "", stdout);
		json_dev(stdout, d);
	} else {
		if (!s->n)
			printf("%-12s %-16s %-5s %-24s %-18s %7s %12s %3s\n",
			       "PID:FD", "COMM", "KIND", "OWNER", "FEATURES",
			       "REGIONS", "MEM_BYTES", "VQS");
		snprintf(id, sizeof(id), "%d:%d", d->pid, d->fd);
		printf("%-12s %-16s %-5s %-24s 0x%016llx %7llu %12llu %3u\n",
		       id, d->comm, d->kind, d->owner,
		       (unsigned long long)d->features, d->mem_regions,
		       d->mem_bytes, d->nvqs);
	}
	s->n++;
}

/**
 * cmd_list() - vhostctl list [--json]
 * @argc: argument count (argv[0] is "list")
 * @argv: arguments
 *
 * Return: exit status.
 */
int cmd_list(int argc, char **argv)
{
	struct list_state s = { 0 };
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			s.json = true;
		} else {
			fprintf(stderr, "usage: vhostctl list [--json]\n");
			return 2;
		}
	}
	if (s.json)
		fputc('[', stdout);
	ret = scan_devices(list_one, &s);
	if (s.json)
		fputs("]\n", stdout);
	if (ret < 0) {
		fprintf(stderr, "vhostctl: /proc: %s\n", strerror(-ret));
		return 1;
	}
	return 0;
}

/**
 * vhl_parse_id() - parse a device id "PID:FD"
 * @s: the argument
 * @pid: set to PID
 * @fd: set to FD
 *
 * Return: 0, or -EINVAL if @s is not PID:FD.
 */
int vhl_parse_id(const char *s, int *pid, int *fd)
{
	char extra;

	if (sscanf(s, "%d:%d%c", pid, fd, &extra) != 2 || *pid <= 0 || *fd < 0)
		return -EINVAL;
	return 0;
}

/**
 * cmd_show() - vhostctl show PID:FD [--json]
 * @argc: argument count (argv[0] is "show")
 * @argv: arguments
 *
 * Return: exit status.
 */
int cmd_show(int argc, char **argv)
{
	const char *target = NULL;
	struct vhl_dev_info d;
	bool json = false;
	int pid, fd, i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!target)
			target = argv[i];
		else
			target = "";
	}
	if (!target || vhl_parse_id(target, &pid, &fd)) {
		fprintf(stderr, "usage: vhostctl show PID:FD [--json]\n");
		return 2;
	}
	ret = vhl_dev_info_read(pid, fd, &d);
	if (ret == -ENODEV) {
		fprintf(stderr, "vhostctl: %d:%d is not a vhost-lite device\n",
			pid, fd);
		return 1;
	}
	if (ret) {
		fprintf(stderr, "vhostctl: /proc/%d/fdinfo/%d: %s\n", pid, fd,
			strerror(-ret));
		return 1;
	}
	if (json) {
		json_dev(stdout, &d);
		putchar('\n');
	} else {
		printf("%-18s %d:%d\n", "device", pid, fd);
		printf("%-18s %s\n", "path", d.path);
		printf("%-18s %s\n", "process", d.comm);
		printf("%-18s %s\n", "kind", d.kind);
		printf("%-18s %llu\n", "id", d.id);
		printf("%-18s %s\n", "owner", d.owner);
		printf("%-18s ", "features");
		print_features(d.features);
		printf("%-18s 0x%016llx\n", "backend-features",
		       (unsigned long long)d.backend_features);
		printf("%-18s %llu regions, %llu bytes\n", "memory",
		       d.mem_regions, d.mem_bytes);
		for (i = 0; i < (int)d.nvqs; i++) {
			char name[32];

			snprintf(name, sizeof(name), "vq%u", d.vqs[i].index);
			printf("%-18s %.*s\n", name, (int)d.vqs[i].len,
			       d.vqs[i].kv);
		}
	}
	vhl_dev_info_free(&d);
	return 0;
}
