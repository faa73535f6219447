// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty-log bitmaps for tests (see dirty_log.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <linux/vhost.h>

#include "dirty_log.h"
#include "virtq.h"

/**
 * dlog_init() - a zeroed bitmap covering guest-physical [0, end of @m)
 * @l: the bitmap
 * @m: the guest memory it must cover
 *
 * Return: 0 or -ENOMEM.
 */
int dlog_init(struct dlog *l, const struct gmem *m)
{
	__u64 end = m->gpa_base + m->size;

	l->size = (size_t)((end / DLOG_PAGE + 7) / 8);
	l->bits = mmap(NULL, l->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (l->bits == MAP_FAILED) {
		l->bits = NULL;
		return -ENOMEM;
	}
	return 0;
}

/**
 * dlog_destroy() - unmap a bitmap (fine on one that dlog_init() failed)
 * @l: the bitmap
 */
void dlog_destroy(struct dlog *l)
{
	if (l->bits)
		munmap(l->bits, l->size);
	l->bits = NULL;
}

/**
 * dlog_clear() - clear every bit, as QEMU does after a sync
 * @l: the bitmap
 */
void dlog_clear(struct dlog *l)
{
	memset(l->bits, 0, l->size);
}

/**
 * dlog_test() - is the page of a guest-physical address marked?
 * @l: the bitmap
 * @gpa: the address
 *
 * Return: true if its bit is set.
 */
bool dlog_test(const struct dlog *l, __u64 gpa)
{
	__u64 page = gpa / DLOG_PAGE;

	return l->bits[page / 8] & (1U << (page % 8));
}

/**
 * dlog_count() - number of bits set
 * @l: the bitmap
 *
 * Return: the count, to check that nothing was marked that nobody wrote.
 */
unsigned int dlog_count(const struct dlog *l)
{
	unsigned int c = 0;
	size_t i;

	for (i = 0; i < l->size; i++)
		c += __builtin_popcount(l->bits[i]);
	return c;
}

/**
 * dlog_pages() - number of log pages that guest-physical [gpa, gpa + len)
 * touches
 * @gpa: first byte
 * @len: bytes (0: none)
 *
 * Return: the page count.
 */
unsigned int dlog_pages(__u64 gpa, __u64 len)
{
	if (!len)
		return 0;
	return (unsigned int)((gpa + len - 1) / DLOG_PAGE - gpa / DLOG_PAGE + 1);
}

/**
 * dlog_switch() - switch logging on or off as QEMU does
 * @d: the device, its log base set
 * @features: the features negotiated without VHOST_F_LOG_ALL
 * @vqs: the device's virtqueues, set up with vhost_dev_setup_vq()
 * @nvqs: their number
 * @on: log or not
 *
 * SET_FEATURES with or without VHOST_F_LOG_ALL, then SET_VRING_ADDR with
 * or without VHOST_VRING_F_LOG on every queue.
 *
 * Return: 0 or the first negative errno.
 */
int dlog_switch(struct vhost_dev *d, __u64 features,
		const struct virtq *vqs, unsigned int nvqs, bool on)
{
	unsigned int i;
	int ret;

	if (on)
		features |= 1ULL << VHOST_F_LOG_ALL;
	ret = vhost_dev_set_features(d, features);
	for (i = 0; !ret && i < nvqs; i++)
		ret = vhost_dev_set_vring_log(d, &vqs[i], on);
	return ret;
}
