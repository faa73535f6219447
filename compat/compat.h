/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place where kernel API differences are handled.  Every switch
 * below is driven by a feature probe in compat/Kbuild.include (or a Kconfig
 * symbol), never by a version number: distributions and stable trees
 * backport API changes.
 */
#ifndef _VHL_COMPAT_H
#define _VHL_COMPAT_H

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/uio.h>

/* Worker model: vhost_task where the kernel offers it, else kthread. */
#if defined(VHL_PROBE_VHOST_TASK_KILL) && IS_ENABLED(CONFIG_VHOST_TASK)
#define VHL_HAVE_VHOST_TASK 1
#include <linux/sched/vhost_task.h>
#else
#define VHL_HAVE_VHOST_TASK 0
#endif

static inline void vhl_eventfd_signal(struct eventfd_ctx *ctx)
{
#ifdef VHL_PROBE_EVENTFD_SIGNAL_1ARG
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

#ifdef VHL_PROBE_ITER_DEST
#define VHL_ITER_DEST ITER_DEST
#define VHL_ITER_SOURCE ITER_SOURCE
#else
#define VHL_ITER_DEST READ
#define VHL_ITER_SOURCE WRITE
#endif

#endif /* _VHL_COMPAT_H */
