// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-lite packed virtqueues (VIRTIO 1.1 section 2.8): descriptor ring
 * with wrap counters, chained and indirect descriptors, batched used
 * writes and the two event suppression areas.
 *
 * With VIRTIO_F_RING_PACKED, SET_VRING_ADDR gives the descriptor ring as
 * desc, the driver event suppression area as avail and the device event
 * suppression area as used, as QEMU does.  Used descriptors overwrite the
 * descriptor ring.
 *
 * Everything here reads guest-controlled memory: a chain is bounded by the
 * ring size, an indirect table by its length, buffer ids by the ring size,
 * and every buffer address is translated through the memory table.
 */
#include <linux/uaccess.h>

#include "internal.h"

#define VHL_PACKED_WRAP		BIT(VRING_PACKED_EVENT_F_WRAP_CTR)
#define VHL_PACKED_F_AVAIL	BIT(VRING_PACKED_DESC_F_AVAIL)
#define VHL_PACKED_F_USED	BIT(VRING_PACKED_DESC_F_USED)

static inline struct vring_packed_desc __user *
vhl_packed_desc(struct vhl_virtqueue *vq, unsigned int i)
{
	return (struct vring_packed_desc __user *)vq->desc + i;
}

/* Driver event suppression: read by us, controls our interrupts. */
static inline struct vring_packed_desc_event __user *
vhl_packed_driver_event(struct vhl_virtqueue *vq)
{
	return (struct vring_packed_desc_event __user *)vq->avail;
}

/* Device event suppression: written by us, controls the guest's kicks. */
static inline struct vring_packed_desc_event __user *
vhl_packed_device_event(struct vhl_virtqueue *vq)
{
	return (struct vring_packed_desc_event __user *)vq->used;
}

/* Is a descriptor with @flags available in the lap of @wrap? */
static inline bool vhl_packed_is_avail(u16 flags, bool wrap)
{
	return !!(flags & VHL_PACKED_F_AVAIL) == wrap &&
	       !!(flags & VHL_PACKED_F_USED) != wrap;
}

/* Advance ring position @i by @n (< num) slots, toggling @wrap on a lap. */
static inline void vhl_packed_advance(const struct vhl_virtqueue *vq, u16 *i,
				      bool *wrap, unsigned int n)
{
	unsigned int next = *i + n;

	if (next >= vq->num) {
		next -= vq->num;
		*wrap = !*wrap;
	}
	*i = next;
}

/* Walk an indirect table: entries are consecutive, only WRITE counts. */
static int vhl_packed_indirect(struct vhl_virtqueue *vq, u64 addr, u32 len,
			       struct iovec iov[], unsigned int iov_size,
			       unsigned int *out_num, unsigned int *in_num)
{
	unsigned int count, i;

	if (!len || len % sizeof(struct vring_packed_desc) ||
	    len / sizeof(struct vring_packed_desc) > VHL_MAX_INDIRECT ||
	    addr + len - 1 < addr) {
		vhl_vq_err(vq, "indirect table %#llx+%u is malformed\n",
			   addr, len);
		return -EINVAL;
	}
	count = len / sizeof(struct vring_packed_desc);

	for (i = 0; i < count; i++) {
		struct vring_packed_desc d;
		u16 flags;
		int ret;

		ret = vhl_read_guest(vq, addr + (u64)i * sizeof(d), &d,
				     sizeof(d));
		if (ret) {
			vhl_vq_err(vq, "cannot read indirect descriptor %u\n",
				   i);
			return ret;
		}
		flags = le16_to_cpu(d.flags);
		if (flags & VRING_DESC_F_INDIRECT) {
			vhl_vq_err(vq, "indirect descriptor in indirect table\n");
			return -EINVAL;
		}
		ret = vhl_map_buf(vq, le64_to_cpu(d.addr), le32_to_cpu(d.len),
				  flags & VRING_DESC_F_WRITE, iov, iov_size,
				  out_num, in_num);
		if (ret)
			return ret;
	}
	return 0;
}

static int vhl_packed_get_desc(struct vhl_virtqueue *vq, struct iovec iov[],
			       unsigned int iov_size, unsigned int *out_num,
			       unsigned int *in_num)
{
	u16 i = vq->last_avail_idx;
	bool wrap = vq->avail_wrap;
	unsigned int found = 0;
	struct vring_packed_desc d;
	__le16 f;
	u16 flags, id;

	if (get_user(f, &vhl_packed_desc(vq, i)->flags)) {
		vhl_vq_err(vq, "cannot read descriptor %u\n", i);
		return -EFAULT;
	}
	if (!vhl_packed_is_avail(le16_to_cpu(f), wrap))
		return vq->num;
	/* Read the chain only after seeing its head available. */
	smp_rmb();

	for (;;) {
		int ret;

		if (++found > vq->num) {
			vhl_vq_err(vq, "descriptor chain at %u longer than the ring\n",
				   vq->last_avail_idx);
			return -EINVAL;
		}
		if (copy_from_user(&d, vhl_packed_desc(vq, i), sizeof(d))) {
			vhl_vq_err(vq, "cannot read descriptor %u\n", i);
			return -EFAULT;
		}
		flags = le16_to_cpu(d.flags);
		if (flags & VRING_DESC_F_INDIRECT) {
			if (flags & VRING_DESC_F_NEXT) {
				vhl_vq_err(vq, "chained indirect descriptor %u\n",
					   i);
				return -EINVAL;
			}
			ret = vhl_packed_indirect(vq, le64_to_cpu(d.addr),
						  le32_to_cpu(d.len), iov,
						  iov_size, out_num, in_num);
		} else {
			ret = vhl_map_buf(vq, le64_to_cpu(d.addr),
					  le32_to_cpu(d.len),
					  flags & VRING_DESC_F_WRITE, iov,
					  iov_size, out_num, in_num);
		}
		if (ret)
			return ret;
		vhl_packed_advance(vq, &i, &wrap, 1);
		if (!(flags & VRING_DESC_F_NEXT))
			break;
	}

	/* The buffer id is in the last descriptor of the chain. */
	id = le16_to_cpu(d.id);
	if (id >= vq->num) {
		vhl_vq_err(vq, "buffer id %u >= %u\n", id, vq->num);
		return -EINVAL;
	}
	vq->packed_ndescs[id] = found;
	vq->packed_taken[vq->packed_ntaken++ & (vq->num - 1)] = found;
	vq->last_avail_idx = i;
	vq->avail_wrap = wrap;
	return id;
}

static void vhl_packed_discard(struct vhl_virtqueue *vq, int n)
{
	while (n-- > 0) {
		u16 c = vq->packed_taken[--vq->packed_ntaken & (vq->num - 1)];

		if (vq->last_avail_idx >= c) {
			vq->last_avail_idx -= c;
		} else {
			vq->last_avail_idx += vq->num - c;
			vq->avail_wrap = !vq->avail_wrap;
		}
	}
}

/* Log descriptor ring slots [start, start + n), n <= num, as used writes. */
static int vhl_packed_log_descs(struct vhl_virtqueue *vq, u16 start,
				unsigned int n)
{
	unsigned int first = min_t(unsigned int, n, vq->num - start);
	const size_t sz = sizeof(struct vring_packed_desc);

	if (vhl_log_used_hva(vq, (unsigned long)vhl_packed_desc(vq, start),
			     first * sz))
		return -EFAULT;
	if (n > first &&
	    vhl_log_used_hva(vq, (unsigned long)vhl_packed_desc(vq, 0),
			     (n - first) * sz))
		return -EFAULT;
	return 0;
}

static int vhl_packed_write_elem(struct vhl_virtqueue *vq, u16 pos,
				 const struct vhl_used_elem *e)
{
	struct vring_packed_desc __user *d = vhl_packed_desc(vq, pos);

	if (put_user(cpu_to_le32(e->len), &d->len) ||
	    put_user(cpu_to_le16(e->id), &d->id))
		return -EFAULT;
	return 0;
}

static __le16 vhl_packed_used_flags(bool wrap, u32 len)
{
	u16 flags = wrap ? VHL_PACKED_F_AVAIL | VHL_PACKED_F_USED : 0;

	if (len)
		flags |= VRING_DESC_F_WRITE;
	return cpu_to_le16(flags);
}

/*
 * Write @count used descriptors.  The driver reads them in ring order,
 * starting with the first: its flags are written last, after a barrier,
 * so that the driver never sees a partial batch.
 */
static int vhl_packed_add_used(struct vhl_virtqueue *vq,
			       const struct vhl_used_elem *heads,
			       unsigned int count)
{
	u16 start = vq->last_used_idx, pos = start;
	bool start_wrap = vq->used_wrap, wrap = start_wrap;
	unsigned int k, slots = 0;

	for (k = 0; k < count; k++) {
		u16 n;

		if (heads[k].id >= vq->num || !vq->packed_ndescs[heads[k].id]) {
			vhl_vq_err(vq, "used id %u was not taken\n",
				   heads[k].id);
			return -EINVAL;
		}
		n = vq->packed_ndescs[heads[k].id];
		vq->packed_ndescs[heads[k].id] = 0;
		if (vhl_packed_write_elem(vq, pos, &heads[k]))
			goto fault;
		if (k && put_user(vhl_packed_used_flags(wrap, heads[k].len),
				  &vhl_packed_desc(vq, pos)->flags))
			goto fault;
		slots += n;
		vhl_packed_advance(vq, &pos, &wrap, n);
	}
	/* Every other entry must be visible before the first one is. */
	smp_wmb();
	if (put_user(vhl_packed_used_flags(start_wrap, heads[0].len),
		     &vhl_packed_desc(vq, start)->flags))
		goto fault;
	if (vq->log_used &&
	    vhl_packed_log_descs(vq, start, min(slots, vq->num)))
		return -EFAULT;

	vq->last_used_idx = pos;
	vq->used_wrap = wrap;
	vq->packed_unsignalled = min(vq->packed_unsignalled + slots,
				     (u32)vq->num);
	return 0;
fault:
	vhl_vq_err(vq, "cannot write used descriptor %u\n", pos);
	return -EFAULT;
}

static bool vhl_packed_need_signal(struct vhl_virtqueue *vq)
{
	struct vring_packed_desc_event ev;
	u16 flags, off_wrap, event, new, old;
	unsigned int pending = vq->packed_unsignalled;

	/* Publish the used descriptors before reading the guest's wishes. */
	smp_mb();
	if (copy_from_user(&ev, vhl_packed_driver_event(vq), sizeof(ev)))
		return true;
	flags = le16_to_cpu(ev.flags);
	if (flags != VRING_PACKED_EVENT_FLAG_DESC ||
	    !vhl_has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
		vq->packed_unsignalled = 0;
		return flags != VRING_PACKED_EVENT_FLAG_DISABLE;
	}

	vq->packed_unsignalled = 0;
	if (!pending)
		return false;
	/* More than a lap since the last interrupt: the event is inside. */
	if (pending >= vq->num)
		return true;
	off_wrap = le16_to_cpu(ev.off_wrap);
	event = off_wrap & ~VHL_PACKED_WRAP;
	if (!!(off_wrap & VHL_PACKED_WRAP) != vq->used_wrap)
		event -= vq->num;
	new = vq->last_used_idx;
	old = new - pending;
	return vring_need_event(event, new, old);
}

static int vhl_packed_write_device_event(struct vhl_virtqueue *vq, u16 flags)
{
	struct vring_packed_desc_event __user *ev = vhl_packed_device_event(vq);

	if (flags == VRING_PACKED_EVENT_FLAG_DESC) {
		u16 off_wrap = vq->last_avail_idx |
			       (vq->avail_wrap ? VHL_PACKED_WRAP : 0);

		if (put_user(cpu_to_le16(off_wrap), &ev->off_wrap))
			goto fault;
		/* The offset must be valid before the flags select it. */
		smp_wmb();
	}
	if (put_user(cpu_to_le16(flags), &ev->flags))
		goto fault;
	vq->used_flags = flags;
	return vhl_log_used(vq, 0, sizeof(*ev));
fault:
	vhl_vq_err(vq, "cannot write device event area\n");
	return -EFAULT;
}

static bool vhl_packed_enable_notify(struct vhl_virtqueue *vq)
{
	u16 flags = vhl_has_feature(vq, VIRTIO_RING_F_EVENT_IDX) ?
		    VRING_PACKED_EVENT_FLAG_DESC : VRING_PACKED_EVENT_FLAG_ENABLE;
	__le16 f;

	if (vq->used_flags != VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	if (vhl_packed_write_device_event(vq, flags))
		return false;
	/* The guest must see our wish before we look at the ring again. */
	smp_mb();
	if (get_user(f, &vhl_packed_desc(vq, vq->last_avail_idx)->flags)) {
		vhl_vq_err(vq, "cannot read descriptor %u\n",
			   vq->last_avail_idx);
		return false;
	}
	return vhl_packed_is_avail(le16_to_cpu(f), vq->avail_wrap);
}

/* Is the descriptor at last_avail_idx not (or not readably) available? */
static bool vhl_packed_avail_empty(struct vhl_virtqueue *vq)
{
	__le16 f;

	if (get_user(f, &vhl_packed_desc(vq, vq->last_avail_idx)->flags))
		return true;
	return !vhl_packed_is_avail(le16_to_cpu(f), vq->avail_wrap);
}

static void vhl_packed_disable_notify(struct vhl_virtqueue *vq)
{
	if (vq->used_flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return;
	vhl_packed_write_device_event(vq, VRING_PACKED_EVENT_FLAG_DISABLE);
}

/*
 * Context: vq->mutex held, owner's mm; rings and num are set.  The ring
 * position and wrap counters come from SET_VRING_BASE and are kept.
 */
static int vhl_packed_init_access(struct vhl_virtqueue *vq)
{
	u16 *ids;

	if (vq->last_avail_idx >= vq->num || vq->last_used_idx >= vq->num)
		return -EINVAL;
	ids = kvcalloc(2 * vq->num, sizeof(*ids), GFP_KERNEL);
	if (!ids)
		return -ENOMEM;
	kvfree(vq->packed_ndescs);
	vq->packed_ndescs = ids;
	vq->packed_taken = ids + vq->num;
	vq->packed_ntaken = 0;
	vq->packed_unsignalled = vq->num;
	vq->used_flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	return vhl_packed_write_device_event(vq,
					     VRING_PACKED_EVENT_FLAG_ENABLE);
}

static void vhl_packed_ring_sizes(unsigned int num, size_t sizes[3],
				  size_t align[3])
{
	sizes[0] = sizeof(struct vring_packed_desc) * num;
	sizes[1] = sizeof(struct vring_packed_desc_event);
	sizes[2] = sizeof(struct vring_packed_desc_event);
	align[0] = 16;
	align[1] = 4;
	align[2] = 4;
}

const struct vhl_ring_ops vhl_packed_ops = {
	.get_desc = vhl_packed_get_desc,
	.discard = vhl_packed_discard,
	.add_used = vhl_packed_add_used,
	.need_signal = vhl_packed_need_signal,
	.enable_notify = vhl_packed_enable_notify,
	.avail_empty = vhl_packed_avail_empty,
	.disable_notify = vhl_packed_disable_notify,
	.init_access = vhl_packed_init_access,
	.ring_sizes = vhl_packed_ring_sizes,
};
