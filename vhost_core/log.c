// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty logging for live migration: while VHOST_F_LOG_ALL is negotiated,
 * every guest page a back end writes is marked in the bitmap userspace
 * gave with VHOST_SET_LOG_BASE.
 */
#include "internal.h"

/**
 * vhl_log_write() - mark guest pages written through device-writable iovecs
 * @vq: the virtqueue the buffers came from
 * @iov: the device-writable iovecs of one or more chains, in order
 * @count: number of entries in @iov
 * @len: bytes the back end wrote, from the start of @iov[0]
 *
 * Back ends call this after writing guest memory (RX data, read data,
 * vsock payload). It does nothing unless dirty logging is on.
 *
 * Context: the virtqueue's worker, with vq->mutex held.
 */
void vhl_log_write(struct vhl_virtqueue *vq, const struct iovec *iov,
		   unsigned int count, size_t len)
{
}
EXPORT_SYMBOL_GPL(vhl_log_write);
