// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-lite split virtqueues: descriptor walker, used ring writer and
 * notification suppression (VIRTIO 1.x section 2.7).
 *
 * Everything here reads guest-controlled memory: every index is bounded by
 * the ring size, every chain by the ring size (or the indirect table size),
 * and every address is translated through the memory table.
 */
#include <linux/uaccess.h>

#include "internal.h"

static inline __virtio16 __user *vhl_used_event(struct vhl_virtqueue *vq)
{
	return &vq->avail->ring[vq->num];
}

static inline __virtio16 __user *vhl_avail_event(struct vhl_virtqueue *vq)
{
	return (__virtio16 __user *)&vq->used->ring[vq->num];
}

static int vhl_split_read_avail_idx(struct vhl_virtqueue *vq, u16 *idx)
{
	__virtio16 v;

	if (get_user(v, &vq->avail->idx))
		return -EFAULT;
	*idx = vhl16_to_cpu(vq, v);
	return 0;
}

/* Append descriptor @d's buffer to the chain's iovecs. */
static int vhl_split_map(struct vhl_virtqueue *vq, const struct vring_desc *d,
			 struct iovec iov[], unsigned int iov_size,
			 unsigned int *out_num, unsigned int *in_num)
{
	return vhl_map_buf(vq, vhl64_to_cpu(vq, d->addr),
			   vhl32_to_cpu(vq, d->len),
			   vhl16_to_cpu(vq, d->flags) & VRING_DESC_F_WRITE,
			   iov, iov_size, out_num, in_num);
}

static int vhl_split_indirect(struct vhl_virtqueue *vq,
			      const struct vring_desc *ind, struct iovec iov[],
			      unsigned int iov_size, unsigned int *out_num,
			      unsigned int *in_num)
{
	u32 len = vhl32_to_cpu(vq, ind->len);
	u64 addr = vhl64_to_cpu(vq, ind->addr);
	unsigned int count, i = 0, found = 0;

	if (!len || len % sizeof(struct vring_desc) ||
	    len / sizeof(struct vring_desc) > VHL_MAX_INDIRECT ||
	    addr + len - 1 < addr) {
		vhl_vq_err(vq, "indirect table %#llx+%u is malformed\n",
			   addr, len);
		return -EINVAL;
	}
	count = len / sizeof(struct vring_desc);

	for (;;) {
		struct vring_desc d;
		u16 flags;
		int ret;

		if (++found > count) {
			vhl_vq_err(vq, "loop in indirect table\n");
			return -EINVAL;
		}
		ret = vhl_read_guest(vq, addr + (u64)i * sizeof(d), &d,
				     sizeof(d));
		if (ret) {
			vhl_vq_err(vq, "cannot read indirect descriptor %u\n",
				   i);
			return ret;
		}
		flags = vhl16_to_cpu(vq, d.flags);
		if (flags & VRING_DESC_F_INDIRECT) {
			vhl_vq_err(vq, "indirect descriptor in indirect table\n");
			return -EINVAL;
		}
		ret = vhl_split_map(vq, &d, iov, iov_size, out_num, in_num);
		if (ret)
			return ret;
		if (!(flags & VRING_DESC_F_NEXT))
			return 0;
		i = vhl16_to_cpu(vq, d.next);
		if (i >= count) {
			vhl_vq_err(vq, "indirect next %u >= %u\n", i, count);
			return -EINVAL;
		}
	}
}

static int vhl_split_get_desc(struct vhl_virtqueue *vq, struct iovec iov[],
			      unsigned int iov_size, unsigned int *out_num,
			      unsigned int *in_num)
{
	unsigned int i, head, found = 0;
	u16 last = vq->last_avail_idx;
	__virtio16 ring_head;

	if (vq->avail_idx == last) {
		u16 idx;

		if (vhl_split_read_avail_idx(vq, &idx)) {
			vhl_vq_err(vq, "cannot read avail idx\n");
			return -EFAULT;
		}
		if ((u16)(idx - last) > vq->num) {
			vhl_vq_err(vq, "avail idx %u is %u ahead of %u\n",
				   idx, (u16)(idx - last), last);
			return -EINVAL;
		}
		vq->avail_idx = idx;
		if (idx == last)
			return vq->num;
		/* Read ring entries only after seeing the index move. */
		smp_rmb();
	}

	if (get_user(ring_head, &vq->avail->ring[last & (vq->num - 1)])) {
		vhl_vq_err(vq, "cannot read avail ring entry %u\n", last);
		return -EFAULT;
	}
	head = vhl16_to_cpu(vq, ring_head);
	if (head >= vq->num) {
		vhl_vq_err(vq, "avail head %u >= %u\n", head, vq->num);
		return -EINVAL;
	}

	i = head;
	for (;;) {
		struct vring_desc d;
		u16 flags;
		int ret;

		if (++found > vq->num) {
			vhl_vq_err(vq, "loop in descriptor chain at %u\n", head);
			return -EINVAL;
		}
		if (copy_from_user(&d, vq->desc + i, sizeof(d))) {
			vhl_vq_err(vq, "cannot read descriptor %u\n", i);
			return -EFAULT;
		}
		flags = vhl16_to_cpu(vq, d.flags);
		if (flags & VRING_DESC_F_INDIRECT)
			ret = vhl_split_indirect(vq, &d, iov, iov_size,
						 out_num, in_num);
		else
			ret = vhl_split_map(vq, &d, iov, iov_size, out_num,
					    in_num);
		if (ret)
			return ret;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
		i = vhl16_to_cpu(vq, d.next);
		if (i >= vq->num) {
			vhl_vq_err(vq, "descriptor next %u >= %u\n", i, vq->num);
			return -EINVAL;
		}
	}

	vq->last_avail_idx++;
	return head;
}

static void vhl_split_discard(struct vhl_virtqueue *vq, int n)
{
	vq->last_avail_idx -= n;
}

static int vhl_split_add_used(struct vhl_virtqueue *vq,
			      const struct vhl_used_elem *heads,
			      unsigned int count)
{
	u16 old = vq->last_used_idx, new = old + count;
	unsigned int done = 0;

	while (done < count) {
		struct vring_used_elem buf[32];
		unsigned int start = (u16)(old + done) & (vq->num - 1);
		unsigned int n = min3(count - done, (unsigned int)ARRAY_SIZE(buf),
				      vq->num - start);
		unsigned int k;

		for (k = 0; k < n; k++) {
			buf[k].id = cpu_to_vhl32(vq, heads[done + k].id);
			buf[k].len = cpu_to_vhl32(vq, heads[done + k].len);
		}
		if (copy_to_user(&vq->used->ring[start], buf,
				 n * sizeof(buf[0]))) {
			vhl_vq_err(vq, "cannot write used ring\n");
			return -EFAULT;
		}
		if (vhl_log_used(vq, offsetof(struct vring_used, ring[start]),
				 n * sizeof(buf[0])))
			return -EFAULT;
		done += n;
	}

	/* Entries must be visible before the index that publishes them. */
	smp_wmb();
	if (put_user(cpu_to_vhl16(vq, new), &vq->used->idx)) {
		vhl_vq_err(vq, "cannot write used idx\n");
		return -EFAULT;
	}
	if (vhl_log_used(vq, offsetof(struct vring_used, idx),
			 sizeof(vq->used->idx)))
		return -EFAULT;
	vq->last_used_idx = new;
	/* If the guest's event index fell behind a wrap, signal next time. */
	if (unlikely((u16)(new - vq->signalled_used) < (u16)(new - old)))
		vq->signalled_used_valid = false;
	return 0;
}

static bool vhl_split_need_signal(struct vhl_virtqueue *vq)
{
	u16 old, new;
	__virtio16 v;
	bool valid;

	/* Publish the used index before reading the guest's wishes. */
	smp_mb();

	if (vhl_has_feature(vq, VIRTIO_F_NOTIFY_ON_EMPTY) &&
	    vq->avail_idx == vq->last_avail_idx &&
	    !vhl_split_read_avail_idx(vq, &old) && old == vq->last_avail_idx)
		return true;

	if (!vhl_has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
		if (get_user(v, &vq->avail->flags))
			return true;
		return !(vhl16_to_cpu(vq, v) & VRING_AVAIL_F_NO_INTERRUPT);
	}

	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	new = vq->last_used_idx;
	vq->signalled_used = new;
	vq->signalled_used_valid = true;
	if (unlikely(!valid))
		return true;
	if (get_user(v, vhl_used_event(vq)))
		return true;
	return vring_need_event(vhl16_to_cpu(vq, v), new, old);
}

static int vhl_split_write_used_flags(struct vhl_virtqueue *vq)
{
	if (put_user(cpu_to_vhl16(vq, vq->used_flags), &vq->used->flags)) {
		vhl_vq_err(vq, "cannot write used flags\n");
		return -EFAULT;
	}
	return vhl_log_used(vq, offsetof(struct vring_used, flags),
			    sizeof(vq->used->flags));
}

static bool vhl_split_enable_notify(struct vhl_virtqueue *vq)
{
	u16 idx;

	if (!(vq->used_flags & VRING_USED_F_NO_NOTIFY))
		return false;
	vq->used_flags &= ~VRING_USED_F_NO_NOTIFY;
	if (!vhl_has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
		if (vhl_split_write_used_flags(vq))
			return false;
	} else if (put_user(cpu_to_vhl16(vq, vq->avail_idx),
			    vhl_avail_event(vq))) {
		vhl_vq_err(vq, "cannot write avail event\n");
		return false;
	} else if (vhl_log_used(vq, offsetof(struct vring_used, ring[vq->num]),
				sizeof(__virtio16))) {
		return false;
	}
	/* The guest must see our wish before we look at its index again. */
	smp_mb();
	if (vhl_split_read_avail_idx(vq, &idx)) {
		vhl_vq_err(vq, "cannot read avail idx\n");
		return false;
	}
	return idx != vq->avail_idx;
}

/* No buffer beyond last_avail_idx (or the index cannot be read)? */
static bool vhl_split_avail_empty(struct vhl_virtqueue *vq)
{
	u16 idx;

	if (vq->avail_idx != vq->last_avail_idx)
		return false;
	if (vhl_split_read_avail_idx(vq, &idx))
		return true;
	return idx == vq->last_avail_idx;
}

static void vhl_split_disable_notify(struct vhl_virtqueue *vq)
{
	if (vq->used_flags & VRING_USED_F_NO_NOTIFY)
		return;
	vq->used_flags |= VRING_USED_F_NO_NOTIFY;
	if (!vhl_has_feature(vq, VIRTIO_RING_F_EVENT_IDX))
		vhl_split_write_used_flags(vq);
}

/* Context: vq->mutex held, owner's mm; rings and num are set. */
static int vhl_split_init_access(struct vhl_virtqueue *vq)
{
	__virtio16 v;

	vq->used_flags = 0;
	vq->signalled_used_valid = false;
	if (put_user(cpu_to_vhl16(vq, 0), &vq->used->flags) ||
	    get_user(v, &vq->used->idx))
		return -EFAULT;
	if (vhl_log_used(vq, offsetof(struct vring_used, flags),
			 sizeof(vq->used->flags)))
		return -EFAULT;
	vq->last_used_idx = vhl16_to_cpu(vq, v);
	return 0;
}

static void vhl_split_ring_sizes(unsigned int num, size_t sizes[3],
				 size_t align[3])
{
	sizes[0] = sizeof(struct vring_desc) * num;
	/* flags, idx, ring[num], used_event */
	sizes[1] = sizeof(__virtio16) * (3 + num);
	/* flags, idx, ring[num], avail_event */
	sizes[2] = sizeof(__virtio16) * 3 + sizeof(struct vring_used_elem) * num;
	align[0] = VRING_DESC_ALIGN_SIZE;
	align[1] = VRING_AVAIL_ALIGN_SIZE;
	align[2] = VRING_USED_ALIGN_SIZE;
}

const struct vhl_ring_ops vhl_split_ops = {
	.get_desc = vhl_split_get_desc,
	.discard = vhl_split_discard,
	.add_used = vhl_split_add_used,
	.need_signal = vhl_split_need_signal,
	.enable_notify = vhl_split_enable_notify,
	.avail_empty = vhl_split_avail_empty,
	.disable_notify = vhl_split_disable_notify,
	.init_access = vhl_split_init_access,
	.ring_sizes = vhl_split_ring_sizes,
};
