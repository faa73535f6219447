/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vhost-lite userspace ABI.
 *
 * vhost-lite devices speak the standard vhost ioctls of <linux/vhost.h>
 * with the same numbers; this header only adds what is specific to
 * vhost-lite: device node names and the keys of the per-device state
 * printed in /proc/PID/fdinfo/FD.
 */
#ifndef _UAPI_LINUX_VHOST_LITE_H
#define _UAPI_LINUX_VHOST_LITE_H

#include <linux/types.h>
#include <linux/vhost.h>
#include <linux/virtio_blk.h>

/*
 * Per-virtqueue workers (Linux 6.5): vhost-lite answers them on every
 * kernel; older <linux/vhost.h> headers lack them, so they are here with
 * the same numbers and layout.
 */
#ifndef VHOST_NEW_WORKER
struct vhost_worker_state {
	unsigned int worker_id;
};

struct vhost_vring_worker {
	unsigned int index;
	unsigned int worker_id;
};

#define VHOST_NEW_WORKER _IOR(VHOST_VIRTIO, 0x8, struct vhost_worker_state)
#define VHOST_FREE_WORKER _IOW(VHOST_VIRTIO, 0x9, struct vhost_worker_state)
#define VHOST_ATTACH_VRING_WORKER \
	_IOW(VHOST_VIRTIO, 0x15, struct vhost_vring_worker)
#define VHOST_GET_VRING_WORKER \
	_IOWR(VHOST_VIRTIO, 0x16, struct vhost_vring_worker)
#endif

/* Misc device nodes (dynamic minors). */
#define VHOST_LITE_NET_DEV "/dev/vhost-net-lite"
#define VHOST_LITE_VSOCK_DEV "/dev/vhost-vsock-lite"
#define VHOST_LITE_BLK_DEV "/dev/vhost-blk-lite"

/*
 * vhost_blk_lite: no kernel has a vhost-blk ABI; these ioctls are ours.
 * Their numbers (0xE0-0xEF) are unused by <linux/vhost.h>.
 */

/* Backend flags. */
#define VHOST_BLK_LITE_F_RO 0x1U	/* read-only disk even on a rw fd */

/**
 * struct vhost_blk_lite_backend - the disk behind a vhost-blk-lite device
 * @fd: a regular file or block device; -1 detaches. An fd opened
 *	read-only gives a read-only disk (VIRTIO_BLK_F_RO).
 * @flags: VHOST_BLK_LITE_F_*; other bits must be 0 (-EINVAL).
 */
struct vhost_blk_lite_backend {
	__s32 fd;
	__u32 flags;
};

/**
 * struct vhost_blk_lite_serial - the GET_ID answer (VIRTIO_BLK_ID_BYTES)
 * @id: serial, NUL-padded; not NUL-terminated when all 20 bytes are used
 */
struct vhost_blk_lite_serial {
	char id[VIRTIO_BLK_ID_BYTES];
};

#define VHOST_BLK_LITE_SET_BACKEND \
	_IOW(VHOST_VIRTIO, 0xE0, struct vhost_blk_lite_backend)
#define VHOST_BLK_LITE_SET_SERIAL \
	_IOW(VHOST_VIRTIO, 0xE1, struct vhost_blk_lite_serial)
/*
 * The virtio-blk config space of the attached backend, little-endian as
 * virtio defines it (capacity, blk_size, seg_max, num_queues = the
 * device's queue count, discard and write-zeroes limits it enforces), so
 * a vhost-user bridge can answer GET_CONFIG without blk logic of its own.
 * -ENODEV without a backend.
 *
 * struct virtio_blk_config grew in 6.5 (zoned fields), so the ioctl
 * number must not depend on the <linux/virtio_blk.h> it is compiled
 * against: the kernel writes the first VHOST_BLK_LITE_CONFIG_SIZE bytes
 * (through secure_erase_sector_alignment, the layout every header since
 * 6.0 shares) of the struct virtio_blk_config the argument points to.
 */
#define VHOST_BLK_LITE_CONFIG_SIZE 72
#define VHOST_BLK_LITE_GET_CONFIG \
	_IOC(_IOC_READ, VHOST_VIRTIO, 0xE2, VHOST_BLK_LITE_CONFIG_SIZE)

/*
 * fdinfo: after the kernel's own lines, a vhost-lite device prints
 *   vhl-kind:\t<net|vsock|blk>
 *   vhl-owner:\t<pid> <comm>          (0 - before VHOST_SET_OWNER)
 *   vhl-features:\t0x%016llx
 *   vhl-backend-features:\t0x%016llx
 *   vhl-mem-regions:\t<n>
 *   vhl-mem-bytes:\t<n>
 *   vhl-vq<N>:\t<key>=<value> ...      (one line per virtqueue)
 *   vhl-worker<ID>:\tvqs=<n> works=<n> killed=<0|1>  (one per worker)
 * Keys of a virtqueue line are listed in README.md; new keys may be added
 * at the end of a line, existing keys keep their meaning.
 */
#define VHOST_LITE_FDINFO_PREFIX "vhl-"

#endif /* _UAPI_LINUX_VHOST_LITE_H */
