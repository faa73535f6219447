// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_net_lite: /dev/vhost-net-lite (or, with standard_names=1, the
 * standard /dev/vhost-net), a virtio-net back end on the vhost-lite core.
 * Each open file is one queue pair whose RX and TX virtqueues are served by
 * the core's worker and attached to a tap or AF_PACKET socket with
 * VHOST_NET_SET_BACKEND.
 *
 * This file holds the device's life cycle and ioctls; net_sock.c the
 * backends, net_tx.c and net_rx.c the data path.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "net.h"

static int vhl_net_open(struct inode *inode, struct file *f)
{
	struct vhl_net_vq *rx, *tx;
	struct vhl_net *n;
	int i;

	n = kvzalloc(sizeof(*n), GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL);
	if (!n)
		return -ENOMEM;

	rx = &n->vqs[VHL_NET_VQ_RX];
	tx = &n->vqs[VHL_NET_VQ_TX];
	rx->vq.handle_kick = vhl_net_handle_rx_kick;
	tx->vq.handle_kick = vhl_net_handle_tx_kick;
	for (i = 0; i < VHL_NET_VQ_MAX; i++)
		n->vq_ptrs[i] = &n->vqs[i].vq;
	vhl_dev_init(&n->dev, n->vq_ptrs, VHL_NET_VQ_MAX, VHL_NET_IOV_MAX,
		     VHL_NET_PKT_WEIGHT, VHL_NET_WEIGHT, "net");

	vhl_poll_init(&rx->sock_poll, vhl_net_handle_rx_sock, EPOLLIN, &rx->vq);
	vhl_poll_init(&tx->sock_poll, vhl_net_handle_tx_sock, EPOLLOUT,
		      &tx->vq);
	for (i = 0; i < VHL_NET_VQ_MAX; i++)
		vhl_net_update_hlens(&n->vqs[i]);

	f->private_data = n;
	return 0;
}

/* Detach both sockets; the caller puts them once the worker is idle. */
static void vhl_net_detach_all(struct vhl_net *n,
			       struct socket *socks[VHL_NET_VQ_MAX])
{
	int i;

	for (i = 0; i < VHL_NET_VQ_MAX; i++)
		socks[i] = vhl_net_detach(&n->vqs[i]);
}

static void vhl_net_put_all(struct socket *socks[VHL_NET_VQ_MAX])
{
	int i;

	for (i = 0; i < VHL_NET_VQ_MAX; i++)
		if (socks[i])
			sockfd_put(socks[i]);
}

static int vhl_net_release(struct inode *inode, struct file *f)
{
	struct socket *socks[VHL_NET_VQ_MAX];
	struct vhl_net *n = f->private_data;

	vhl_net_detach_all(n, socks);
	/* Kick polls off, then wait for anything still queued. */
	vhl_dev_stop(&n->dev);
	vhl_dev_cleanup(&n->dev);
	vhl_net_put_all(socks);
	kvfree(n);
	return 0;
}

static long vhl_net_reset_owner(struct vhl_net *n)
{
	struct socket *socks[VHL_NET_VQ_MAX] = {};
	long r;
	int i;

	mutex_lock(&n->dev.mutex);
	r = vhl_dev_check_owner(&n->dev);
	if (r)
		goto out_unlock;
	vhl_net_detach_all(n, socks);
	r = vhl_dev_reset_owner(&n->dev);
	for (i = 0; i < VHL_NET_VQ_MAX; i++) {
		mutex_lock(&n->vqs[i].vq.mutex);
		vhl_net_update_hlens(&n->vqs[i]);
		mutex_unlock(&n->vqs[i].vq.mutex);
	}
out_unlock:
	mutex_unlock(&n->dev.mutex);
	vhl_net_put_all(socks);
	return r;
}

static long vhl_net_set_owner(struct vhl_net *n)
{
	long r;

	mutex_lock(&n->dev.mutex);
	r = vhl_dev_set_owner(&n->dev);
	mutex_unlock(&n->dev.mutex);
	return r;
}

static long vhl_net_set_features(struct vhl_net *n, u64 features)
{
	int i, r;

	mutex_lock(&n->dev.mutex);
	r = vhl_dev_set_features(&n->dev, features);
	/* The handlers derive them again each run; this is for fdinfo. */
	for (i = 0; !r && i < VHL_NET_VQ_MAX; i++) {
		mutex_lock(&n->vqs[i].vq.mutex);
		vhl_net_update_hlens(&n->vqs[i]);
		mutex_unlock(&n->vqs[i].vq.mutex);
	}
	mutex_unlock(&n->dev.mutex);
	return r;
}

static long vhl_net_ioctl(struct file *f, unsigned int ioctl,
			  unsigned long arg)
{
	struct vhl_net *n = f->private_data;
	void __user *argp = (void __user *)arg;
	u64 __user *featurep = argp;
	struct vhost_vring_file backend;
	u64 features;
	long r;

	/* Once owned, the device is the owner's alone (SET_OWNER: -EBUSY). */
	if (ioctl != VHOST_SET_OWNER) {
		r = vhl_dev_check_caller(&n->dev);
		if (r)
			return r;
	}

	switch (ioctl) {
	case VHOST_NET_SET_BACKEND:
		if (copy_from_user(&backend, argp, sizeof(backend)))
			return -EFAULT;
		return vhl_net_set_backend(n, backend.index, backend.fd);
	case VHOST_GET_FEATURES:
		features = VHL_NET_FEATURES;
		if (copy_to_user(featurep, &features, sizeof(features)))
			return -EFAULT;
		return 0;
	case VHOST_SET_FEATURES:
		if (copy_from_user(&features, featurep, sizeof(features)))
			return -EFAULT;
		if (features & ~VHL_NET_FEATURES)
			return -EOPNOTSUPP;
		return vhl_net_set_features(n, features);
	case VHOST_RESET_OWNER:
		return vhl_net_reset_owner(n);
	case VHOST_SET_OWNER:
		return vhl_net_set_owner(n);
	default:
		return vhl_dev_common_ioctl(&n->dev, ioctl, argp);
	}
}

static void vhl_net_show_fdinfo(struct seq_file *m, struct file *f)
{
	static const char * const kinds[] = {
		[VHL_NET_BACKEND_NONE] = "none",
		[VHL_NET_BACKEND_TAP] = "tap",
		[VHL_NET_BACKEND_PACKET] = "packet",
	};
	struct vhl_net *n = f->private_data;
	int i;

	vhl_dev_show_fdinfo(m, &n->dev);
	/* Lockless, like the core's lines. */
	for (i = 0; i < VHL_NET_VQ_MAX; i++) {
		struct vhl_net_vq *nvq = &n->vqs[i];

		seq_printf(m, "vhl-net-vq%d:\tdir=%s backend=%s vhost_hlen=%zu sock_hlen=%zu\n",
			   i, i == VHL_NET_VQ_RX ? "rx" : "tx",
			   kinds[READ_ONCE(nvq->kind)],
			   READ_ONCE(nvq->vhost_hlen),
			   READ_ONCE(nvq->sock_hlen));
	}
}

static const struct file_operations vhl_net_fops = {
	.owner = THIS_MODULE,
	.open = vhl_net_open,
	.release = vhl_net_release,
	.unlocked_ioctl = vhl_net_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
	.show_fdinfo = vhl_net_show_fdinfo,
};

static bool vhl_net_standard_names;
module_param_named(standard_names, vhl_net_standard_names, bool, 0444);
MODULE_PARM_DESC(standard_names,
		 "Drop-in mode: register /dev/vhost-net (10:238) instead of /dev/vhost-net-lite; fails if the in-tree vhost_net holds it (default: 0)");

static struct miscdevice vhl_net_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vhost-net-lite",
	.fops = &vhl_net_fops,
};

static int __init vhl_net_init(void)
{
	int ret;

	if (vhl_net_standard_names) {
		vhl_net_misc.minor = VHOST_NET_MINOR;
		vhl_net_misc.name = "vhost-net";
	}
	ret = misc_register(&vhl_net_misc);
	if (ret == -EBUSY && vhl_net_standard_names)
		pr_err("standard_names=1: misc minor %d (/dev/vhost-net) is taken, by the in-tree vhost_net? Unload it first, or load without standard_names for /dev/vhost-net-lite\n",
		       VHOST_NET_MINOR);
	else if (ret)
		pr_err("cannot register /dev/%s: %d\n", vhl_net_misc.name, ret);
	return ret;
}
module_init(vhl_net_init);

static void __exit vhl_net_exit(void)
{
	misc_deregister(&vhl_net_misc);
}
module_exit(vhl_net_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("vhost-lite developers");
MODULE_DESCRIPTION("vhost-lite virtio-net back end (tap and AF_PACKET)");
