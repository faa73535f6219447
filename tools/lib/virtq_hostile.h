/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for hostile-driver tests on top of virtq.h: rings on pages of
 * their own (so that a test can mprotect() the used ring or munmap() the
 * rings under the device's worker and map them back), and indirect table
 * entries written raw.
 */
#ifndef VHL_VIRTQ_HOSTILE_H
#define VHL_VIRTQ_HOSTILE_H

#include <endian.h>
#include <stddef.h>
#include <linux/types.h>
#include <linux/virtio_ring.h>

#include "virtq.h"

int virtq_hostile_isolate(struct virtq *vq);
size_t virtq_hostile_desc_span(const struct virtq *vq);
size_t virtq_hostile_used_span(const struct virtq *vq);
int virtq_hostile_protect_used(struct virtq *vq, int prot);
int virtq_hostile_unmap_rings(struct virtq *vq);
int virtq_hostile_remap_rings(struct virtq *vq);

/**
 * virtq_hostile_set_table() - write any entry of an indirect table
 * @t: the table, in guest memory
 * @i: entry
 * @addr: guest-physical address
 * @len: length
 * @flags: VRING_DESC_F_*
 * @next: next entry
 */
static inline void virtq_hostile_set_table(struct vring_desc *t, unsigned int i,
					   __u64 addr, __u32 len, __u16 flags,
					   __u16 next)
{
	t[i].addr = htole64(addr);
	t[i].len = htole32(len);
	t[i].flags = htole16(flags);
	t[i].next = htole16(next);
}

#endif /* VHL_VIRTQ_HOSTILE_H */
