// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of vhostctl's vhost-user message layer (tools/vhostctl/vhost_user.c)
 * alone: a socketpair plays QEMU, memfds play guest memory. No kernel
 * module needed, so they run on any host.
 *
 * Malformed messages (oversized, truncated, bad version, wrong descriptor
 * counts, too many descriptors, out-of-range config windows and memory
 * tables) must be refused without leaking a descriptor or a mapping.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "vhost_user.h"

/* Lines of /proc/self/maps: mappings of this process. */
static int count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	int n = 0, ch;

	if (!f)
		return -1;
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

static int count_fds(void)
{
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n++;
	closedir(d);
	return n;
}

/* Send a header, @size bytes of @payload (may differ from hdr_size) and
 * @nfds descriptors.
 */
static int send_raw(int sock, __u32 req, __u32 flags, __u32 hdr_size,
		    const void *payload, size_t size, const int *fds, int nfds)
{
	char cbuf[CMSG_SPACE(16 * sizeof(int))];
	struct vu_hdr hdr = { req, flags, hdr_size };
	struct iovec iov[2] = { { &hdr, sizeof(hdr) },
				{ (void *)payload, size } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	struct cmsghdr *c;

	if (nfds) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	return sendmsg(sock, &mh, 0) < 0 ? -errno : 0;
}

static int send_msg(int sock, __u32 req, const void *payload, __u32 size,
		    const int *fds, int nfds)
{
	return send_raw(sock, req, VU_VERSION, size, payload, size, fds, nfds);
}

FIXTURE(vu) {
	int sv[2];
	int fds0;
	struct vu_msg msg;
};

FIXTURE_SETUP(vu)
{
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				self->sv));
	self->fds0 = count_fds();
}

FIXTURE_TEARDOWN(vu)
{
	close(self->sv[0]);
	close(self->sv[1]);
}

TEST_F(vu, get_features_and_reply)
{
	__u64 val = 0;
	struct vu_hdr h;

	ASSERT_EQ(0, send_msg(self->sv[0], VU_GET_FEATURES, NULL, 0, NULL, 0));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(VU_GET_FEATURES, self->msg.hdr.request);
	EXPECT_EQ(0, vu_msg_check(&self->msg));
	EXPECT_STREQ("GET_FEATURES", vu_request_name(self->msg.hdr.request));
	ASSERT_EQ(0, vu_reply_u64(self->sv[1], &self->msg, 0x1234ULL));
	ASSERT_EQ(sizeof(h), recv(self->sv[0], &h, sizeof(h), 0));
	EXPECT_EQ(VU_GET_FEATURES, h.request);
	EXPECT_EQ(VU_VERSION | VU_FLAG_REPLY, h.flags);
	EXPECT_EQ(sizeof(val), h.size);
	ASSERT_EQ(sizeof(val), recv(self->sv[0], &val, sizeof(val), 0));
	EXPECT_EQ(0x1234ULL, val);
}

/* The front end's side: a request with a descriptor, then its reply. */
TEST_F(vu, client_call_with_fd_and_reply)
{
	struct vu_vring_state st = { .index = 0, .num = 0 };
	struct vu_msg reply;
	__u64 idx = 0;
	int efd, got;

	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, vu_call(self->sv[0], VU_SET_VRING_KICK, &idx, sizeof(idx),
			     &efd, 1, NULL));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(VU_SET_VRING_KICK, self->msg.hdr.request);
	EXPECT_EQ(VU_VERSION, self->msg.hdr.flags);
	EXPECT_EQ(0, vu_msg_check(&self->msg));
	ASSERT_EQ(1, self->msg.nfds);
	got = vu_msg_take_fd(&self->msg, 0);
	EXPECT_LE(0, got);
	close(got);
	close(efd);

	/* A reply is refused where a request is expected, and back. */
	ASSERT_EQ(0, vu_send(self->sv[1], VU_GET_VRING_BASE, VU_FLAG_REPLY,
			     &st, sizeof(st), NULL, 0));
	EXPECT_EQ(-EPROTO, vu_msg_recv(self->sv[0], &self->msg));
	ASSERT_EQ(0, vu_send(self->sv[0], VU_GET_FEATURES, 0, NULL, 0,
			     NULL, 0));
	EXPECT_EQ(-EPROTO, vu_reply_recv(self->sv[1], &self->msg));

	/* vu_call() waits for the reply to its own request. */
	ASSERT_EQ(0, vu_reply_u64(self->sv[1], &self->msg, 7));
	ASSERT_EQ(-EPROTO, vu_call(self->sv[0], VU_GET_PROTOCOL_FEATURES, NULL,
				   0, NULL, 0, &reply));
	EXPECT_EQ(self->fds0, count_fds());
}

TEST_F(vu, eof_between_messages)
{
	close(self->sv[0]);
	self->sv[0] = -1;
	EXPECT_EQ(0, vu_msg_recv(self->sv[1], &self->msg));
}

TEST_F(vu, oversized_payload)
{
	char big[1024] = { 0 };

	ASSERT_EQ(0, send_msg(self->sv[0], VU_SET_FEATURES, big, sizeof(big),
			      NULL, 0));
	EXPECT_EQ(-EMSGSIZE, vu_msg_recv(self->sv[1], &self->msg));
}

TEST_F(vu, bad_version_and_reply_flag)
{
	__u64 v = 0;

	ASSERT_EQ(0, send_raw(self->sv[0], VU_SET_FEATURES, 2, 8, &v, 8,
			      NULL, 0));
	EXPECT_EQ(-EPROTO, vu_msg_recv(self->sv[1], &self->msg));
	ASSERT_EQ(0, send_raw(self->sv[0], VU_SET_FEATURES,
			      VU_VERSION | VU_FLAG_REPLY, 8, &v, 8, NULL, 0));
	EXPECT_EQ(-EPROTO, vu_msg_recv(self->sv[1], &self->msg));
}

TEST_F(vu, truncated_payload)
{
	__u64 v = 0;

	/* The header announces 40 bytes, 8 come, then the peer is gone. */
	ASSERT_EQ(0, send_raw(self->sv[0], VU_SET_VRING_ADDR, VU_VERSION, 40,
			      &v, 8, NULL, 0));
	close(self->sv[0]);
	self->sv[0] = -1;
	EXPECT_EQ(-EPIPE, vu_msg_recv(self->sv[1], &self->msg));
}

TEST_F(vu, wrong_sizes)
{
	struct vu_vring_state s = { 0, 256 };
	__u32 small = 0;

	ASSERT_EQ(0, send_msg(self->sv[0], VU_SET_FEATURES, &small,
			      sizeof(small), NULL, 0));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
	ASSERT_EQ(0, send_msg(self->sv[0], VU_SET_VRING_ADDR, &s, sizeof(s),
			      NULL, 0));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
	ASSERT_EQ(0, send_msg(self->sv[0], VU_SET_VRING_NUM, &s, sizeof(s),
			      NULL, 0));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(0, vu_msg_check(&self->msg));
	EXPECT_EQ(256, self->msg.state.num);
	ASSERT_EQ(0, send_msg(self->sv[0], 99, NULL, 0, NULL, 0));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EOPNOTSUPP, vu_msg_check(&self->msg));
	EXPECT_STREQ("UNKNOWN", vu_request_name(99));
	EXPECT_STREQ("UNKNOWN", vu_request_name(0xffffffffU));
}

TEST_F(vu, vring_fd_counts)
{
	int e[2] = { eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC) };
	__u64 idx = 1;
	__u64 nofd = VU_VRING_NOFD | 1;
	__u64 junk = 0x200;

	ASSERT_GE(e[0], 0);
	ASSERT_GE(e[1], 0);
	/* One descriptor: fine; the message owns it until taken. */
	ASSERT_EQ(0, send_msg(self->sv[0], VU_SET_VRING_KICK, &idx, 8, e, 1));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(0, vu_msg_check(&self->msg));
	EXPECT_EQ(1, self->msg.nfds);
	vu_msg_close_fds(&self->msg);
	/* Two descriptors, or one with NOFD, or unknown bits: refused. */
	ASSERT_EQ(0, send_msg(self->sv[0], VU_SET_VRING_CALL, &idx, 8, e, 2));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
	vu_msg_close_fds(&self->msg);
	ASSERT_EQ(0, send_msg(self->sv[0], VU_SET_VRING_ERR, &nofd, 8, e, 1));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
	vu_msg_close_fds(&self->msg);
	ASSERT_EQ(0, send_msg(self->sv[0], VU_SET_VRING_ERR, &nofd, 8, NULL, 0));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(0, vu_msg_check(&self->msg));
	ASSERT_EQ(0, send_msg(self->sv[0], VU_SET_VRING_KICK, &junk, 8, e, 1));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
	vu_msg_close_fds(&self->msg);
	/* Descriptors on a request that takes none. */
	ASSERT_EQ(0, send_msg(self->sv[0], VU_GET_FEATURES, NULL, 0, e, 1));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
	vu_msg_close_fds(&self->msg);
	close(e[0]);
	close(e[1]);
	EXPECT_EQ(self->fds0, count_fds());
}

TEST_F(vu, too_many_fds)
{
	int e[12], i;

	for (i = 0; i < 12; i++) {
		e[i] = eventfd(0, EFD_CLOEXEC);
		ASSERT_GE(e[i], 0);
	}
	ASSERT_EQ(0, send_msg(self->sv[0], VU_SET_MEM_TABLE, NULL, 0, e, 12));
	EXPECT_EQ(-EPROTO, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(0, self->msg.nfds);
	for (i = 0; i < 12; i++)
		close(e[i]);
	EXPECT_EQ(self->fds0, count_fds());
}

TEST_F(vu, config_window)
{
	struct vu_config c = { .offset = 0, .size = 60 };

	ASSERT_EQ(0, send_msg(self->sv[0], VU_GET_CONFIG, &c,
			      VU_CONFIG_HDR_SIZE + 60, NULL, 0));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(0, vu_msg_check(&self->msg));
	/* Window past the config space. */
	c.offset = 200;
	ASSERT_EQ(0, send_msg(self->sv[0], VU_GET_CONFIG, &c,
			      VU_CONFIG_HDR_SIZE + 60, NULL, 0));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
	/* Size field disagreeing with the message size. */
	c.offset = 0;
	ASSERT_EQ(0, send_msg(self->sv[0], VU_SET_CONFIG, &c,
			      VU_CONFIG_HDR_SIZE + 8, NULL, 0));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
	/* Wrapping offset + size. */
	c.offset = 0xfffffff0;
	c.size = 0x20;
	ASSERT_EQ(0, send_msg(self->sv[0], VU_GET_CONFIG, &c,
			      VU_CONFIG_HDR_SIZE, NULL, 0));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
}

/*
 * SET_LOG_BASE (LOG_SHMFD): a size, an offset and the descriptor of the
 * log. The mapping shows QEMU's bytes at the offset; a log beyond the
 * file, a wrong payload size or a missing descriptor is refused, and no
 * descriptor or mapping is left behind.
 */
static int send_log(int sock, __u64 size, __u64 off, int fd)
{
	struct vu_log l = { .mmap_size = size, .mmap_offset = off };

	return send_msg(sock, VU_SET_LOG_BASE, &l, sizeof(l), &fd,
			fd >= 0 ? 1 : 0);
}

TEST_F(vu, set_log_base)
{
	const size_t fsize = 3 * 4096;
	int fd = memfd_create("log", MFD_CLOEXEC), maps0 = count_maps();
	struct vu_logmap log;
	struct vu_log l = { .mmap_size = 4096 };
	__u64 big[3] = { 4096, 0, 0 };
	__u8 *qemu;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, fsize));
	qemu = mmap(NULL, fsize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, qemu);
	maps0++;

	/* Good: 8 KiB at an unaligned offset; both sides see the bits. */
	ASSERT_EQ(0, send_log(self->sv[0], 8192, 100, fd));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_STREQ("SET_LOG_BASE", vu_request_name(self->msg.hdr.request));
	ASSERT_EQ(0, vu_msg_check(&self->msg));
	ASSERT_EQ(0, vu_log_map(&log, &self->msg));
	EXPECT_EQ(8192ULL, log.size);
	log.bits[0] = 0x81;
	log.bits[8191] = 0x42;
	EXPECT_EQ(0x81, qemu[100]);
	EXPECT_EQ(0x42, qemu[100 + 8191]);
	EXPECT_EQ(self->fds0 + 1, count_fds());
	EXPECT_EQ(maps0 + 1, count_maps());
	vu_log_unmap(&log);
	EXPECT_EQ(NULL, log.map);
	vu_log_unmap(&log);
	EXPECT_EQ(maps0, count_maps());
	/* The whole file is fine too. */
	ASSERT_EQ(0, send_log(self->sv[0], fsize, 0, fd));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	ASSERT_EQ(0, vu_msg_check(&self->msg));
	ASSERT_EQ(0, vu_log_map(&log, &self->msg));
	vu_log_unmap(&log);

	/* Wrong payload sizes (the legacy u64 form is not spoken). */
	ASSERT_EQ(0, send_msg(self->sv[0], VU_SET_LOG_BASE, &l, sizeof(__u64),
			      &fd, 1));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
	vu_msg_close_fds(&self->msg);
	ASSERT_EQ(0, send_msg(self->sv[0], VU_SET_LOG_BASE, big, sizeof(big),
			      &fd, 1));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
	vu_msg_close_fds(&self->msg);
	ASSERT_EQ(0, send_msg(self->sv[0], VU_SET_LOG_BASE, NULL, 0, &fd, 1));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
	vu_msg_close_fds(&self->msg);
	/* No descriptor, or two. */
	ASSERT_EQ(0, send_log(self->sv[0], 4096, 0, -1));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
	{
		int two[2] = { fd, fd };

		ASSERT_EQ(0, send_msg(self->sv[0], VU_SET_LOG_BASE, &l,
				      sizeof(l), two, 2));
		ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
		EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
		vu_msg_close_fds(&self->msg);
	}
	/* Empty, or offset + size wrapping: refused by the check. */
	ASSERT_EQ(0, send_log(self->sv[0], 0, 0, fd));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
	vu_msg_close_fds(&self->msg);
	ASSERT_EQ(0, send_log(self->sv[0], 4096, ~0ULL - 100, fd));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
	vu_msg_close_fds(&self->msg);
	/* Size, or size plus offset, beyond the file: refused by the mapper. */
	ASSERT_EQ(0, send_log(self->sv[0], fsize + 1, 0, fd));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	ASSERT_EQ(0, vu_msg_check(&self->msg));
	EXPECT_EQ(-EINVAL, vu_log_map(&log, &self->msg));
	EXPECT_EQ(NULL, log.map);
	ASSERT_EQ(0, send_log(self->sv[0], fsize, 1, fd));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	ASSERT_EQ(0, vu_msg_check(&self->msg));
	EXPECT_EQ(-EINVAL, vu_log_map(&log, &self->msg));
	ASSERT_EQ(0, send_log(self->sv[0], 4096, 1ULL << 40, fd));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	ASSERT_EQ(0, vu_msg_check(&self->msg));
	EXPECT_EQ(-EINVAL, vu_log_map(&log, &self->msg));
	/* Not a file that can back a log: an eventfd. */
	{
		int efd = eventfd(0, EFD_CLOEXEC);

		ASSERT_LE(0, efd);
		ASSERT_EQ(0, send_log(self->sv[0], 8, 0, efd));
		close(efd);
		ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
		ASSERT_EQ(0, vu_msg_check(&self->msg));
		EXPECT_EQ(-EINVAL, vu_log_map(&log, &self->msg));
	}
	EXPECT_EQ(self->fds0 + 1, count_fds());
	EXPECT_EQ(maps0, count_maps());

	/* SET_LOG_FD: one descriptor, no payload or a u64. */
	ASSERT_EQ(0, send_msg(self->sv[0], VU_SET_LOG_FD, NULL, 0, &fd, 1));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(0, vu_msg_check(&self->msg));
	vu_msg_close_fds(&self->msg);
	ASSERT_EQ(0, send_msg(self->sv[0], VU_SET_LOG_FD, NULL, 0, NULL, 0));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
	munmap(qemu, fsize);
	close(fd);
	EXPECT_EQ(self->fds0, count_fds());
}

#define MEM_SIZE	(4UL << 20)
/* "QEMU's" address of guest memory byte @off. */
#define QADDR(off)	((__u64)(uintptr_t)self->qemu + (off))

/* Guest memory: one memfd split into two regions, as QEMU does. */
FIXTURE(mem) {
	int sv[2];
	int memfd;
	__u8 *qemu;		/* "QEMU's" own mapping */
	struct vu_memory m;
	struct vu_mem cur;
	struct vu_msg msg;
};

FIXTURE_SETUP(mem)
{
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				self->sv));
	self->memfd = memfd_create("guest", MFD_CLOEXEC);
	ASSERT_GE(self->memfd, 0);
	ASSERT_EQ(0, ftruncate(self->memfd, MEM_SIZE));
	self->qemu = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			  self->memfd, 0);
	ASSERT_NE(MAP_FAILED, self->qemu);
	memset(&self->m, 0, sizeof(self->m));
	self->m.nregions = 2;
	self->m.regions[0] = (struct vu_region){
		.gpa = 0, .size = 1UL << 20,
		.uaddr = (__u64)(uintptr_t)self->qemu, .mmap_offset = 0 };
	self->m.regions[1] = (struct vu_region){
		.gpa = 0x100000000ULL, .size = MEM_SIZE - (1UL << 20),
		.uaddr = (__u64)(uintptr_t)self->qemu + (1UL << 20),
		.mmap_offset = 1UL << 20 };
	memset(&self->cur, 0, sizeof(self->cur));
}

FIXTURE_TEARDOWN(mem)
{
	vu_mem_unmap(&self->cur);
	munmap(self->qemu, MEM_SIZE);
	close(self->memfd);
	close(self->sv[0]);
	close(self->sv[1]);
}

static int send_mem(int sock, const struct vu_memory *m, int fd,
		    int nfds)
{
	int fds[VU_MAX_FDS];
	int i;

	for (i = 0; i < nfds; i++)
		fds[i] = fd;
	return send_msg(sock, VU_SET_MEM_TABLE, m,
			offsetof(struct vu_memory, regions) +
			m->nregions * sizeof(m->regions[0]), fds, nfds);
}

TEST_F(mem, map_translate_remap)
{
	static const struct vu_mem none;
	struct vu_mem next;
	__u8 *p, *q;
	int fds0 = count_fds(), maps0 = count_maps();

	ASSERT_EQ(0, send_mem(self->sv[0], &self->m, self->memfd, 2));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	ASSERT_EQ(0, vu_msg_check(&self->msg));
	ASSERT_EQ(0, vu_mem_map(&self->cur, &none, &self->msg));
	ASSERT_EQ(2, self->cur.n);
	EXPECT_EQ(fds0, count_fds());

	/* Both mappings show QEMU's bytes at the translated addresses. */
	self->qemu[100] = 0xa5;
	self->qemu[(2UL << 20) + 7] = 0x5a;
	p = (void *)(uintptr_t)vu_mem_translate(&self->cur, QADDR(100), 16);
	ASSERT_NE(NULL, p);
	EXPECT_NE(self->qemu + 100, p);
	EXPECT_EQ(0xa5, *p);
	q = (void *)(uintptr_t)vu_mem_translate(&self->cur,
						QADDR((2UL << 20) + 7), 1);
	ASSERT_NE(NULL, q);
	EXPECT_EQ(0x5a, *q);
	/* Straddling two regions, or outside every region: no address. */
	EXPECT_EQ(0, vu_mem_translate(&self->cur, QADDR((1UL << 20) - 8), 16));
	EXPECT_EQ(0, vu_mem_translate(&self->cur, QADDR(MEM_SIZE), 1));
	EXPECT_EQ(0, vu_mem_translate(&self->cur, 0, 1));

	/* The same table again keeps the mappings (rings stay valid). */
	ASSERT_EQ(0, send_mem(self->sv[0], &self->m, self->memfd, 2));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	ASSERT_EQ(0, vu_mem_map(&next, &self->cur, &self->msg));
	EXPECT_EQ(self->cur.maps[0].base, next.maps[0].base);
	EXPECT_EQ(self->cur.maps[1].base, next.maps[1].base);
	vu_mem_unmap_stale(&self->cur, &next);
	self->cur = next;
	EXPECT_EQ(0xa5, *p);

	/* A changed region is mapped anew, the dropped one unmapped. */
	self->m.regions[1].size -= 1UL << 20;
	ASSERT_EQ(0, send_mem(self->sv[0], &self->m, self->memfd, 2));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	ASSERT_EQ(0, vu_mem_map(&next, &self->cur, &self->msg));
	EXPECT_EQ(self->cur.maps[0].base, next.maps[0].base);
	EXPECT_NE(self->cur.maps[1].base, next.maps[1].base);
	vu_mem_unmap_stale(&self->cur, &next);
	self->cur = next;
	q = (void *)(uintptr_t)vu_mem_translate(&self->cur,
						QADDR((2UL << 20) + 7), 1);
	ASSERT_NE(NULL, q);
	EXPECT_EQ(0x5a, *q);
	EXPECT_EQ(fds0, count_fds());
	vu_mem_unmap(&self->cur);
	EXPECT_EQ(maps0, count_maps());
}

TEST_F(mem, bad_tables)
{
	static const struct vu_mem none;
	struct vu_memory m = self->m;
	int fds0 = count_fds(), maps0 = count_maps();

	/* Fewer descriptors than regions. */
	ASSERT_EQ(0, send_mem(self->sv[0], &m, self->memfd, 1));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
	vu_msg_close_fds(&self->msg);
	/* More regions than the protocol allows. */
	m.nregions = VU_MAX_REGIONS + 1;
	ASSERT_EQ(0, send_msg(self->sv[0], VU_SET_MEM_TABLE, &m,
			      sizeof(m), NULL, 0));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
	/* Wrapping region. */
	m = self->m;
	m.regions[0].gpa = ~0ULL - 10;
	ASSERT_EQ(0, send_mem(self->sv[0], &m, self->memfd, 2));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	EXPECT_EQ(-EINVAL, vu_msg_check(&self->msg));
	vu_msg_close_fds(&self->msg);
	/* Beyond the end of the file: refused by the mapper, fds closed. */
	m = self->m;
	m.regions[1].size += 1UL << 20;
	ASSERT_EQ(0, send_mem(self->sv[0], &m, self->memfd, 2));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	ASSERT_EQ(0, vu_msg_check(&self->msg));
	EXPECT_EQ(-EINVAL, vu_mem_map(&self->cur, &none, &self->msg));
	EXPECT_EQ(0, self->cur.n);
	/* Unaligned offset. */
	m = self->m;
	m.regions[1].mmap_offset += 8;
	m.regions[1].size -= 1UL << 20;
	ASSERT_EQ(0, send_mem(self->sv[0], &m, self->memfd, 2));
	ASSERT_EQ(1, vu_msg_recv(self->sv[1], &self->msg));
	ASSERT_EQ(0, vu_msg_check(&self->msg));
	EXPECT_EQ(-EINVAL, vu_mem_map(&self->cur, &none, &self->msg));
	EXPECT_EQ(0, self->cur.n);
	EXPECT_EQ(fds0, count_fds());
	EXPECT_EQ(maps0, count_maps());
}

TEST_HARNESS_MAIN
