// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk requests over a virtqueue (see blk_req.h).
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "blk_req.h"

/**
 * blk_req_alloc() - carve a request's header and status byte from an arena
 * @r: request
 * @m: arena of the virtqueue the request will go to
 *
 * Return: 0 or -ENOMEM.
 */
int blk_req_alloc(struct blk_req *r, struct gmem *m)
{
	__u8 *p = gmem_alloc(m, 32, 16);

	if (!p)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	r->hdr = (struct virtio_blk_outhdr *)p;
	r->status = p + sizeof(*r->hdr);
	return 0;
}

/**
 * blk_req_data_in() - does the device write the data of this type?
 * @type: VIRTIO_BLK_T_*
 *
 * Return: true for IN and GET_ID, whose data buffer is device-writable.
 */
bool blk_req_data_in(__u32 type)
{
	return type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
}

/**
 * blk_req_prep() - fill in a request (little endian, VIRTIO 1)
 * @r: request from blk_req_alloc()
 * @type: VIRTIO_BLK_T_*
 * @sector: first sector (IN, OUT)
 * @data: data buffer in the same arena, or NULL
 * @len: bytes of @data (for DISCARD/WRITE_ZEROES the ranges)
 *
 * The status byte is set to BLK_REQ_STATUS_NONE.
 */
void blk_req_prep(struct blk_req *r, __u32 type, __u64 sector, void *data,
		  __u32 len)
{
	r->hdr->type = htole32(type);
	r->hdr->ioprio = 0;
	r->hdr->sector = htole64(sector);
	*r->status = BLK_REQ_STATUS_NONE;
	r->type = type;
	r->data = data;
	r->len = data ? len : 0;
	r->used_len = 0;
}

/**
 * blk_req_queue() - add a prepared request to a virtqueue (no kick)
 * @vq: virtqueue
 * @r: request; it is its own token
 *
 * Return: see virtq_add_buf().
 */
int blk_req_queue(struct virtq *vq, struct blk_req *r)
{
	struct virtq_sg out[2], in[2];
	unsigned int nout = 0, nin = 0;

	out[nout++] = (struct virtq_sg){ r->hdr, sizeof(*r->hdr) };
	if (r->len && blk_req_data_in(r->type))
		in[nin++] = (struct virtq_sg){ r->data, r->len };
	else if (r->len)
		out[nout++] = (struct virtq_sg){ r->data, r->len };
	in[nin++] = (struct virtq_sg){ r->status, 1 };
	return virtq_add_buf(vq, out, nout, in, nin, r);
}

/**
 * blk_req_complete() - take the next request the device completed
 * @vq: virtqueue whose tokens are struct blk_req pointers
 *
 * Return: the request (its @used_len set), or NULL if none is pending.
 */
struct blk_req *blk_req_complete(struct virtq *vq)
{
	__u32 len;
	struct blk_req *r = virtq_get_buf(vq, &len);

	if (r)
		r->used_len = len;
	return r;
}

/**
 * blk_req_run() - queue one request, kick, and wait for its completion
 * @vq: virtqueue with no other request in flight
 * @r: prepared request
 * @timeout_ms: bound on the wait
 *
 * Return: the status byte (VIRTIO_BLK_S_*), -ETIMEDOUT, -EPROTO when
 * another buffer came back, or a negative errno from queueing.
 */
int blk_req_run(struct virtq *vq, struct blk_req *r, int timeout_ms)
{
	int ret = blk_req_queue(vq, r);

	if (ret)
		return ret;
	ret = virtq_kick(vq);
	if (ret < 0)
		return ret;
	ret = virtq_wait_used(vq, timeout_ms);
	if (ret < 0)
		return ret;
	if (!ret)
		return -ETIMEDOUT;
	if (blk_req_complete(vq) != r)
		return -EPROTO;
	return *r->status;
}

/**
 * blk_discard_seg() - write one DISCARD/WRITE_ZEROES range
 * @p: where (16 bytes)
 * @sector: first sector
 * @num_sectors: sectors
 * @flags: VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP or 0
 *
 * Return: the byte after the range, for the next one.
 */
void *blk_discard_seg(void *p, __u64 sector, __u32 num_sectors, __u32 flags)
{
	struct virtio_blk_discard_write_zeroes s = {
		.sector = htole64(sector),
		.num_sectors = htole32(num_sectors),
		.flags = htole32(flags),
	};

	memcpy(p, &s, sizeof(s));
	return (__u8 *)p + sizeof(s);
}
