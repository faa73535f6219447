// SPDX-License-Identifier: GPL-2.0
/*
 * One wrapper per vhost-kernel ioctl (see vhost_dev.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fdinfo.h"
#include "vhost_dev.h"

/**
 * vhost_net_dev_path() - device node the net tests and tools open
 *
 * Return: $VHOST_NET_DEV if set and non-empty, else VHOST_LITE_NET_DEV.
 */
const char *vhost_net_dev_path(void)
{
	const char *p = getenv("VHOST_NET_DEV");

	return p && *p ? p : VHOST_LITE_NET_DEV;
}

/**
 * vhost_vsock_dev_path() - device node the vsock tests and tools open
 *
 * Return: $VHOST_VSOCK_DEV if set and non-empty, else VHOST_LITE_VSOCK_DEV.
 */
const char *vhost_vsock_dev_path(void)
{
	const char *p = getenv("VHOST_VSOCK_DEV");

	return p && *p ? p : VHOST_LITE_VSOCK_DEV;
}

/**
 * vhost_dev_open() - open a vhost device node
 * @d: device
 * @path: node, e.g. vhost_net_dev_path()
 *
 * Return: 0 or a negative errno (-ENOENT when the node does not exist).
 */
int vhost_dev_open(struct vhost_dev *d, const char *path)
{
	d->features = 0;
	d->fd = open(path, O_RDWR | O_CLOEXEC);
	return d->fd < 0 ? -errno : 0;
}

/**
 * vhost_dev_close() - close the device (which releases it in the kernel)
 * @d: device
 */
void vhost_dev_close(struct vhost_dev *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/**
 * vhost_dev_ioctl() - issue any ioctl on the device
 * @d: device
 * @req: request
 * @arg: argument
 *
 * Return: the ioctl's non-negative result or a negative errno.
 */
int vhost_dev_ioctl(const struct vhost_dev *d, unsigned long req, void *arg)
{
	int ret = ioctl(d->fd, req, arg);

	return ret < 0 ? -errno : ret;
}

/**
 * vhost_dev_set_owner() - VHOST_SET_OWNER: bind the device to this process
 * @d: device
 *
 * Return: 0 or a negative errno (-EBUSY when already owned).
 */
int vhost_dev_set_owner(const struct vhost_dev *d)
{
	return vhost_dev_ioctl(d, VHOST_SET_OWNER, NULL);
}

/**
 * vhost_dev_reset_owner() - VHOST_RESET_OWNER: drop the owner and all state
 * @d: device
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_reset_owner(const struct vhost_dev *d)
{
	return vhost_dev_ioctl(d, VHOST_RESET_OWNER, NULL);
}

/**
 * vhost_dev_get_features() - VHOST_GET_FEATURES
 * @d: device
 * @features: set to the features the device offers
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_get_features(const struct vhost_dev *d, __u64 *features)
{
	return vhost_dev_ioctl(d, VHOST_GET_FEATURES, features);
}

/**
 * vhost_dev_set_features() - VHOST_SET_FEATURES
 * @d: device; @d->features records @features on success
 * @features: features to acknowledge
 *
 * Return: 0 or a negative errno (-EOPNOTSUPP for unknown bits).
 */
int vhost_dev_set_features(struct vhost_dev *d, __u64 features)
{
	int ret = vhost_dev_ioctl(d, VHOST_SET_FEATURES, &features);

	if (!ret)
		d->features = features;
	return ret;
}

/**
 * vhost_dev_get_backend_features() - VHOST_GET_BACKEND_FEATURES
 * @d: device
 * @features: set to the backend features the device offers
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_get_backend_features(const struct vhost_dev *d,
				   __u64 *features)
{
	return vhost_dev_ioctl(d, VHOST_GET_BACKEND_FEATURES, features);
}

/**
 * vhost_dev_set_backend_features() - VHOST_SET_BACKEND_FEATURES
 * @d: device
 * @features: backend features to acknowledge
 *
 * Return: 0 or a negative errno (-EOPNOTSUPP for unknown bits).
 */
int vhost_dev_set_backend_features(const struct vhost_dev *d,
				   __u64 features)
{
	return vhost_dev_ioctl(d, VHOST_SET_BACKEND_FEATURES, &features);
}

/**
 * vhost_dev_set_mem_table() - VHOST_SET_MEM_TABLE with any regions
 * @d: device
 * @regions: regions, passed as they are (valid or not)
 * @nregions: number of @regions; also written into the header
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_set_mem_table(const struct vhost_dev *d,
			    const struct vhost_memory_region *regions,
			    unsigned int nregions)
{
	struct vhost_memory *mem;
	int ret;

	mem = calloc(1, sizeof(*mem) + sizeof(*regions) * nregions);
	if (!mem)
		return -ENOMEM;
	mem->nregions = nregions;
	if (nregions)
		memcpy(mem->regions, regions, sizeof(*regions) * nregions);
	ret = vhost_dev_ioctl(d, VHOST_SET_MEM_TABLE, mem);
	free(mem);
	return ret;
}

/**
 * vhost_dev_set_mem_gmem() - register a guest memory arena
 * @d: device
 * @m: arena
 * @nregions: split the arena into this many page-aligned regions
 *	(contiguous in guest-physical and user space), 0 meaning 1; more
 *	regions exercise the device's region lookup
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_set_mem_gmem(const struct vhost_dev *d, const struct gmem *m,
			   unsigned int nregions)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct vhost_memory_region *r;
	size_t pages = m->size / page, chunk, off = 0;
	unsigned int i;
	int ret;

	if (!nregions)
		nregions = 1;
	if (nregions > pages)
		return -EINVAL;
	chunk = pages / nregions * page;
	r = calloc(nregions, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (i = 0; i < nregions; i++) {
		r[i].guest_phys_addr = m->gpa_base + off;
		r[i].userspace_addr = gmem_uaddr(m->base + off);
		r[i].memory_size = i + 1 < nregions ? chunk : m->size - off;
		off += chunk;
	}
	ret = vhost_dev_set_mem_table(d, r, nregions);
	free(r);
	return ret;
}

static int vring_state(const struct vhost_dev *d, unsigned long req,
		       unsigned int idx, unsigned int num)
{
	struct vhost_vring_state s = { .index = idx, .num = num };

	return vhost_dev_ioctl(d, req, &s);
}

static int vring_file(const struct vhost_dev *d, unsigned long req,
		      unsigned int idx, int fd)
{
	struct vhost_vring_file f = { .index = idx, .fd = fd };

	return vhost_dev_ioctl(d, req, &f);
}

/**
 * vhost_dev_set_vring_num() - VHOST_SET_VRING_NUM
 * @d: device
 * @idx: virtqueue index
 * @num: ring size
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_set_vring_num(const struct vhost_dev *d, unsigned int idx,
			    unsigned int num)
{
	return vring_state(d, VHOST_SET_VRING_NUM, idx, num);
}

/**
 * vhost_dev_set_vring_base() - VHOST_SET_VRING_BASE
 * @d: device
 * @idx: virtqueue index
 * @base: next avail index the device will consume
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_set_vring_base(const struct vhost_dev *d, unsigned int idx,
			     unsigned int base)
{
	return vring_state(d, VHOST_SET_VRING_BASE, idx, base);
}

/**
 * vhost_dev_get_vring_base() - VHOST_GET_VRING_BASE
 * @d: device
 * @idx: virtqueue index
 * @base: set to the next avail index the device would consume
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_get_vring_base(const struct vhost_dev *d, unsigned int idx,
			     unsigned int *base)
{
	struct vhost_vring_state s = { .index = idx };
	int ret = vhost_dev_ioctl(d, VHOST_GET_VRING_BASE, &s);

	if (!ret)
		*base = s.num;
	return ret;
}

/**
 * vhost_dev_set_vring_addr() - VHOST_SET_VRING_ADDR
 * @d: device
 * @idx: virtqueue index
 * @desc: user address of the descriptor table
 * @avail: user address of the avail ring
 * @used: user address of the used ring
 * @flags: (1 << VHOST_VRING_F_LOG) to log used ring writes, else 0
 * @log_gpa: guest-physical address of the used ring, for logging
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_set_vring_addr(const struct vhost_dev *d, unsigned int idx,
			     __u64 desc, __u64 avail, __u64 used,
			     unsigned int flags, __u64 log_gpa)
{
	struct vhost_vring_addr a = {
		.index = idx,
		.flags = flags,
		.desc_user_addr = desc,
		.used_user_addr = used,
		.avail_user_addr = avail,
		.log_guest_addr = log_gpa,
	};

	return vhost_dev_ioctl(d, VHOST_SET_VRING_ADDR, &a);
}

/**
 * vhost_dev_set_vring_kick() - VHOST_SET_VRING_KICK
 * @d: device
 * @idx: virtqueue index
 * @fd: eventfd, or -1 to unset
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_set_vring_kick(const struct vhost_dev *d, unsigned int idx,
			     int fd)
{
	return vring_file(d, VHOST_SET_VRING_KICK, idx, fd);
}

/**
 * vhost_dev_set_vring_call() - VHOST_SET_VRING_CALL
 * @d: device
 * @idx: virtqueue index
 * @fd: eventfd, or -1 to unset
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_set_vring_call(const struct vhost_dev *d, unsigned int idx,
			     int fd)
{
	return vring_file(d, VHOST_SET_VRING_CALL, idx, fd);
}

/**
 * vhost_dev_set_vring_err() - VHOST_SET_VRING_ERR
 * @d: device
 * @idx: virtqueue index
 * @fd: eventfd, or -1 to unset
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_set_vring_err(const struct vhost_dev *d, unsigned int idx,
			    int fd)
{
	return vring_file(d, VHOST_SET_VRING_ERR, idx, fd);
}

/**
 * vhost_dev_setup_vq() - hand a virtqueue to the device
 * @d: device (owned, memory table set)
 * @vq: initialised virtqueue; its eventfds are created when missing
 *
 * Issues SET_VRING_NUM, SET_VRING_BASE (virtq_vring_base()),
 * SET_VRING_ADDR (user addresses of the rings), then KICK, CALL and ERR.
 *
 * Return: 0 or the first negative errno.
 */
int vhost_dev_setup_vq(const struct vhost_dev *d, struct virtq *vq)
{
	unsigned int i = vq->index;
	int ret;

	ret = virtq_create_eventfds(vq);
	if (!ret)
		ret = vhost_dev_set_vring_num(d, i, vq->num);
	if (!ret)
		ret = vhost_dev_set_vring_base(d, i, virtq_vring_base(vq));
	if (!ret)
		ret = vhost_dev_set_vring_addr(d, i, gmem_uaddr(vq->desc),
					       gmem_uaddr(vq->avail),
					       gmem_uaddr(vq->used), 0,
					       virtq_gpa(vq, vq->used));
	if (!ret)
		ret = vhost_dev_set_vring_kick(d, i, vq->kick_fd);
	if (!ret)
		ret = vhost_dev_set_vring_call(d, i, vq->call_fd);
	if (!ret)
		ret = vhost_dev_set_vring_err(d, i, vq->err_fd);
	return ret;
}

/**
 * vhost_dev_set_log_base() - VHOST_SET_LOG_BASE
 * @d: device
 * @bitmap: dirty log bitmap (bit N: guest page N of 4 KiB), or NULL
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_set_log_base(const struct vhost_dev *d, void *bitmap)
{
	__u64 base = (__u64)(uintptr_t)bitmap;

	return vhost_dev_ioctl(d, VHOST_SET_LOG_BASE, &base);
}

/**
 * vhost_dev_set_log_fd() - VHOST_SET_LOG_FD
 * @d: device
 * @fd: eventfd signalled after log writes, or -1
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_set_log_fd(const struct vhost_dev *d, int fd)
{
	return vhost_dev_ioctl(d, VHOST_SET_LOG_FD, &fd);
}

/**
 * vhost_dev_set_vring_busyloop() - VHOST_SET_VRING_BUSYLOOP_TIMEOUT
 * @d: device
 * @idx: virtqueue index
 * @us: microseconds the back end polls before it sleeps (0: off)
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_set_vring_busyloop(const struct vhost_dev *d, unsigned int idx,
				 unsigned int us)
{
	struct vhost_vring_state s = { .index = idx, .num = us };

	return vhost_dev_ioctl(d, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, &s);
}

/**
 * vhost_dev_get_vring_busyloop() - VHOST_GET_VRING_BUSYLOOP_TIMEOUT
 * @d: device
 * @idx: virtqueue index
 * @us: the queue's timeout, microseconds
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_get_vring_busyloop(const struct vhost_dev *d, unsigned int idx,
				 unsigned int *us)
{
	struct vhost_vring_state s = { .index = idx };
	int r = vhost_dev_ioctl(d, VHOST_GET_VRING_BUSYLOOP_TIMEOUT, &s);

	if (!r)
		*us = s.num;
	return r;
}

/**
 * vhost_dev_new_worker() - VHOST_NEW_WORKER: start one more worker thread
 * @d: device, owned by the caller
 * @id: the new worker's id
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_new_worker(const struct vhost_dev *d, unsigned int *id)
{
	struct vhost_worker_state s = { 0 };
	int r = vhost_dev_ioctl(d, VHOST_NEW_WORKER, &s);

	if (!r)
		*id = s.worker_id;
	return r;
}

/**
 * vhost_dev_free_worker() - VHOST_FREE_WORKER
 * @d: device
 * @id: a worker no virtqueue uses
 *
 * Return: 0 or a negative errno (-EBUSY: a virtqueue uses it).
 */
int vhost_dev_free_worker(const struct vhost_dev *d, unsigned int id)
{
	struct vhost_worker_state s = { .worker_id = id };

	return vhost_dev_ioctl(d, VHOST_FREE_WORKER, &s);
}

/**
 * vhost_dev_attach_vring_worker() - VHOST_ATTACH_VRING_WORKER
 * @d: device
 * @idx: virtqueue index
 * @id: worker that serves the virtqueue from now on
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_attach_vring_worker(const struct vhost_dev *d, unsigned int idx,
				  unsigned int id)
{
	struct vhost_vring_worker w = { .index = idx, .worker_id = id };

	return vhost_dev_ioctl(d, VHOST_ATTACH_VRING_WORKER, &w);
}

/**
 * vhost_dev_get_vring_worker() - VHOST_GET_VRING_WORKER
 * @d: device
 * @idx: virtqueue index
 * @id: the worker serving it
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_get_vring_worker(const struct vhost_dev *d, unsigned int idx,
			       unsigned int *id)
{
	struct vhost_vring_worker w = { .index = idx };
	int r = vhost_dev_ioctl(d, VHOST_GET_VRING_WORKER, &w);

	if (!r)
		*id = w.worker_id;
	return r;
}

/**
 * vhost_dev_set_vring_log() - switch used-ring logging of a set-up queue
 * @d: device
 * @vq: the virtqueue, set up with vhost_dev_setup_vq()
 * @on: log used-ring writes (VHOST_VRING_F_LOG)
 *
 * Repeats SET_VRING_ADDR with the same rings, as QEMU does when a
 * migration starts or ends.
 *
 * Return: 0 or a negative errno.
 */
int vhost_dev_set_vring_log(const struct vhost_dev *d, const struct virtq *vq,
			    bool on)
{
	return vhost_dev_set_vring_addr(d, vq->index, gmem_uaddr(vq->desc),
					gmem_uaddr(vq->avail),
					gmem_uaddr(vq->used),
					on ? 1U << VHOST_VRING_F_LOG : 0,
					virtq_gpa(vq, vq->used));
}

/**
 * vhost_net_set_backend() - VHOST_NET_SET_BACKEND
 * @d: device
 * @idx: virtqueue index (0 RX, 1 TX)
 * @fd: tap or packet socket, or -1 to detach
 *
 * Return: 0 or a negative errno.
 */
int vhost_net_set_backend(const struct vhost_dev *d, unsigned int idx,
			  int fd)
{
	return vring_file(d, VHOST_NET_SET_BACKEND, idx, fd);
}

/**
 * vhost_blk_dev_path() - device node the blk tests and tools open
 *
 * Return: $VHOST_BLK_DEV if set and non-empty, else VHOST_LITE_BLK_DEV.
 */
const char *vhost_blk_dev_path(void)
{
	const char *p = getenv("VHOST_BLK_DEV");

	return p && *p ? p : VHOST_LITE_BLK_DEV;
}

/**
 * vhost_blk_set_backend() - VHOST_BLK_LITE_SET_BACKEND
 * @d: device (owned)
 * @fd: regular file or block device, or -1 to detach
 * @flags: VHOST_BLK_LITE_F_*
 *
 * Return: 0 or a negative errno.
 */
int vhost_blk_set_backend(const struct vhost_dev *d, int fd, __u32 flags)
{
	struct vhost_blk_lite_backend b = { .fd = fd, .flags = flags };

	return vhost_dev_ioctl(d, VHOST_BLK_LITE_SET_BACKEND, &b);
}

/**
 * vhost_blk_set_serial() - VHOST_BLK_LITE_SET_SERIAL
 * @d: device (owned)
 * @serial: the GET_ID answer; only its first VIRTIO_BLK_ID_BYTES count
 *
 * Return: 0 or a negative errno.
 */
int vhost_blk_set_serial(const struct vhost_dev *d, const char *serial)
{
	struct vhost_blk_lite_serial s;
	size_t n = strlen(serial);

	memset(&s, 0, sizeof(s));
	memcpy(s.id, serial, n < sizeof(s.id) ? n : sizeof(s.id));
	return vhost_dev_ioctl(d, VHOST_BLK_LITE_SET_SERIAL, &s);
}

/**
 * vhost_blk_get_config() - VHOST_BLK_LITE_GET_CONFIG
 * @d: device with a backend
 * @cfg: filled with the config space (little endian); bytes past
 *	VHOST_BLK_LITE_CONFIG_SIZE are zeroed
 *
 * Return: 0 or a negative errno (-ENODEV without a backend).
 */
int vhost_blk_get_config(const struct vhost_dev *d,
			 struct virtio_blk_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	return vhost_dev_ioctl(d, VHOST_BLK_LITE_GET_CONFIG, cfg);
}

/**
 * vhost_vsock_set_guest_cid() - VHOST_VSOCK_SET_GUEST_CID
 * @d: device
 * @cid: the guest's context id
 *
 * Return: 0 or a negative errno (-EINVAL reserved, -EADDRINUSE taken).
 */
int vhost_vsock_set_guest_cid(const struct vhost_dev *d, __u64 cid)
{
	return vhost_dev_ioctl(d, VHOST_VSOCK_SET_GUEST_CID, &cid);
}

/**
 * vhost_vsock_set_running() - VHOST_VSOCK_SET_RUNNING
 * @d: device
 * @running: 1 starts the device, 0 stops it
 *
 * Return: 0 or a negative errno.
 */
int vhost_vsock_set_running(const struct vhost_dev *d, int running)
{
	return vhost_dev_ioctl(d, VHOST_VSOCK_SET_RUNNING, &running);
}

/**
 * vhost_fd_is_lite() - is this open device a vhost-lite one?
 * @fd: device file descriptor of this process
 *
 * vhost-lite devices print "vhl-kind:" in their fdinfo.
 */
bool vhost_fd_is_lite(int fd)
{
	char *text = fdinfo_read(0, fd);
	bool lite = text && fdinfo_is_vhost_lite(text);

	free(text);
	return lite;
}
