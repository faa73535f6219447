/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A dirty-log bitmap as QEMU keeps one for a migration: bit N (bit N % 8
 * of byte N / 8) for guest-physical page N of DLOG_PAGE bytes, covering
 * an arena's guest-physical range, for tests that check which pages a
 * device marked.
 */
#ifndef VHL_DIRTY_LOG_H
#define VHL_DIRTY_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "guest_mem.h"
#include "vhost_dev.h"

/* Guest page size of the vhost log. */
#define DLOG_PAGE	4096ULL

/**
 * struct dlog - one log bitmap
 * @bits: the bitmap (anonymous mapping), NULL before dlog_init()
 * @size: its size in bytes
 */
struct dlog {
	__u8 *bits;
	size_t size;
};

int dlog_init(struct dlog *l, const struct gmem *m);
void dlog_destroy(struct dlog *l);
void dlog_clear(struct dlog *l);
bool dlog_test(const struct dlog *l, __u64 gpa);
unsigned int dlog_count(const struct dlog *l);
unsigned int dlog_pages(__u64 gpa, __u64 len);
int dlog_switch(struct vhost_dev *d, __u64 features,
		const struct virtq *vqs, unsigned int nvqs, bool on);

#endif /* VHL_DIRTY_LOG_H */
