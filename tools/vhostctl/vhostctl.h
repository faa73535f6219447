/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhostctl: inspect and drive vhost-lite devices.
 */
#ifndef VHOSTCTL_H
#define VHOSTCTL_H

#include <stdbool.h>
#include <linux/types.h>
#include <stdio.h>
#include <sys/types.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/**
 * struct vhl_vq_info - one "vhl-vq<N>:" line of a device's fdinfo
 * @index: N
 * @kv: the space-separated key=value list (points into the fdinfo text)
 * @len: length of @kv
 */
struct vhl_vq_info {
	unsigned int index;
	const char *kv;
	size_t len;
};

/**
 * struct vhl_dev_info - one open vhost-lite device, from its fdinfo
 * @pid: process holding the file descriptor
 * @fd: the file descriptor
 * @comm: that process's comm
 * @path: what the descriptor points to (readlink of /proc/PID/fd/FD)
 * @kind: "net", ...
 * @id: device id ("vhl-id:", the dev= field of the tracepoints)
 * @owner: "<pid> <comm>" of the owner, "0" before VHOST_SET_OWNER
 * @features: acknowledged features
 * @backend_features: acknowledged backend features
 * @mem_regions: regions of the memory table
 * @mem_bytes: bytes covered by the memory table
 * @vqs: virtqueue lines
 * @nvqs: number of @vqs
 * @text: the fdinfo text everything above points into
 */
struct vhl_dev_info {
	pid_t pid;
	int fd;
	char comm[64];
	char path[256];
	char kind[32];
	unsigned long long id;
	char owner[96];
	__u64 features;
	__u64 backend_features;
	unsigned long long mem_regions;
	unsigned long long mem_bytes;
	struct vhl_vq_info *vqs;
	unsigned int nvqs;
	char *text;
};

int vhl_dev_info_read(pid_t pid, int fd, struct vhl_dev_info *info);
void vhl_dev_info_free(struct vhl_dev_info *info);

int cmd_list(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_serve_blk(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int vhl_parse_id(const char *s, int *pid, int *fd);

void json_str(FILE *f, const char *s, size_t len);

#endif /* VHOSTCTL_H */
