/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading /proc/PID/fdinfo/FD of vhost-lite devices.
 *
 * After the standard lines the kernel prints "vhl-kind:\t<kind>",
 * "vhl-owner:", "vhl-features:", ... and one "vhl-vq<N>:\tkey=value ..."
 * line per virtqueue.
 */
#ifndef VHL_FDINFO_H
#define VHL_FDINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

char *fdinfo_read_file(const char *path);
char *fdinfo_read(pid_t pid, int fd);
const char *fdinfo_find(const char *text, const char *key, size_t *len);
bool fdinfo_is_vhost_lite(const char *text);
bool fdinfo_kv(const char *val, size_t len, const char *key,
	       unsigned long long *out);
unsigned long long fdinfo_stat(pid_t pid, int fd, const char *prefix,
			       unsigned int q, const char *key);

#endif /* VHL_FDINFO_H */
