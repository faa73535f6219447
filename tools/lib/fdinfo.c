// SPDX-License-Identifier: GPL-2.0
/*
 * Reading /proc/PID/fdinfo/FD (see fdinfo.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdinfo.h"

/**
 * fdinfo_read_file() - read a whole text file (fdinfo, tracefs, ...)
 * @path: the file
 *
 * Return: NUL-terminated text to free(), or NULL with errno set.
 */
char *fdinfo_read_file(const char *path)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	ssize_t n;
	int f;

	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return NULL;
	for (;;) {
		if (cap - len < 1024) {
			char *nbuf = realloc(buf, cap + 4096);

			if (!nbuf) {
				free(buf);
				close(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = nbuf;
			cap += 4096;
		}
		n = read(f, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			free(buf);
			close(f);
			errno = err;
			return NULL;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	close(f);
	buf[len] = '\0';
	return buf;
}

/**
 * fdinfo_read() - read a whole fdinfo file
 * @pid: process, 0 for this one
 * @fd: file descriptor in that process
 *
 * Return: NUL-terminated text to free(), or NULL with errno set.
 */
char *fdinfo_read(pid_t pid, int fd)
{
	char path[64];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	else
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	return fdinfo_read_file(path);
}

/**
 * fdinfo_find() - value of a "key:" line
 * @text: fdinfo text
 * @key: key without the colon, e.g. "vhl-kind"
 * @len: set to the value's length (up to the end of the line)
 *
 * Leading blanks of the value are skipped.
 *
 * Return: start of the value, or NULL when there is no such line.
 */
const char *fdinfo_find(const char *text, const char *key, size_t *len)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			const char *v = p + klen + 1, *e;

			while (*v == '\t' || *v == ' ')
				v++;
			e = strchr(v, '\n');
			*len = e ? (size_t)(e - v) : strlen(v);
			return v;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

/**
 * fdinfo_is_vhost_lite() - does fdinfo text belong to a vhost-lite device?
 * @text: fdinfo text
 */
bool fdinfo_is_vhost_lite(const char *text)
{
	size_t len;

	return fdinfo_find(text, "vhl-kind", &len);
}

/**
 * fdinfo_kv() - numeric value of key=value in a space-separated list
 * @val: list, e.g. the value of a "vhl-vq0:" line
 * @len: length of @val
 * @key: key to look for
 * @out: set to the value (decimal or 0x-prefixed hex)
 *
 * Return: true if found and numeric.
 */
bool fdinfo_kv(const char *val, size_t len, const char *key,
	       unsigned long long *out)
{
	size_t klen = strlen(key);
	const char *p = val, *end = val + len;

	while (p < end) {
		const char *tok = p, *sp;

		sp = memchr(p, ' ', (size_t)(end - p));
		if (!sp)
			sp = end;
		if ((size_t)(sp - tok) > klen && !strncmp(tok, key, klen) &&
		    tok[klen] == '=') {
			char num[32], *e;
			size_t n = (size_t)(sp - tok) - klen - 1;

			if (!n || n >= sizeof(num))
				return false;
			memcpy(num, tok + klen + 1, n);
			num[n] = '\0';
			errno = 0;
			*out = strtoull(num, &e, 0);
			return !errno && !*e;
		}
		p = sp + 1;
	}
	return false;
}

/*
 * Value of @key on the line "@prefix@q:" (e.g. "vhl-vq1:", "vhl-blk-vq0:")
 * in the fdinfo of @fd of process @pid (0: ours); ~0ULL when the line or
 * the key is missing.
 */
unsigned long long fdinfo_stat(pid_t pid, int fd, const char *prefix,
			       unsigned int q, const char *key)
{
	unsigned long long v = ~0ULL;
	char name[32], *text = fdinfo_read(pid, fd);
	const char *line;
	size_t len;

	snprintf(name, sizeof(name), "%s%u", prefix, q);
	line = text ? fdinfo_find(text, name, &len) : NULL;
	if (!line || !fdinfo_kv(line, len, key, &v))
		v = ~0ULL;
	free(text);
	return v;
}
