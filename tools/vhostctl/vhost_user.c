// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-user message framing and the front end's memory, mapped here (see
 * vhost_user.h).  Everything the front end sends is bounded and checked
 * before it is used: a malformed message is refused, never trusted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhost_user.h"

static const char * const vu_names[VU_REQUEST_MAX] = {
	[VU_GET_FEATURES] = "GET_FEATURES",
	[VU_SET_FEATURES] = "SET_FEATURES",
	[VU_SET_OWNER] = "SET_OWNER",
	[VU_RESET_OWNER] = "RESET_OWNER",
	[VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VU_SET_LOG_BASE] = "SET_LOG_BASE",
	[VU_SET_LOG_FD] = "SET_LOG_FD",
	[VU_SET_VRING_NUM] = "SET_VRING_NUM",
	[VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VU_SET_VRING_BASE] = "SET_VRING_BASE",
	[VU_GET_VRING_BASE] = "GET_VRING_BASE",
	[VU_SET_VRING_KICK] = "SET_VRING_KICK",
	[VU_SET_VRING_CALL] = "SET_VRING_CALL",
	[VU_SET_VRING_ERR] = "SET_VRING_ERR",
	[VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VU_GET_CONFIG] = "GET_CONFIG",
	[VU_SET_CONFIG] = "SET_CONFIG",
	[VU_RESET_DEVICE] = "RESET_DEVICE",
	[VU_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
};

/**
 * vu_request_name() - name of a request, for logs
 * @request: request number from a header (any value)
 *
 * Return: a static string, "UNKNOWN" for numbers this file does not name.
 */
const char *vu_request_name(__u32 request)
{
	if (request < VU_REQUEST_MAX && vu_names[request])
		return vu_names[request];
	return "UNKNOWN";
}

/**
 * vu_msg_close_fds() - close the descriptors a message still owns
 * @msg: message
 */
void vu_msg_close_fds(struct vu_msg *msg)
{
	unsigned int i;

	for (i = 0; i < msg->nfds; i++) {
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
		msg->fds[i] = -1;
	}
	msg->nfds = 0;
}

/**
 * vu_msg_take_fd() - take ownership of a received descriptor
 * @msg: message
 * @i: index among the message's descriptors
 *
 * Return: the descriptor (the caller closes it), or -1 if there is none.
 */
int vu_msg_take_fd(struct vu_msg *msg, unsigned int i)
{
	int fd;

	if (i >= msg->nfds)
		return -1;
	fd = msg->fds[i];
	msg->fds[i] = -1;
	return fd;
}

/* Read exactly @len bytes; 0, -EPIPE on EOF, or a negative errno. */
static int vu_read_all(int sock, void *buf, size_t len)
{
	__u8 *p = buf;
	ssize_t n;

	while (len) {
		n = recv(sock, p, len, 0);
		if (n == 0)
			return -EPIPE;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void vu_collect_fds(struct vu_msg *msg, struct msghdr *mh)
{
	struct cmsghdr *c;
	unsigned int i, n;
	int fds[VU_MAX_FDS];

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > VU_MAX_FDS)
			n = VU_MAX_FDS;
		memcpy(fds, CMSG_DATA(c), n * sizeof(int));
		for (i = 0; i < n; i++) {
			if (msg->nfds < VU_MAX_FDS)
				msg->fds[msg->nfds++] = fds[i];
			else
				close(fds[i]);
		}
	}
}

/* Receive one message: a request (@reply false) or a reply (true). */
static int vu_recv(int sock, struct vu_msg *msg, bool reply)
{
	char cbuf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
	struct iovec iov = { &msg->hdr, sizeof(msg->hdr) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	ssize_t n;
	int ret;

	memset(msg, 0, offsetof(struct vu_msg, fds));
	memset(msg->fds, -1, sizeof(msg->fds));
	msg->nfds = 0;

	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	vu_collect_fds(msg, &mh);
	if (mh.msg_flags & MSG_CTRUNC) {
		ret = -EPROTO;
		goto err_close_fds;
	}
	if ((size_t)n < sizeof(msg->hdr)) {
		ret = vu_read_all(sock, (__u8 *)&msg->hdr + n,
				  sizeof(msg->hdr) - (size_t)n);
		if (ret)
			goto err_close_fds;
	}
	if ((msg->hdr.flags & VU_VERSION_MASK) != VU_VERSION ||
	    !(msg->hdr.flags & VU_FLAG_REPLY) != !reply) {
		ret = -EPROTO;
		goto err_close_fds;
	}
	if (msg->hdr.size > VU_MAX_PAYLOAD) {
		ret = -EMSGSIZE;
		goto err_close_fds;
	}
	ret = vu_read_all(sock, msg->raw, msg->hdr.size);
	if (ret)
		goto err_close_fds;
	return 1;

err_close_fds:
	vu_msg_close_fds(msg);
	return ret;
}

/**
 * vu_msg_recv() - receive one request and its descriptors
 * @sock: connected unix stream socket
 * @msg: filled in; owns the received descriptors (vu_msg_close_fds())
 *
 * The header must carry version 1 and announce at most VU_MAX_PAYLOAD
 * bytes; descriptors beyond VU_MAX_FDS make the kernel truncate the
 * control message, which is refused too. After an error the stream cannot
 * be resynchronised: the caller drops the connection.
 *
 * Return: 1 for a message, 0 for end of file before a message, -EINTR if a
 * signal interrupted the wait, -EPROTO for a malformed header or control
 * message (or a reply), -EMSGSIZE for an oversized payload, or another
 * negative errno.
 */
int vu_msg_recv(int sock, struct vu_msg *msg)
{
	return vu_recv(sock, msg, false);
}

/**
 * vu_reply_recv() - receive one reply (the front end's side)
 * @sock: connected unix stream socket
 * @msg: filled in as by vu_msg_recv()
 *
 * Return: as vu_msg_recv(), -EPROTO also for a message that is no reply.
 */
int vu_reply_recv(int sock, struct vu_msg *msg)
{
	return vu_recv(sock, msg, true);
}

static int vu_check_mem(const struct vu_msg *msg)
{
	const struct vu_memory *m = &msg->mem;
	__u32 i;

	if (msg->hdr.size < offsetof(struct vu_memory, regions) ||
	    m->nregions > VU_MAX_REGIONS ||
	    msg->hdr.size != offsetof(struct vu_memory, regions) +
			     m->nregions * sizeof(m->regions[0]) ||
	    msg->nfds != m->nregions)
		return -EINVAL;
	for (i = 0; i < m->nregions; i++) {
		const struct vu_region *r = &m->regions[i];

		if (!r->size || r->gpa + r->size - 1 < r->gpa ||
		    r->uaddr + r->size - 1 < r->uaddr ||
		    r->mmap_offset + r->size - 1 < r->mmap_offset ||
		    r->mmap_offset > INT64_MAX)
			return -EINVAL;
	}
	return 0;
}

static int vu_check_config(const struct vu_msg *msg)
{
	const struct vu_config *c = &msg->config;

	if (msg->hdr.size < VU_CONFIG_HDR_SIZE || c->size > VU_CONFIG_SPACE ||
	    c->offset > VU_CONFIG_SPACE - c->size ||
	    msg->hdr.size != VU_CONFIG_HDR_SIZE + c->size)
		return -EINVAL;
	return 0;
}

/**
 * vu_msg_check() - check a request's payload size and descriptor count
 * @msg: a message from vu_msg_recv()
 *
 * Indices of virtqueues are not checked here (the caller knows how many
 * it serves); everything else a request's handler relies on is.
 *
 * Return: 0, -EINVAL for a malformed request, -EOPNOTSUPP for a request
 * this file does not know.
 */
int vu_msg_check(const struct vu_msg *msg)
{
	__u32 size = msg->hdr.size;

	switch (msg->hdr.request) {
	case VU_GET_FEATURES:
	case VU_GET_PROTOCOL_FEATURES:
	case VU_GET_QUEUE_NUM:
	case VU_GET_MAX_MEM_SLOTS:
	case VU_SET_OWNER:
	case VU_RESET_OWNER:
	case VU_RESET_DEVICE:
		/* No payload is read; QEMU sends none or a zero u64. */
		return msg->nfds ? -EINVAL : 0;
	case VU_SET_FEATURES:
	case VU_SET_PROTOCOL_FEATURES:
		return size == sizeof(__u64) && !msg->nfds ? 0 : -EINVAL;
	case VU_SET_VRING_NUM:
	case VU_SET_VRING_BASE:
	case VU_GET_VRING_BASE:
	case VU_SET_VRING_ENABLE:
		return size == sizeof(struct vu_vring_state) && !msg->nfds ?
		       0 : -EINVAL;
	case VU_SET_VRING_ADDR:
		return size == sizeof(struct vu_vring_addr) && !msg->nfds ?
		       0 : -EINVAL;
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR:
		if (size != sizeof(__u64) ||
		    (msg->u64 & ~(VU_VRING_IDX_MASK | VU_VRING_NOFD)))
			return -EINVAL;
		return msg->nfds == ((msg->u64 & VU_VRING_NOFD) ? 0U : 1U) ?
		       0 : -EINVAL;
	case VU_SET_MEM_TABLE:
		return vu_check_mem(msg);
	case VU_GET_CONFIG:
	case VU_SET_CONFIG:
		return msg->nfds ? -EINVAL : vu_check_config(msg);
	case VU_SET_LOG_BASE:
		/* Only the shared-memory form (LOG_SHMFD) is spoken here. */
		if (size != sizeof(struct vu_log) || msg->nfds != 1 ||
		    !msg->log.mmap_size ||
		    msg->log.mmap_offset + msg->log.mmap_size <
		    msg->log.mmap_offset)
			return -EINVAL;
		return 0;
	case VU_SET_LOG_FD:
		/* The descriptor alone; QEMU's framing may add a zero u64. */
		return (size == 0 || size == sizeof(__u64)) && msg->nfds == 1 ?
		       0 : -EINVAL;
	default:
		return -EOPNOTSUPP;
	}
}

/**
 * vu_send() - send one message, with descriptors
 * @sock: connected socket
 * @request: enum vu_request
 * @flags: VU_FLAG_* (VU_VERSION is added)
 * @payload: payload
 * @size: its size (at most VU_MAX_PAYLOAD)
 * @fds: descriptors to pass with the message, or NULL
 * @nfds: their number (at most VU_MAX_FDS)
 *
 * Return: 0 or a negative errno (-EPIPE when the peer went away).
 */
int vu_send(int sock, __u32 request, __u32 flags, const void *payload,
	    __u32 size, const int *fds, unsigned int nfds)
{
	char cbuf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
	struct vu_hdr hdr = {
		.request = request,
		.flags = VU_VERSION | flags,
		.size = size,
	};
	struct iovec iov[2] = {
		{ &hdr, sizeof(hdr) },
		{ (void *)payload, size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t left = sizeof(hdr) + size;
	ssize_t n;

	if (size > VU_MAX_PAYLOAD || nfds > VU_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	while (left) {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0)
			return -errno;
		/* The descriptors went with the first bytes. */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		left -= (size_t)n;
		while (n > 0 && mh.msg_iovlen) {
			size_t k = (size_t)n < mh.msg_iov->iov_len ?
				   (size_t)n : mh.msg_iov->iov_len;

			mh.msg_iov->iov_base = (__u8 *)mh.msg_iov->iov_base + k;
			mh.msg_iov->iov_len -= k;
			n -= (ssize_t)k;
			if (!mh.msg_iov->iov_len) {
				mh.msg_iov++;
				mh.msg_iovlen--;
			}
		}
	}
	return 0;
}

/**
 * vu_call() - send a request and, if wanted, wait for its reply
 * @sock: connected socket
 * @request: enum vu_request
 * @payload: payload
 * @size: its size
 * @fds: descriptors to pass, or NULL
 * @nfds: their number
 * @reply: where the reply goes (its descriptors owned by the caller), or
 *	NULL for a request that has none
 *
 * Return: 0, -EPIPE when the back end went away, -EPROTO for a reply to
 * another request, or a negative errno.
 */
int vu_call(int sock, __u32 request, const void *payload, __u32 size,
	    const int *fds, unsigned int nfds, struct vu_msg *reply)
{
	int ret = vu_send(sock, request, 0, payload, size, fds, nfds);

	if (ret || !reply)
		return ret;
	ret = vu_reply_recv(sock, reply);
	if (ret <= 0)
		return ret ? ret : -EPIPE;
	if (reply->hdr.request != request) {
		vu_msg_close_fds(reply);
		return -EPROTO;
	}
	return 0;
}

/**
 * vu_reply() - send the reply to a request
 * @sock: connected socket
 * @req: the request
 * @payload: reply payload
 * @size: its size (at most VU_MAX_PAYLOAD)
 *
 * Return: 0 or a negative errno (-EPIPE when the front end went away).
 */
int vu_reply(int sock, const struct vu_msg *req, const void *payload,
	     __u32 size)
{
	return vu_send(sock, req->hdr.request, VU_FLAG_REPLY, payload, size,
		       NULL, 0);
}

/**
 * vu_reply_u64() - send a u64 reply (a value, or a REPLY_ACK status)
 * @sock: connected socket
 * @req: the request
 * @val: value; for REPLY_ACK 0 means success
 *
 * Return: 0 or a negative errno.
 */
int vu_reply_u64(int sock, const struct vu_msg *req, __u64 val)
{
	return vu_reply(sock, req, &val, sizeof(val));
}

static bool vu_region_same(const struct vu_map *m, const struct vu_region *r,
			   const struct stat *st)
{
	return m->r.gpa == r->gpa && m->r.size == r->size &&
	       m->r.uaddr == r->uaddr && m->r.mmap_offset == r->mmap_offset &&
	       m->dev == (__u64)st->st_dev && m->ino == (__u64)st->st_ino;
}

static int vu_map_region(struct vu_map *m, const struct vu_region *r, int fd,
			 const struct stat *st)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	if ((r->mmap_offset | r->size) & (__u64)(page - 1))
		return -EINVAL;
	/* Beyond the end of a regular file, accesses would fault. */
	if (S_ISREG(st->st_mode) &&
	    r->mmap_offset + r->size > (__u64)st->st_size)
		return -EINVAL;
	p = mmap(NULL, r->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)r->mmap_offset);
	if (p == MAP_FAILED)
		return -errno;
	m->r = *r;
	m->base = p;
	m->dev = st->st_dev;
	m->ino = st->st_ino;
	return 0;
}

/**
 * vu_mem_map() - map the regions of a SET_MEM_TABLE request
 * @next: filled in with the new table
 * @cur: the table in use; a region identical to one of it (same addresses,
 *	same file and offset) keeps its mapping, so rings the kernel
 *	already uses stay where they are
 * @msg: a checked SET_MEM_TABLE request; its descriptors are closed
 *
 * Once the kernel accepted @next, vu_mem_unmap_stale(@cur, @next) unmaps
 * what @next no longer uses; if it refused it,
 * vu_mem_unmap_stale(@next, @cur) undoes this call.
 *
 * Return: 0, or a negative errno with nothing new left mapped.
 */
int vu_mem_map(struct vu_mem *next, const struct vu_mem *cur,
	       struct vu_msg *msg)
{
	unsigned int i, j;
	struct stat st;
	int ret = 0;

	memset(next, 0, sizeof(*next));
	for (i = 0; i < msg->mem.nregions && i < VU_MAX_REGIONS; i++) {
		const struct vu_region *r = &msg->mem.regions[i];
		struct vu_map *m = &next->maps[i];

		if (fstat(msg->fds[i], &st)) {
			ret = -errno;
			break;
		}
		for (j = 0; j < cur->n; j++)
			if (vu_region_same(&cur->maps[j], r, &st))
				break;
		if (j < cur->n) {
			*m = cur->maps[j];
		} else {
			ret = vu_map_region(m, r, msg->fds[i], &st);
			if (ret)
				break;
		}
		next->n = i + 1;
	}
	vu_msg_close_fds(msg);
	if (ret)
		vu_mem_unmap_stale(next, cur);
	return ret;
}

/**
 * vu_mem_unmap_stale() - unmap the regions of a table another one dropped
 * @old: table whose mappings @keep does not share are unmapped; emptied
 * @keep: table that stays in use
 */
void vu_mem_unmap_stale(struct vu_mem *old, const struct vu_mem *keep)
{
	unsigned int i, j;

	for (i = 0; i < old->n; i++) {
		for (j = 0; j < keep->n; j++)
			if (keep->maps[j].base == old->maps[i].base)
				break;
		if (j == keep->n)
			munmap(old->maps[i].base, old->maps[i].r.size);
	}
	memset(old, 0, sizeof(*old));
}

/**
 * vu_mem_unmap() - unmap a whole table
 * @mem: table; emptied
 */
void vu_mem_unmap(struct vu_mem *mem)
{
	static const struct vu_mem none;

	vu_mem_unmap_stale(mem, &none);
}

/**
 * vu_mem_translate() - front-end address to an address of this process
 * @mem: table
 * @uaddr: the front end's address of the first byte
 * @len: bytes that must lie in the same region (at least 1 is assumed)
 *
 * Return: the address here, or 0 if [@uaddr, @uaddr + @len) is not inside
 * one region.
 */
__u64 vu_mem_translate(const struct vu_mem *mem, __u64 uaddr, __u64 len)
{
	unsigned int i;

	if (!len)
		len = 1;
	for (i = 0; i < mem->n; i++) {
		const struct vu_map *m = &mem->maps[i];

		if (uaddr >= m->r.uaddr && uaddr - m->r.uaddr < m->r.size &&
		    len <= m->r.size - (uaddr - m->r.uaddr))
			return (__u64)(uintptr_t)m->base + (uaddr - m->r.uaddr);
	}
	return 0;
}

/**
 * vu_log_map() - map the dirty log of a SET_LOG_BASE request
 * @log: filled in
 * @msg: a checked SET_LOG_BASE request; its descriptor is closed
 *
 * The log must lie inside the descriptor's file: a bitmap the kernel
 * writes must never fault. It is mapped from the file's start, so the
 * offset needs no alignment.
 *
 * Return: 0, or a negative errno (-EINVAL: beyond the file or not a
 * mappable file) with nothing mapped.
 */
int vu_log_map(struct vu_logmap *log, struct vu_msg *msg)
{
	__u64 size = msg->log.mmap_size, off = msg->log.mmap_offset;
	int fd = vu_msg_take_fd(msg, 0), ret = 0;
	struct stat st;
	void *p;

	memset(log, 0, sizeof(*log));
	if (fd < 0)
		return -EINVAL;
	if (fstat(fd, &st))
		ret = -errno;
	else if (!S_ISREG(st.st_mode) || off + size < off ||
		 off + size > (__u64)st.st_size || off + size > SIZE_MAX)
		ret = -EINVAL;
	if (ret)
		goto out_close;
	p = mmap(NULL, (size_t)(off + size), PROT_READ | PROT_WRITE,
		 MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto out_close;
	}
	log->map = p;
	log->map_len = (size_t)(off + size);
	log->bits = (__u8 *)p + off;
	log->size = size;
out_close:
	close(fd);
	return ret;
}

/**
 * vu_log_unmap() - unmap a dirty log (fine on one never mapped)
 * @log: emptied
 */
void vu_log_unmap(struct vu_logmap *log)
{
	if (log->map)
		munmap(log->map, log->map_len);
	memset(log, 0, sizeof(*log));
}
