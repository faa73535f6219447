/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Thin wrappers around the vhost-kernel ioctls of <linux/vhost.h>.
 *
 * Every function returns 0 (or a non-negative value) on success and a
 * negative errno on failure, so tests can compare with -EPERM and friends
 * directly.  vhost-kernel takes the USER addresses of the rings in
 * VHOST_SET_VRING_ADDR, while the descriptors inside the rings carry
 * guest-physical addresses translated through the memory table.
 */
#ifndef VHL_VHOST_DEV_H
#define VHL_VHOST_DEV_H

#include <stdbool.h>
#include <linux/types.h>
#include <linux/vhost.h>
#include <linux/vhost_lite.h>

#include "guest_mem.h"
#include "virtq.h"

/**
 * struct vhost_dev - an open vhost device
 * @fd: device file descriptor, or -1
 * @features: last feature set acknowledged with vhost_dev_set_features()
 */
struct vhost_dev {
	int fd;
	__u64 features;
};

const char *vhost_net_dev_path(void);
const char *vhost_vsock_dev_path(void);

int vhost_dev_open(struct vhost_dev *d, const char *path);
void vhost_dev_close(struct vhost_dev *d);
int vhost_dev_ioctl(const struct vhost_dev *d, unsigned long req, void *arg);

int vhost_dev_set_owner(const struct vhost_dev *d);
int vhost_dev_reset_owner(const struct vhost_dev *d);
int vhost_dev_get_features(const struct vhost_dev *d, __u64 *features);
int vhost_dev_set_features(struct vhost_dev *d, __u64 features);
int vhost_dev_get_backend_features(const struct vhost_dev *d,
				   __u64 *features);
int vhost_dev_set_backend_features(const struct vhost_dev *d,
				   __u64 features);

int vhost_dev_set_mem_table(const struct vhost_dev *d,
			    const struct vhost_memory_region *regions,
			    unsigned int nregions);
int vhost_dev_set_mem_gmem(const struct vhost_dev *d, const struct gmem *m,
			   unsigned int nregions);

int vhost_dev_set_vring_num(const struct vhost_dev *d, unsigned int idx,
			    unsigned int num);
int vhost_dev_set_vring_base(const struct vhost_dev *d, unsigned int idx,
			     unsigned int base);
int vhost_dev_get_vring_base(const struct vhost_dev *d, unsigned int idx,
			     unsigned int *base);
int vhost_dev_set_vring_addr(const struct vhost_dev *d, unsigned int idx,
			     __u64 desc, __u64 avail, __u64 used,
			     unsigned int flags, __u64 log_gpa);
int vhost_dev_set_vring_kick(const struct vhost_dev *d, unsigned int idx,
			     int fd);
int vhost_dev_set_vring_call(const struct vhost_dev *d, unsigned int idx,
			     int fd);
int vhost_dev_set_vring_err(const struct vhost_dev *d, unsigned int idx,
			    int fd);

int vhost_dev_setup_vq(const struct vhost_dev *d, struct virtq *vq);
int vhost_dev_set_log_base(const struct vhost_dev *d, void *bitmap);
int vhost_dev_set_log_fd(const struct vhost_dev *d, int fd);
int vhost_dev_set_vring_log(const struct vhost_dev *d, const struct virtq *vq,
			    bool on);
int vhost_dev_set_vring_busyloop(const struct vhost_dev *d, unsigned int idx,
				 unsigned int us);
int vhost_dev_get_vring_busyloop(const struct vhost_dev *d, unsigned int idx,
				 unsigned int *us);
int vhost_dev_new_worker(const struct vhost_dev *d, unsigned int *id);
int vhost_dev_free_worker(const struct vhost_dev *d, unsigned int id);
int vhost_dev_attach_vring_worker(const struct vhost_dev *d, unsigned int idx,
				  unsigned int id);
int vhost_dev_get_vring_worker(const struct vhost_dev *d, unsigned int idx,
			       unsigned int *id);

int vhost_net_set_backend(const struct vhost_dev *d, unsigned int idx,
			  int fd);

const char *vhost_blk_dev_path(void);
int vhost_blk_set_backend(const struct vhost_dev *d, int fd, __u32 flags);
int vhost_blk_set_serial(const struct vhost_dev *d, const char *serial);
int vhost_blk_get_config(const struct vhost_dev *d,
			 struct virtio_blk_config *cfg);
int vhost_vsock_set_guest_cid(const struct vhost_dev *d, __u64 cid);
int vhost_vsock_set_running(const struct vhost_dev *d, int running);

bool vhost_fd_is_lite(int fd);

#endif /* VHL_VHOST_DEV_H */
