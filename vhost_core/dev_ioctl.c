// SPDX-License-Identifier: GPL-2.0
/*
 * What every back end's ioctl handler passes on to the core: backend
 * feature negotiation, and the device-wide and per-ring commands.
 */
#include <linux/uaccess.h>
#include "internal.h"

static long vhl_dev_set_backend_features(struct vhl_dev *dev,
					 u64 __user *featurep)
{
	u64 features;
	int i;

	if (copy_from_user(&features, featurep, sizeof(features)))
		return -EFAULT;
	if (features & ~VHL_BACKEND_FEATURES)
		return -EOPNOTSUPP;
	mutex_lock(&dev->mutex);
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		dev->vqs[i]->acked_backend_features = features;
		mutex_unlock(&dev->vqs[i]->mutex);
	}
	mutex_unlock(&dev->mutex);
	return 0;
}

/**
 * vhl_dev_common_ioctl() - the vhost ioctls every back end answers alike
 * @dev: the device
 * @ioctl: the command
 * @argp: its argument
 *
 * Answers VHOST_GET_BACKEND_FEATURES and VHOST_SET_BACKEND_FEATURES (the
 * value is recorded on every virtqueue), and runs the commands of
 * vhl_dev_ioctl() and vhl_vring_ioctl(), flushing the device's work after
 * a device-wide one (e.g. a new memory table) so that no handler still
 * runs on the old state. A back end handles VHOST_GET/SET_FEATURES,
 * VHOST_RESET_OWNER, its own commands and the ring commands it must
 * order against requests in flight, and passes everything else here.
 *
 * Context: process context, dev->mutex not held (taken here, then each
 * vq->mutex); the caller has checked vhl_dev_check_caller() for every
 * command but VHOST_SET_OWNER.
 * Return: the command's result, or -ENOIOCTLCMD for an unknown command.
 */
long vhl_dev_common_ioctl(struct vhl_dev *dev, unsigned int ioctl,
			  void __user *argp)
{
	u64 features = VHL_BACKEND_FEATURES;
	long r;

	switch (ioctl) {
	case VHOST_GET_BACKEND_FEATURES:
		if (copy_to_user(argp, &features, sizeof(features)))
			return -EFAULT;
		return 0;
	case VHOST_SET_BACKEND_FEATURES:
		return vhl_dev_set_backend_features(dev, argp);
	}

	mutex_lock(&dev->mutex);
	r = vhl_dev_ioctl(dev, ioctl, argp);
	if (r == -ENOIOCTLCMD)
		r = vhl_vring_ioctl(dev, ioctl, argp);
	else
		vhl_dev_flush(dev);
	mutex_unlock(&dev->mutex);
	return r;
}
EXPORT_SYMBOL_GPL(vhl_dev_common_ioctl);
