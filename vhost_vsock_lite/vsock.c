// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_vsock_lite: /dev/vhost-vsock-lite, a virtio-vsock back end on the
 * vhost-lite core and the host-to-guest AF_VSOCK transport.  Each open
 * file is one guest, known by the CID VHOST_VSOCK_SET_GUEST_CID gives it;
 * host sockets connected to that CID send through it.
 *
 * The kernel accepts one host-to-guest transport at a time, so this
 * module and the in-tree vhost_vsock exclude each other.
 *
 * This file holds the module, the CID table, the device's life cycle and
 * ioctls; vsock_tx.c and vsock_rx.c the data path.
 */
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/virtio_vsock.h>
#include <net/af_vsock.h>
#include <net/sock.h>

#include "vsock.h"

static bool standard_names;
module_param(standard_names, bool, 0444);
MODULE_PARM_DESC(standard_names,
		 "register as /dev/vhost-vsock (misc minor 241, in-tree name) instead of /dev/vhost-vsock-lite");

/* The CID table: writers hold vhl_vsock_mutex, readers RCU or the mutex. */
static DEFINE_MUTEX(vhl_vsock_mutex);
static DEFINE_READ_MOSTLY_HASHTABLE(vhl_vsock_hash, 8);

/**
 * vhl_vsock_get() - the device that has a guest CID
 * @guest_cid: the CID
 *
 * Context: RCU read side or vhl_vsock_mutex held; the device may only be
 * used inside that section.
 * Return: the device or NULL.
 */
struct vhl_vsock *vhl_vsock_get(u32 guest_cid)
{
	struct vhl_vsock *vsock;

	hash_for_each_possible_rcu(vhl_vsock_hash, vsock, hash, guest_cid,
				   lockdep_is_held(&vhl_vsock_mutex)) {
		if (vsock->guest_cid == guest_cid)
			return vsock;
	}
	return NULL;
}

static u32 vhl_vsock_get_local_cid(void)
{
	return VHL_VSOCK_HOST_CID;
}

static bool vhl_vsock_seqpacket_allow(u32 remote_cid)
{
	struct vhl_vsock *vsock;
	bool allow = false;

	rcu_read_lock();
	vsock = vhl_vsock_get(remote_cid);
	if (vsock)
		allow = READ_ONCE(vsock->seqpacket_allow);
	rcu_read_unlock();
	return allow;
}

struct virtio_transport vhl_vsock_transport = {
	.transport = {
		.module = THIS_MODULE,
		.get_local_cid = vhl_vsock_get_local_cid,

		.init = virtio_transport_do_socket_init,
		.destruct = virtio_transport_destruct,
		.release = virtio_transport_release,
		.connect = virtio_transport_connect,
		.shutdown = virtio_transport_shutdown,
		.cancel_pkt = vhl_vsock_cancel_pkt,

		.dgram_enqueue = virtio_transport_dgram_enqueue,
		.dgram_dequeue = virtio_transport_dgram_dequeue,
		.dgram_bind = virtio_transport_dgram_bind,
		.dgram_allow = virtio_transport_dgram_allow,

		.stream_enqueue = virtio_transport_stream_enqueue,
		.stream_dequeue = virtio_transport_stream_dequeue,
		.stream_has_data = virtio_transport_stream_has_data,
		.stream_has_space = virtio_transport_stream_has_space,
		.stream_rcvhiwat = virtio_transport_stream_rcvhiwat,
		.stream_is_active = virtio_transport_stream_is_active,
		.stream_allow = virtio_transport_stream_allow,

		.seqpacket_dequeue = virtio_transport_seqpacket_dequeue,
		.seqpacket_enqueue = virtio_transport_seqpacket_enqueue,
		.seqpacket_allow = vhl_vsock_seqpacket_allow,
		.seqpacket_has_data = virtio_transport_seqpacket_has_data,

		.notify_poll_in = virtio_transport_notify_poll_in,
		.notify_poll_out = virtio_transport_notify_poll_out,
		.notify_recv_init = virtio_transport_notify_recv_init,
		.notify_recv_pre_block = virtio_transport_notify_recv_pre_block,
		.notify_recv_pre_dequeue = virtio_transport_notify_recv_pre_dequeue,
		.notify_recv_post_dequeue = virtio_transport_notify_recv_post_dequeue,
		.notify_send_init = virtio_transport_notify_send_init,
		.notify_send_pre_block = virtio_transport_notify_send_pre_block,
		.notify_send_pre_enqueue = virtio_transport_notify_send_pre_enqueue,
		.notify_send_post_enqueue = virtio_transport_notify_send_post_enqueue,
		.notify_buffer_size = virtio_transport_notify_buffer_size,
	},
	.send_pkt = vhl_vsock_send_pkt,
};

static int vhl_vsock_open(struct inode *inode, struct file *f)
{
	struct vhl_vsock *vsock;
	int i;

	vsock = kvzalloc(sizeof(*vsock), GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL);
	if (!vsock)
		return -ENOMEM;

	vsock->vqs[VHL_VSOCK_VQ_RX].vq.handle_kick = vhl_vsock_handle_rx_kick;
	vsock->vqs[VHL_VSOCK_VQ_TX].vq.handle_kick = vhl_vsock_handle_tx_kick;
	for (i = 0; i < VHL_VSOCK_VQ_MAX; i++)
		vsock->vq_ptrs[i] = &vsock->vqs[i].vq;
	vhl_dev_init(&vsock->dev, vsock->vq_ptrs, VHL_VSOCK_VQ_MAX, UIO_MAXIOV,
		     VHL_VSOCK_PKT_WEIGHT, VHL_VSOCK_WEIGHT, "vsock");
	vhl_work_init(&vsock->send_pkt_work, vhl_vsock_send_pkt_work);
	skb_queue_head_init(&vsock->send_pkt_queue);
	atomic_set(&vsock->queued_replies, 0);

	f->private_data = vsock;
	return 0;
}

/*
 * Reset a connected host socket whose guest is gone: it sees ECONNRESET,
 * as if the guest had sent a reset.
 */
static void vhl_vsock_reset_orphan(struct sock *sk)
{
	struct vsock_sock *vsk = vsock_sk(sk);
	bool alive;

	/* vsock_table_lock is held: the socket cannot go away. */
	rcu_read_lock();
	alive = vhl_vsock_get(vsk->remote_addr.svm_cid);
	rcu_read_unlock();
	/* A pending close timeout does the job itself. */
	if (alive || vsk->close_work_scheduled)
		return;

	sock_set_flag(sk, SOCK_DONE);
	vsk->peer_shutdown = SHUTDOWN_MASK;
	sk->sk_state = SS_UNCONNECTED;
	sk->sk_err = ECONNRESET;
	sk_error_report(sk);
}

/* Detach (stop) or attach (start) the device on both virtqueues. */
static void vhl_vsock_set_backends(struct vhl_vsock *vsock, bool start)
{
	int i;

	for (i = 0; i < VHL_VSOCK_VQ_MAX; i++) {
		struct vhl_virtqueue *vq = &vsock->vqs[i].vq;

		mutex_lock(&vq->mutex);
		vhl_vq_set_backend(vq, start ? vsock : NULL);
		mutex_unlock(&vq->mutex);
	}
	WRITE_ONCE(vsock->running, start);
}

static int vhl_vsock_release(struct inode *inode, struct file *f)
{
	struct vhl_vsock *vsock = f->private_data;
	bool hashed;

	mutex_lock(&vhl_vsock_mutex);
	hashed = vsock->guest_cid;
	if (hashed)
		hash_del_rcu(&vsock->hash);
	mutex_unlock(&vhl_vsock_mutex);
	/*
	 * Nobody finds us any more: no new packets get queued.  A device
	 * that never had a CID was never in the table, so no reader can hold
	 * it and its close need not wait a grace period (10-20 ms under TCG).
	 */
	if (hashed)
		synchronize_rcu();

	vsock_for_each_connected_socket(&vhl_vsock_transport.transport,
					vhl_vsock_reset_orphan);

	vhl_vsock_set_backends(vsock, false);
	vhl_dev_stop(&vsock->dev);
	virtio_vsock_skb_queue_purge(&vsock->send_pkt_queue);
	vhl_dev_cleanup(&vsock->dev);
	kvfree(vsock);
	return 0;
}

static long vhl_vsock_set_cid(struct vhl_vsock *vsock, u64 guest_cid)
{
	struct vhl_vsock *other;

	/* Reserved CIDs (any, hypervisor, local, host) and 64-bit ones. */
	if (guest_cid <= VMADDR_CID_HOST || guest_cid >= U32_MAX)
		return -EINVAL;
	/* Our own CID as a guest of another hypervisor (nested). */
	if (vsock_find_cid(guest_cid))
		return -EADDRINUSE;

	mutex_lock(&vhl_vsock_mutex);
	other = vhl_vsock_get(guest_cid);
	if (other && other != vsock) {
		mutex_unlock(&vhl_vsock_mutex);
		return -EADDRINUSE;
	}
	if (vsock->guest_cid)
		hash_del_rcu(&vsock->hash);
	WRITE_ONCE(vsock->guest_cid, guest_cid);
	hash_add_rcu(vhl_vsock_hash, &vsock->hash, guest_cid);
	mutex_unlock(&vhl_vsock_mutex);
	return 0;
}

static long vhl_vsock_set_running(struct vhl_vsock *vsock, bool start)
{
	long r;

	mutex_lock(&vsock->dev.mutex);
	r = vhl_dev_check_owner(&vsock->dev);
	if (r)
		goto out_unlock;
	vhl_vsock_set_backends(vsock, start);
	if (start) {
		/* Packets queued before the start, buffers posted before. */
		vhl_vq_work_queue(&vsock->vqs[VHL_VSOCK_VQ_RX].vq,
				  &vsock->send_pkt_work);
		vhl_poll_queue(&vsock->vqs[VHL_VSOCK_VQ_TX].vq.poll);
	} else {
		/* The handlers see no backend once they are done. */
		vhl_dev_flush(&vsock->dev);
	}
out_unlock:
	mutex_unlock(&vsock->dev.mutex);
	return r;
}

static long vhl_vsock_set_features(struct vhl_vsock *vsock, u64 features)
{
	long r;

	if (features & ~VHL_VSOCK_FEATURES)
		return -EOPNOTSUPP;
	mutex_lock(&vsock->dev.mutex);
	r = vhl_dev_set_features(&vsock->dev, features);
	if (!r)
		WRITE_ONCE(vsock->seqpacket_allow,
			   !!(features & BIT_ULL(VIRTIO_VSOCK_F_SEQPACKET)));
	mutex_unlock(&vsock->dev.mutex);
	return r;
}

static long vhl_vsock_ioctl(struct file *f, unsigned int ioctl,
			    unsigned long arg)
{
	struct vhl_vsock *vsock = f->private_data;
	void __user *argp = (void __user *)arg;
	u64 __user *featurep = argp;
	u64 features, guest_cid;
	int start;
	long r;

	/* Once owned, the device is the owner's alone (SET_OWNER: -EBUSY). */
	if (ioctl != VHOST_SET_OWNER) {
		r = vhl_dev_check_caller(&vsock->dev);
		if (r)
			return r;
	}

	switch (ioctl) {
	case VHOST_VSOCK_SET_GUEST_CID:
		if (copy_from_user(&guest_cid, argp, sizeof(guest_cid)))
			return -EFAULT;
		return vhl_vsock_set_cid(vsock, guest_cid);
	case VHOST_VSOCK_SET_RUNNING:
		if (copy_from_user(&start, argp, sizeof(start)))
			return -EFAULT;
		return vhl_vsock_set_running(vsock, start);
	case VHOST_GET_FEATURES:
		features = VHL_VSOCK_FEATURES;
		if (copy_to_user(featurep, &features, sizeof(features)))
			return -EFAULT;
		return 0;
	case VHOST_SET_FEATURES:
		if (copy_from_user(&features, featurep, sizeof(features)))
			return -EFAULT;
		return vhl_vsock_set_features(vsock, features);
	default:
		return vhl_dev_common_ioctl(&vsock->dev, ioctl, argp);
	}
}

static void vhl_vsock_show_fdinfo(struct seq_file *m, struct file *f)
{
	struct vhl_vsock *vsock = f->private_data;

	vhl_dev_show_fdinfo(m, &vsock->dev);
	/* Lockless, like the core's lines. */
	seq_printf(m, "vhl-vsock:\tcid=%u running=%d seqpacket=%d queued=%u replies=%d malformed=%llu misaddressed=%llu nomem=%llu\n",
		   READ_ONCE(vsock->guest_cid), READ_ONCE(vsock->running),
		   READ_ONCE(vsock->seqpacket_allow),
		   skb_queue_len_lockless(&vsock->send_pkt_queue),
		   atomic_read(&vsock->queued_replies),
		   READ_ONCE(vsock->stats.malformed),
		   READ_ONCE(vsock->stats.misaddressed),
		   READ_ONCE(vsock->stats.nomem));
}

static const struct file_operations vhl_vsock_fops = {
	.owner = THIS_MODULE,
	.open = vhl_vsock_open,
	.release = vhl_vsock_release,
	.unlocked_ioctl = vhl_vsock_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
	.show_fdinfo = vhl_vsock_show_fdinfo,
};

static struct miscdevice vhl_vsock_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vhost-vsock-lite",
	.fops = &vhl_vsock_fops,
};

static int __init vhl_vsock_init(void)
{
	int ret;

	if (standard_names) {
		vhl_vsock_misc.minor = VHOST_VSOCK_MINOR;
		vhl_vsock_misc.name = "vhost-vsock";
	}
	vhl_vsock_compat_ops(&vhl_vsock_transport.transport);
	ret = vsock_core_register(&vhl_vsock_transport.transport,
				  VSOCK_TRANSPORT_F_H2G);
	if (ret) {
		pr_err("cannot register the host-to-guest vsock transport (%d): another one (in-tree vhost_vsock?) is loaded\n",
		       ret);
		return ret;
	}
	ret = misc_register(&vhl_vsock_misc);
	if (ret) {
		pr_err("cannot register misc device %s (minor %d): %d%s\n",
		       vhl_vsock_misc.name, vhl_vsock_misc.minor, ret,
		       standard_names ? " (minor taken by another driver?)" : "");
		goto err_unregister;
	}
	return 0;

err_unregister:
	vsock_core_unregister(&vhl_vsock_transport.transport);
	return ret;
}

static void __exit vhl_vsock_exit(void)
{
	misc_deregister(&vhl_vsock_misc);
	vsock_core_unregister(&vhl_vsock_transport.transport);
}

module_init(vhl_vsock_init);
module_exit(vhl_vsock_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("vhost-lite developers");
MODULE_DESCRIPTION("vhost-lite virtio-vsock back end (host-to-guest AF_VSOCK transport)");
