// SPDX-License-Identifier: GPL-2.0
/*
 * vhostctl serve-blk: a vhost-user-blk back end for stock QEMU whose
 * requests the kernel serves.
 *
 * QEMU (-device vhost-user-blk-pci) connects to a unix socket and speaks
 * vhost-user. For each connection the bridge opens /dev/vhost-blk-lite,
 * maps the guest memory QEMU shares, gives the kernel device the memory
 * table in the bridge's own address space, the ring addresses translated
 * into it, and QEMU's kick, call and error eventfds as they are. The
 * kernel then serves every request; no request or data byte passes
 * through this process.
 *
 * The kernel's backend (the disk file) is attached while the rings run:
 * from the first SET_VRING_ENABLE(1) (or, without protocol features, the
 * first SET_VRING_KICK) to the next GET_VRING_BASE, ring reconfiguration,
 * reset or disconnect. Detaching waits for the requests in flight, so the
 * ring indices GET_VRING_BASE reports are final.
 *
 * Live migration (VHOST_USER_PROTOCOL_F_LOG_SHMFD): QEMU shares its dirty
 * log as a file descriptor (SET_LOG_BASE); the bridge maps it and gives
 * the kernel its address here, so the kernel marks the pages it writes
 * directly in QEMU's bitmap. VHOST_F_LOG_ALL and the used ring's log flag
 * pass through; switching them does not stop the rings.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/virtio_config.h>

#include "vhost_dev.h"
#include "vhost_user.h"
#include "vhostctl.h"

/* Queues a bridge serves at most (QEMU's own limit is 1024). */
#define SB_MAX_QUEUES		64

/* Features the bridge cannot pass through: ACCESS_PLATFORM needs an
 * IOTLB, CONFIG_WCE a SET_CONFIG the kernel has not.
 */
#define SB_FEATURES_MASKED	((1ULL << VIRTIO_F_ACCESS_PLATFORM) | \
				 (1ULL << VIRTIO_BLK_F_CONFIG_WCE))

/* LOG_SHMFD: QEMU shares the dirty log, which the kernel writes. */
#define SB_PROTOCOL_FEATURES	((1ULL << VU_PROTOCOL_F_MQ) | \
				 (1ULL << VU_PROTOCOL_F_LOG_SHMFD) | \
				 (1ULL << VU_PROTOCOL_F_REPLY_ACK) | \
				 (1ULL << VU_PROTOCOL_F_CONFIG))

struct sb_opts {
	const char *socket;
	const char *backing;
	const char *serial;
	unsigned int queues;
	bool ro;
	bool verbose;
};

/**
 * struct sb_conn - one front-end connection and its kernel device
 * @o: options
 * @backing: the disk file
 * @sock: connected socket
 * @kdev: the kernel device
 * @mem: the guest memory, mapped here
 * @log: the dirty log QEMU shares (SET_LOG_BASE), mapped here
 * @kfeatures: features the kernel offers
 * @offered: features offered to the front end
 * @acked: features the front end acknowledged
 * @protocol: protocol features the front end acknowledged
 * @config: config space the kernel reported, num_queues patched
 * @kqueues: queues the kernel device has (its config's num_queues)
 * @attached: the kernel has the backend attached (rings run)
 * @num: ring sizes, for checking ring addresses
 * @kick: a copy of each ring's kick eventfd, to kick after attaching
 * @enabled: SET_VRING_ENABLE state of each ring
 */
struct sb_conn {
	const struct sb_opts *o;
	int backing;
	int sock;
	struct vhost_dev kdev;
	struct vu_mem mem;
	struct vu_logmap log;
	__u64 kfeatures;
	__u64 offered;
	__u64 acked;
	__u64 protocol;
	__u8 config[VU_CONFIG_SPACE];
	unsigned int kqueues;
	bool attached;
	unsigned int num[SB_MAX_QUEUES];
	int kick[SB_MAX_QUEUES];
	bool enabled[SB_MAX_QUEUES];
};

/*
 * Set by SIGINT/SIGTERM, which are blocked except inside ppoll(): the flag
 * is read after that call returns, so it needs no volatile.
 */
static sig_atomic_t sb_stop;

static void sb_on_signal(int sig)
{
	(void)sig;
	sb_stop = 1;
}

static void sb_log(const struct sb_conn *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "serve-blk %s: ", c->o->socket);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static __u32 sb_backend_flags(const struct sb_conn *c)
{
	return c->o->ro ? VHOST_BLK_LITE_F_RO : 0;
}

/* Open the kernel device, make it ours and learn config and features. */
static int sb_kdev_open(struct sb_conn *c)
{
	struct virtio_blk_config cfg;
	__le16 nq = htole16((__u16)c->o->queues);
	unsigned int i;
	int ret;

	c->attached = false;
	for (i = 0; i < SB_MAX_QUEUES; i++) {
		c->num[i] = 0;
		c->kick[i] = -1;
		c->enabled[i] = false;
	}
	ret = vhost_dev_open(&c->kdev, vhost_blk_dev_path());
	if (ret) {
		sb_log(c, "open %s: %s", vhost_blk_dev_path(), strerror(-ret));
		return ret;
	}
	ret = vhost_dev_set_owner(&c->kdev);
	if (!ret && c->o->serial)
		ret = vhost_blk_set_serial(&c->kdev, c->o->serial);
	if (!ret)
		ret = vhost_blk_set_backend(&c->kdev, c->backing,
					    sb_backend_flags(c));
	if (!ret)
		ret = vhost_blk_get_config(&c->kdev, &cfg);
	if (!ret)
		ret = vhost_dev_get_features(&c->kdev, &c->kfeatures);
	if (!ret)
		ret = vhost_blk_set_backend(&c->kdev, -1, 0);
	if (ret) {
		sb_log(c, "setting up %s: %s", vhost_blk_dev_path(),
		       strerror(-ret));
		vhost_dev_close(&c->kdev);
		return ret;
	}
	c->kqueues = le16toh(cfg.num_queues) ? le16toh(cfg.num_queues) : 1;
	memset(c->config, 0, sizeof(c->config));
	memcpy(c->config, &cfg, sizeof(cfg) < sizeof(c->config) ?
				sizeof(cfg) : sizeof(c->config));
	memcpy(c->config + offsetof(struct virtio_blk_config, num_queues),
	       &nq, sizeof(nq));
	c->offered = (c->kfeatures & ~SB_FEATURES_MASKED) |
		     (1ULL << VU_F_PROTOCOL_FEATURES);
	if (c->o->ro)
		c->offered |= 1ULL << VIRTIO_BLK_F_RO;
	return 0;
}

/* Close the kernel device (it finishes its requests), then unmap. */
static void sb_kdev_close(struct sb_conn *c)
{
	unsigned int i;

	vhost_dev_close(&c->kdev);
	vu_mem_unmap(&c->mem);
	vu_log_unmap(&c->log);
	for (i = 0; i < SB_MAX_QUEUES; i++) {
		if (c->kick[i] >= 0)
			close(c->kick[i]);
		c->kick[i] = -1;
	}
	c->attached = false;
}

static int sb_detach(struct sb_conn *c)
{
	int ret;

	if (!c->attached)
		return 0;
	ret = vhost_blk_set_backend(&c->kdev, -1, 0);
	if (ret)
		sb_log(c, "detaching the backend: %s", strerror(-ret));
	else
		c->attached = false;
	return ret;
}

/* Attach the backend once a ring is enabled, and kick the enabled rings
 * so requests queued before are served.
 */
static int sb_attach(struct sb_conn *c)
{
	unsigned int i;
	int ret;

	if (c->attached || !c->mem.n)
		return 0;
	for (i = 0; i < c->o->queues; i++)
		if (c->enabled[i] && c->kick[i] >= 0)
			break;
	if (i == c->o->queues)
		return 0;
	ret = vhost_blk_set_backend(&c->kdev, c->backing, sb_backend_flags(c));
	if (ret) {
		sb_log(c, "attaching the backend: %s", strerror(-ret));
		return ret;
	}
	c->attached = true;
	for (i = 0; i < c->o->queues; i++)
		if (c->enabled[i] && c->kick[i] >= 0)
			eventfd_write(c->kick[i], 1);
	return 0;
}

static int sb_set_mem_table(struct sb_conn *c, struct vu_msg *msg)
{
	struct vhost_memory_region r[VU_MAX_REGIONS];
	struct vu_mem next;
	unsigned int i;
	int ret;

	ret = vu_mem_map(&next, &c->mem, msg);
	if (ret)
		return ret;
	for (i = 0; i < next.n; i++) {
		r[i].guest_phys_addr = next.maps[i].r.gpa;
		r[i].memory_size = next.maps[i].r.size;
		r[i].userspace_addr = (__u64)(uintptr_t)next.maps[i].base;
		r[i].flags_padding = 0;
	}
	ret = vhost_dev_set_mem_table(&c->kdev, r, next.n);
	if (ret) {
		vu_mem_unmap_stale(&next, &c->mem);
		return ret;
	}
	vu_mem_unmap_stale(&c->mem, &next);
	c->mem = next;
	return 0;
}

/* Is guest-physical [gpa, gpa + len) inside one region? */
static bool sb_gpa_ok(const struct sb_conn *c, __u64 gpa, __u64 len)
{
	unsigned int i;

	for (i = 0; i < c->mem.n; i++) {
		const struct vu_region *r = &c->mem.maps[i].r;

		if (gpa >= r->gpa && gpa - r->gpa < r->size &&
		    len <= r->size - (gpa - r->gpa))
			return true;
	}
	return false;
}

/*
 * Ring addresses are QEMU's virtual addresses: translated into ours. The
 * used ring's log address is guest-physical in vhost-user as in the
 * kernel's uapi: it passes as it is, once checked to be guest memory. A
 * running ring may only switch logging (a migration starts or ends): the
 * kernel does that without stopping it, anything else needs it detached.
 */
static int sb_set_vring_addr(struct sb_conn *c, const struct vu_vring_addr *a)
{
	__u64 num = c->num[a->index], desc, avail, used;
	int ret;

	if (!num)
		return -EINVAL;
	if (a->flags & ~(1U << VHOST_VRING_F_LOG))
		return -EINVAL;
	desc = vu_mem_translate(&c->mem, a->desc, 16 * num);
	avail = vu_mem_translate(&c->mem, a->avail, 6 + 2 * num);
	used = vu_mem_translate(&c->mem, a->used, 6 + 8 * num);
	if (!desc || !avail || !used)
		return -EFAULT;
	if ((a->flags & (1U << VHOST_VRING_F_LOG)) &&
	    !sb_gpa_ok(c, a->log, 6 + 8 * num))
		return -EFAULT;
	ret = vhost_dev_set_vring_addr(&c->kdev, a->index, desc, avail, used,
				       a->flags, a->log);
	if (ret == -EBUSY && c->attached) {
		ret = sb_detach(c);
		if (!ret)
			ret = vhost_dev_set_vring_addr(&c->kdev, a->index,
						       desc, avail, used,
						       a->flags, a->log);
	}
	return ret;
}

/* Bitmap bytes that cover every region of the memory table. */
static __u64 sb_log_bytes(const struct sb_conn *c)
{
	__u64 end = 0;
	unsigned int i;

	for (i = 0; i < c->mem.n; i++)
		if (c->mem.maps[i].r.gpa + c->mem.maps[i].r.size > end)
			end = c->mem.maps[i].r.gpa + c->mem.maps[i].r.size;
	return ((end + 4095) / 4096 + 7) / 8;
}

/*
 * SET_LOG_BASE: map QEMU's log, which must cover guest memory, and hand
 * its address here to the kernel; the previous log goes once the kernel
 * switched.
 */
static int sb_set_log_base(struct sb_conn *c, struct vu_msg *msg)
{
	struct vu_logmap next;
	int ret;

	ret = vu_log_map(&next, msg);
	if (ret)
		return ret;
	if (next.size < sb_log_bytes(c)) {
		sb_log(c, "dirty log of %llu bytes does not cover guest memory",
		       (unsigned long long)next.size);
		ret = -EINVAL;
	} else {
		ret = vhost_dev_set_log_base(&c->kdev, next.bits);
	}
	if (ret) {
		vu_log_unmap(&next);
		return ret;
	}
	vu_log_unmap(&c->log);
	c->log = next;
	return 0;
}

static int sb_set_log_fd(struct sb_conn *c, struct vu_msg *msg)
{
	int fd = vu_msg_take_fd(msg, 0), ret;

	ret = vhost_dev_set_log_fd(&c->kdev, fd);
	close(fd);
	return ret;
}

static int sb_set_vring_fd(struct sb_conn *c, struct vu_msg *msg)
{
	unsigned int idx = msg->u64 & VU_VRING_IDX_MASK;
	int fd = vu_msg_take_fd(msg, 0), ret;

	switch (msg->hdr.request) {
	case VU_SET_VRING_KICK:
		ret = vhost_dev_set_vring_kick(&c->kdev, idx, fd);
		if (c->kick[idx] >= 0)
			close(c->kick[idx]);
		c->kick[idx] = ret ? -1 : fd;
		if (ret && fd >= 0)
			close(fd);
		if (!ret && !(c->acked & (1ULL << VU_F_PROTOCOL_FEATURES))) {
			/* Without protocol features a ring runs once kicked. */
			c->enabled[idx] = true;
			ret = sb_attach(c);
		}
		return ret;
	case VU_SET_VRING_CALL:
		ret = vhost_dev_set_vring_call(&c->kdev, idx, fd);
		break;
	default:
		ret = vhost_dev_set_vring_err(&c->kdev, idx, fd);
		break;
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

static int sb_set_vring_enable(struct sb_conn *c, unsigned int idx,
			       unsigned int on)
{
	unsigned int i;

	if (on > 1)
		return -EINVAL;
	c->enabled[idx] = on;
	if (on)
		return sb_attach(c);
	for (i = 0; i < c->o->queues; i++)
		if (c->enabled[i])
			return 0;
	return sb_detach(c);
}

static int sb_set_features(struct sb_conn *c, __u64 f)
{
	int ret;

	if (f & ~c->offered)
		return -EINVAL;
	ret = vhost_dev_set_features(&c->kdev, f & c->kfeatures);
	if (!ret)
		c->acked = f;
	return ret;
}

/* Requests with a reply of their own. Return: 0, or < 0 to disconnect. */
static int sb_handle_get(struct sb_conn *c, struct vu_msg *msg)
{
	struct vu_vring_state s;
	unsigned int base;
	int ret;

	switch (msg->hdr.request) {
	case VU_GET_FEATURES:
		return vu_reply_u64(c->sock, msg, c->offered);
	case VU_GET_PROTOCOL_FEATURES:
		return vu_reply_u64(c->sock, msg, SB_PROTOCOL_FEATURES);
	case VU_GET_QUEUE_NUM:
		return vu_reply_u64(c->sock, msg, c->o->queues);
	case VU_GET_VRING_BASE:
		/* Stop: detaching waits for the requests in flight. */
		ret = sb_detach(c);
		if (!ret)
			ret = vhost_dev_get_vring_base(&c->kdev,
						       msg->state.index, &base);
		if (ret)
			return ret;
		c->enabled[msg->state.index] = false;
		s.index = msg->state.index;
		s.num = base;
		return vu_reply(c->sock, msg, &s, sizeof(s));
	case VU_GET_CONFIG:
		memcpy(msg->config.region, c->config + msg->config.offset,
		       msg->config.size);
		return vu_reply(c->sock, msg, &msg->config, msg->hdr.size);
	case VU_SET_LOG_BASE:
		/* QEMU waits for an empty reply (not a REPLY_ACK). */
		ret = sb_set_log_base(c, msg);
		return ret ? ret : vu_reply(c->sock, msg, NULL, 0);
	}
	return -EOPNOTSUPP;
}

/* Requests without a reply of their own: 0 or a negative errno. */
static int sb_handle_set(struct sb_conn *c, struct vu_msg *msg)
{
	unsigned int idx = msg->state.index;
	int ret;

	switch (msg->hdr.request) {
	case VU_SET_FEATURES:
		return sb_set_features(c, msg->u64);
	case VU_SET_PROTOCOL_FEATURES:
		if (msg->u64 & ~SB_PROTOCOL_FEATURES)
			return -EINVAL;
		c->protocol = msg->u64;
		return 0;
	case VU_SET_OWNER:
		/* The kernel device has been ours since the connection. */
		return 0;
	case VU_RESET_OWNER:
	case VU_RESET_DEVICE:
		sb_kdev_close(c);
		c->acked = 0;
		return sb_kdev_open(c);
	case VU_SET_MEM_TABLE:
		return sb_set_mem_table(c, msg);
	case VU_SET_VRING_NUM:
		ret = sb_detach(c);
		if (!ret)
			ret = vhost_dev_set_vring_num(&c->kdev, idx,
						      msg->state.num);
		c->num[idx] = ret ? 0 : msg->state.num;
		return ret;
	case VU_SET_VRING_BASE:
		ret = sb_detach(c);
		return ret ? ret : vhost_dev_set_vring_base(&c->kdev, idx,
							    msg->state.num);
	case VU_SET_VRING_ADDR:
		return sb_set_vring_addr(c, &msg->addr);
	case VU_SET_LOG_FD:
		return sb_set_log_fd(c, msg);
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR:
		return sb_set_vring_fd(c, msg);
	case VU_SET_VRING_ENABLE:
		return sb_set_vring_enable(c, idx, msg->state.num);
	case VU_SET_CONFIG:
		/* The only writable field is wce, and CONFIG_WCE is masked. */
		return -EPERM;
	}
	return -EOPNOTSUPP;
}

static bool sb_has_reply(__u32 request)
{
	switch (request) {
	case VU_GET_FEATURES:
	case VU_GET_PROTOCOL_FEATURES:
	case VU_GET_QUEUE_NUM:
	case VU_GET_VRING_BASE:
	case VU_GET_CONFIG:
	case VU_GET_MAX_MEM_SLOTS:
	case VU_SET_LOG_BASE:
		return true;
	}
	return false;
}

/* Index of the virtqueue a request names, or -1 for none. */
static int sb_vq_index(const struct vu_msg *msg)
{
	switch (msg->hdr.request) {
	case VU_SET_VRING_NUM:
	case VU_SET_VRING_BASE:
	case VU_GET_VRING_BASE:
	case VU_SET_VRING_ENABLE:
	case VU_SET_VRING_ADDR:
		return (int)msg->state.index;
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR:
		return (int)(msg->u64 & VU_VRING_IDX_MASK);
	}
	return -1;
}

/* One request. Return: 0 to go on, < 0 to drop the connection. */
static int sb_handle(struct sb_conn *c, struct vu_msg *msg)
{
	__u32 req = msg->hdr.request;
	int ret, idx;

	ret = vu_msg_check(msg);
	idx = sb_vq_index(msg);
	if (!ret && idx >= 0 && (unsigned int)idx >= c->o->queues)
		ret = -EINVAL;
	if (c->o->verbose)
		sb_log(c, "%s size=%u fds=%u%s", vu_request_name(req),
		       msg->hdr.size, msg->nfds, ret ? " (refused)" : "");
	if (!ret)
		ret = sb_has_reply(req) ? sb_handle_get(c, msg) :
					  sb_handle_set(c, msg);
	vu_msg_close_fds(msg);
	if (sb_has_reply(req)) {
		/* No answer is worse than none: QEMU would wait forever. */
		if (ret)
			sb_log(c, "%s failed: %s; disconnecting",
			       vu_request_name(req), strerror(-ret));
		return ret;
	}
	if (ret)
		sb_log(c, "%s failed: %s", vu_request_name(req),
		       strerror(-ret));
	if ((msg->hdr.flags & VU_FLAG_NEED_REPLY) &&
	    (c->protocol & (1ULL << VU_PROTOCOL_F_REPLY_ACK)))
		return vu_reply_u64(c->sock, msg, ret ? 1 : 0);
	return 0;
}

/* Wait until @fd is readable or a stop signal came (blocked otherwise). */
static int sb_wait(int fd, const sigset_t *unblocked)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (!sb_stop) {
		if (ppoll(&p, 1, NULL, unblocked) > 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
	return -EINTR;
}

static void sb_serve(struct sb_conn *c, const sigset_t *unblocked)
{
	struct vu_msg msg;
	int ret;

	if (sb_kdev_open(c))
		return;
	for (;;) {
		ret = sb_wait(c->sock, unblocked);
		if (!ret)
			ret = vu_msg_recv(c->sock, &msg);
		if (ret <= 0)
			break;
		ret = sb_handle(c, &msg);
		if (ret)
			break;
	}
	if (ret < 0 && ret != -EINTR)
		sb_log(c, "connection error: %s", strerror(-ret));
	sb_kdev_close(c);
}

static int sb_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "serve-blk: socket path too long: %s\n", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* Replace a stale socket, never another kind of file. */
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 1)) {
		fprintf(stderr, "serve-blk: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Check the setup once before listening, so mistakes show at start. */
static int sb_probe(const struct sb_opts *o, int backing)
{
	struct sb_conn c = { .o = o, .backing = backing, .sock = -1 };
	struct virtio_blk_config *cfg = (void *)c.config;
	unsigned int maxq;

	if (sb_kdev_open(&c))
		return -1;
	maxq = c.kqueues;
	fprintf(stderr,
		"serve-blk %s: %s, %llu sectors, features 0x%llx, kernel queues %u\n",
		o->socket, o->backing,
		(unsigned long long)le64toh(cfg->capacity),
		(unsigned long long)c.offered, maxq);
	sb_kdev_close(&c);
	if (o->queues > maxq) {
		fprintf(stderr, "serve-blk: --queues %u: the kernel device has %u\n",
			o->queues, maxq);
		return -1;
	}
	return 0;
}

static void sb_usage(FILE *f)
{
	fprintf(f,
		"usage: vhostctl serve-blk --socket PATH --backing FILE [--queues N]\n"
		"                          [--read-only] [--serial S] [--verbose]\n"
		"Serve QEMU's -device vhost-user-blk-pci,chardev=... on the unix\n"
		"socket PATH with the kernel's %s: the guest's requests\n"
		"go from its rings to FILE (a regular file or block device) in the\n"
		"kernel. QEMU's guest memory must be shareable, e.g.\n"
		"  -object memory-backend-memfd,id=m,size=1G,share=on -machine memory-backend=m\n"
		"One QEMU at a time; after it disconnects the next may connect.\n"
		"Live migration: the destination QEMU needs a bridge of its own (another\n"
		"PATH, the same FILE); QEMU's dirty log is shared with the kernel.\n"
		"SIGINT or SIGTERM ends the bridge.\n",
		vhost_blk_dev_path());
}

static int sb_parse(int argc, char **argv, struct sb_opts *o)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "backing", required_argument, NULL, 'b' },
		{ "queues", required_argument, NULL, 'q' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "serial", required_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long q;
	int opt;

	o->queues = 1;
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			o->socket = optarg;
			break;
		case 'b':
			o->backing = optarg;
			break;
		case 'q':
			q = strtol(optarg, &end, 10);
			if (*end || q < 1 || q > SB_MAX_QUEUES) {
				fprintf(stderr, "serve-blk: --queues takes 1..%d\n",
					SB_MAX_QUEUES);
				return 2;
			}
			o->queues = (unsigned int)q;
			break;
		case 'r':
			o->ro = true;
			break;
		case 'S':
			if (strlen(optarg) > VIRTIO_BLK_ID_BYTES) {
				fprintf(stderr, "serve-blk: --serial: at most %d bytes\n",
					VIRTIO_BLK_ID_BYTES);
				return 2;
			}
			o->serial = optarg;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			sb_usage(stdout);
			return 0;
		default:
			sb_usage(stderr);
			return 2;
		}
	}
	if (!o->socket || !o->backing || optind != argc) {
		sb_usage(stderr);
		return 2;
	}
	return -1;
}

/**
 * cmd_serve_blk() - the serve-blk verb
 * @argc: argument count, argv[0] being "serve-blk"
 * @argv: arguments
 *
 * Return: exit status: 0 after SIGINT/SIGTERM, 1 on a setup error, 2 on a
 * usage error.
 */
int cmd_serve_blk(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = sb_on_signal };
	struct sb_opts o = { 0 };
	sigset_t block, unblocked;
	int backing, lfd, ret;
	struct sb_conn c;
	struct stat st;

	ret = sb_parse(argc, argv, &o);
	if (ret >= 0)
		return ret;
	backing = open(o.backing, (o.ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (backing < 0 || fstat(backing, &st)) {
		fprintf(stderr, "serve-blk: %s: %s\n", o.backing, strerror(errno));
		return 1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		fprintf(stderr, "serve-blk: %s: not a regular file or block device\n",
			o.backing);
		close(backing);
		return 1;
	}

	/* Stop signals are only taken while waiting (ppoll). */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &unblocked);
	sigdelset(&unblocked, SIGINT);
	sigdelset(&unblocked, SIGTERM);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (sb_probe(&o, backing)) {
		close(backing);
		return 1;
	}
	lfd = sb_listen(o.socket);
	if (lfd < 0) {
		close(backing);
		return 1;
	}
	fprintf(stderr, "serve-blk %s: listening\n", o.socket);
	while (!sb_wait(lfd, &unblocked)) {
		memset(&c, 0, sizeof(c));
		c.o = &o;
		c.backing = backing;
		c.sock = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c.sock < 0)
			continue;
		sb_log(&c, "connected");
		sb_serve(&c, &unblocked);
		close(c.sock);
		sb_log(&c, "disconnected");
	}
	close(lfd);
	unlink(o.socket);
	close(backing);
	fprintf(stderr, "serve-blk %s: stopped\n", o.socket);
	return 0;
}
