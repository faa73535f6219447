/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-blk requests for the guest-driver library: a request is the
 * 16-byte header and the status byte in guest memory plus a caller's data
 * buffer, queued as Linux's virtio_blk queues it (header and data-out
 * device-readable, data-in and status device-writable).
 */
#ifndef VHL_BLK_REQ_H
#define VHL_BLK_REQ_H

#include <stdbool.h>
#include <linux/types.h>
#include <linux/virtio_blk.h>

#include "guest_mem.h"
#include "virtq.h"

/* Status value the device never writes: "not completed yet". */
#define BLK_REQ_STATUS_NONE	0xff

/**
 * struct blk_req - one virtio-blk request in guest memory
 * @hdr: the header, in the arena
 * @status: the status byte, in the arena
 * @data: data buffer in the arena, or NULL
 * @len: bytes of @data
 * @type: VIRTIO_BLK_T_*
 * @used_len: bytes the device said it wrote, set by blk_req_complete()
 */
struct blk_req {
	struct virtio_blk_outhdr *hdr;
	__u8 *status;
	void *data;
	__u32 len;
	__u32 type;
	__u32 used_len;
};

int blk_req_alloc(struct blk_req *r, struct gmem *m);
void blk_req_prep(struct blk_req *r, __u32 type, __u64 sector, void *data,
		  __u32 len);
bool blk_req_data_in(__u32 type);
int blk_req_queue(struct virtq *vq, struct blk_req *r);
struct blk_req *blk_req_complete(struct virtq *vq);
int blk_req_run(struct virtq *vq, struct blk_req *r, int timeout_ms);
void *blk_discard_seg(void *p, __u64 sector, __u32 num_sectors, __u32 flags);

#endif /* VHL_BLK_REQ_H */
