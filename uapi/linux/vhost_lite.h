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

/* Misc device nodes (dynamic minors). */
#define VHOST_LITE_NET_DEV "/dev/vhost-net-lite"

/*
 * fdinfo: after the kernel's own lines, a vhost-lite device prints
 *   vhl-kind:\t<net|vsock|blk>
 *   vhl-owner:\t<pid> <comm>          (0 - before VHOST_SET_OWNER)
 *   vhl-features:\t0x%016llx
 *   vhl-backend-features:\t0x%016llx
 *   vhl-mem-regions:\t<n>
 *   vhl-mem-bytes:\t<n>
 *   vhl-vq<N>:\t<key>=<value> ...      (one line per virtqueue)
 * Keys of a virtqueue line are listed in README.md; new keys may be added
 * at the end of a line, existing keys keep their meaning.
 */
#define VHOST_LITE_FDINFO_PREFIX "vhl-"

#endif /* _UAPI_LINUX_VHOST_LITE_H */
