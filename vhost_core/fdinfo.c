// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-lite state in /proc/PID/fdinfo/FD.  The format is documented in
 * README.md ("Inspecting devices"); vhostctl parses it.  Reading it is
 * cheap: no ring memory is touched and virtqueue mutexes are not taken, so
 * a stuck worker cannot block it.
 */
#include "internal.h"

static void vhl_vq_show(struct seq_file *m, int i, struct vhl_virtqueue *vq)
{
	const struct vhl_vq_stats *st = &vq->stats;

	seq_printf(m,
		   "vhl-vq%d:\tnum=%u ready=%d broken=%d stopped=%d backend=%d last_avail=%u avail=%u used=%u",
		   i, READ_ONCE(vq->num), !!READ_ONCE(vq->desc),
		   READ_ONCE(vq->broken), READ_ONCE(vq->stopped),
		   !!READ_ONCE(vq->private_data), READ_ONCE(vq->last_avail_idx),
		   READ_ONCE(vq->avail_idx), READ_ONCE(vq->last_used_idx));
	seq_printf(m,
		   " kicks=%llu calls=%llu descs=%llu used_entries=%llu bytes=%llu packets=%llu errors=%llu worker_ns=%llu",
		   READ_ONCE(st->kicks), READ_ONCE(st->calls),
		   READ_ONCE(st->descs), READ_ONCE(st->used),
		   READ_ONCE(st->bytes), READ_ONCE(st->packets),
		   READ_ONCE(st->errors), READ_ONCE(st->worker_ns));
	/* %p hashes: ring addresses identify rings without leaking them. */
	seq_printf(m, " desc_ring=%p avail_ring=%p used_ring=%p", READ_ONCE(vq->desc),
		   READ_ONCE(vq->avail), READ_ONCE(vq->used));
	seq_printf(m, " busyloop_us=%u busy_polls=%llu busy_poll_hits=%llu",
		   READ_ONCE(vq->busyloop_timeout), READ_ONCE(st->busy_polls),
		   READ_ONCE(st->busy_poll_hits));
	seq_printf(m, " log=%d log_used=%d",
		   READ_ONCE(vq->log_base) &&
		   (READ_ONCE(vq->acked_features) & BIT_ULL(VHOST_F_LOG_ALL)),
		   READ_ONCE(vq->log_used) && READ_ONCE(vq->log_base));
	seq_printf(m, " worker=%d\n", vhl_vq_worker_id(vq));
}

/**
 * vhl_dev_show_fdinfo() - print the device state for /proc/PID/fdinfo
 * @m: the seq_file
 * @dev: the device
 *
 * Context: process context; takes dev->mutex (never a vq->mutex).
 */
void vhl_dev_show_fdinfo(struct seq_file *m, struct vhl_dev *dev)
{
	u64 features = 0, backend_features = 0;
	int i;

	mutex_lock(&dev->mutex);
	if (dev->nvqs) {
		features = READ_ONCE(dev->vqs[0]->acked_features);
		backend_features = READ_ONCE(dev->vqs[0]->acked_backend_features);
	}
	seq_printf(m, "vhl-kind:\t%s\n", dev->kind);
	seq_printf(m, "vhl-id:\t%u\n", dev->id);
	seq_printf(m, "vhl-owner:\t%d %s\n", dev->owner_pid,
		   dev->owner_pid ? dev->owner_comm : "-");
	seq_printf(m, "vhl-features:\t0x%016llx\n", features);
	seq_printf(m, "vhl-backend-features:\t0x%016llx\n", backend_features);
	seq_printf(m, "vhl-mem-regions:\t%u\n", dev->mem ? dev->mem->nregions : 0);
	seq_printf(m, "vhl-mem-bytes:\t%llu\n", dev->mem ? dev->mem->total_size : 0);
	for (i = 0; i < dev->nvqs; i++)
		vhl_vq_show(m, i, dev->vqs[i]);
	vhl_dev_show_workers(m, dev);
	mutex_unlock(&dev->mutex);
}
EXPORT_SYMBOL_GPL(vhl_dev_show_fdinfo);
