// SPDX-License-Identifier: GPL-2.0
/*
 * Per-virtqueue workers (VHOST_NEW_WORKER, VHOST_FREE_WORKER,
 * VHOST_ATTACH_VRING_WORKER, VHOST_GET_VRING_WORKER) on a vhost-net device
 * node (/dev/vhost-net-lite, or $VHOST_NET_DEV): ids, attachment, the
 * errors, ownership, and that each worker is a thread that exists while
 * the device holds it.  Traffic on moved virtqueues is tested in
 * vhost_blk_test (workers_*).
 *
 * The in-tree vhost-net has no worker ioctls (only vhost-scsi answers
 * them, from 6.5 on): against it these tests are skipped.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>

#include "kselftest_harness.h"
#include "fdinfo.h"
#include "vhl_test.h"

#define NVQS 2

/* Is the task at @dir (".../PID") named @comm and not yet dead? */
static bool task_is(const char *dir, const char *comm)
{
	char path[320], buf[512], *p;
	FILE *f;
	bool ok = false;

	snprintf(path, sizeof(path), "%.300s/stat", dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f)) {
		/* "pid (comm) S ...": the state follows the last ')'. */
		p = strrchr(buf, ')');
		ok = p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X' &&
		     !strncmp(strchr(buf, '(') + 1, comm, strlen(comm)) &&
		     strchr(buf, '(')[1 + strlen(comm)] == ')';
	}
	fclose(f);
	return ok;
}

static int count_in(const char *root, const char *comm)
{
	char path[300];
	struct dirent *e;
	int n = 0;
	DIR *d = opendir(root);

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, e->d_name);
		n += task_is(path, comm);
	}
	closedir(d);
	return n;
}

/*
 * Live worker threads of this process's devices, named "vhl-PID": threads
 * of ours where the kernel has vhost_task (6.4+), kthreads elsewhere.
 */
static int worker_threads(void)
{
	char comm[32];

	snprintf(comm, sizeof(comm), "vhl-%d", getpid());
	return count_in("/proc/self/task", comm) + count_in("/proc", comm);
}

/*
 * Wait (at most 5 s) until @want worker threads exist: a stopped thread
 * leaves /proc shortly after the ioctl that stopped it returned.
 */
static int wait_worker_threads(int want)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i, n = worker_threads();

	for (i = 0; i < 500 && n != want; i++) {
		nanosleep(&ts, NULL);
		n = worker_threads();
	}
	return n;
}

static unsigned long long worker_stat(int fd, unsigned int id, const char *key)
{
	return fdinfo_stat(0, fd, "vhl-worker", id, key);
}

FIXTURE(workers) {
	struct vhost_dev dev;
	int base_threads;
};

FIXTURE_SETUP(workers)
{
	int ret;

	self->dev.fd = -1;
	ret = vhl_open(&self->dev);
	if (ret == -ENOENT)
		SKIP(return, "%s does not exist (module not loaded?)",
		     vhost_net_dev_path());
	ASSERT_EQ(0, ret);
	if (!vhl_flavor_lite(self->dev.fd))
		SKIP(return, "the in-tree vhost-net has no worker ioctls");
	self->base_threads = worker_threads();
	ASSERT_EQ(0, vhost_dev_set_owner(&self->dev));
}

FIXTURE_TEARDOWN(workers)
{
	vhost_dev_close(&self->dev);
}

TEST_F(workers, default_worker)
{
	unsigned int id = 99, q;

	for (q = 0; q < NVQS; q++) {
		ASSERT_EQ(0, vhost_dev_get_vring_worker(&self->dev, q, &id));
		EXPECT_EQ(0, id);
		EXPECT_EQ(0ULL, fdinfo_stat(0, self->dev.fd, "vhl-vq", q,
					    "worker"));
	}
	EXPECT_EQ(NVQS, worker_stat(self->dev.fd, 0, "vqs"));
	EXPECT_EQ(~0ULL, worker_stat(self->dev.fd, 1, "vqs"));
	EXPECT_EQ(self->base_threads + 1, worker_threads());
}

TEST_F(workers, new_attach_free)
{
	unsigned int id = 0, got = 0;

	ASSERT_EQ(0, vhost_dev_new_worker(&self->dev, &id));
	EXPECT_EQ(1, id);
	EXPECT_EQ(self->base_threads + 2, worker_threads());
	EXPECT_EQ(0ULL, worker_stat(self->dev.fd, id, "vqs"));

	ASSERT_EQ(0, vhost_dev_attach_vring_worker(&self->dev, 1, id));
	ASSERT_EQ(0, vhost_dev_get_vring_worker(&self->dev, 1, &got));
	EXPECT_EQ(id, got);
	ASSERT_EQ(0, vhost_dev_get_vring_worker(&self->dev, 0, &got));
	EXPECT_EQ(0, got);
	EXPECT_EQ(1ULL, worker_stat(self->dev.fd, 0, "vqs"));
	EXPECT_EQ(1ULL, worker_stat(self->dev.fd, id, "vqs"));
	EXPECT_EQ((unsigned long long)id,
		  fdinfo_stat(0, self->dev.fd, "vhl-vq", 1, "worker"));
	/* Attaching the worker a queue already has changes nothing. */
	ASSERT_EQ(0, vhost_dev_attach_vring_worker(&self->dev, 1, id));
	EXPECT_EQ(1ULL, worker_stat(self->dev.fd, id, "vqs"));

	/* In use: not freed. */
	EXPECT_EQ(-EBUSY, vhost_dev_free_worker(&self->dev, id));
	EXPECT_EQ(-EBUSY, vhost_dev_free_worker(&self->dev, 0));

	ASSERT_EQ(0, vhost_dev_attach_vring_worker(&self->dev, 1, 0));
	EXPECT_EQ(2ULL, worker_stat(self->dev.fd, 0, "vqs"));
	EXPECT_EQ(0ULL, worker_stat(self->dev.fd, id, "vqs"));
	ASSERT_EQ(0, vhost_dev_free_worker(&self->dev, id));
	EXPECT_EQ(~0ULL, worker_stat(self->dev.fd, id, "vqs"));
	EXPECT_EQ(self->base_threads + 1,
		  wait_worker_threads(self->base_threads + 1));
	EXPECT_EQ(-ENODEV, vhost_dev_free_worker(&self->dev, id));
}

TEST_F(workers, bad_arguments)
{
	unsigned int id = 0;

	EXPECT_EQ(-ENODEV, vhost_dev_attach_vring_worker(&self->dev, 0, 7));
	EXPECT_EQ(-ENODEV, vhost_dev_attach_vring_worker(&self->dev, 0, ~0U));
	EXPECT_EQ(-ENODEV, vhost_dev_free_worker(&self->dev, 7));
	EXPECT_EQ(-ENODEV, vhost_dev_free_worker(&self->dev, ~0U));
	EXPECT_EQ(-ENOBUFS, vhost_dev_attach_vring_worker(&self->dev, NVQS,
							  0));
	EXPECT_EQ(-ENOBUFS, vhost_dev_get_vring_worker(&self->dev, ~0U, &id));
	EXPECT_EQ(-EFAULT, vhost_dev_ioctl(&self->dev, VHOST_NEW_WORKER,
					   (void *)16));
	EXPECT_EQ(-EFAULT, vhost_dev_ioctl(&self->dev, VHOST_GET_VRING_WORKER,
					   (void *)16));
	/* The failed NEW_WORKER left no worker or thread behind. */
	EXPECT_EQ(~0ULL, worker_stat(self->dev.fd, 1, "vqs"));
	EXPECT_EQ(self->base_threads + 1,
		  wait_worker_threads(self->base_threads + 1));
}

/* One worker per virtqueue plus the default one, no more. */
TEST_F(workers, limit)
{
	unsigned int id, i;

	for (i = 0; i < NVQS; i++)
		ASSERT_EQ(0, vhost_dev_new_worker(&self->dev, &id));
	EXPECT_EQ(-ENOSPC, vhost_dev_new_worker(&self->dev, &id));
	EXPECT_EQ(self->base_threads + NVQS + 1, worker_threads());
	ASSERT_EQ(0, vhost_dev_free_worker(&self->dev, id));
	EXPECT_EQ(0, vhost_dev_new_worker(&self->dev, &id));
}

/* The default worker is one like the others once nothing uses it. */
TEST_F(workers, free_default_worker)
{
	unsigned int id = 0, got = 99, q;

	ASSERT_EQ(0, vhost_dev_new_worker(&self->dev, &id));
	for (q = 0; q < NVQS; q++)
		ASSERT_EQ(0, vhost_dev_attach_vring_worker(&self->dev, q, id));
	ASSERT_EQ(0, vhost_dev_free_worker(&self->dev, 0));
	EXPECT_EQ(self->base_threads + 1,
		  wait_worker_threads(self->base_threads + 1));
	for (q = 0; q < NVQS; q++) {
		ASSERT_EQ(0, vhost_dev_get_vring_worker(&self->dev, q, &got));
		EXPECT_EQ(id, got);
	}
	EXPECT_EQ(-ENODEV, vhost_dev_attach_vring_worker(&self->dev, 0, 0));
}

TEST_F(workers, reset_owner_and_close_stop_threads)
{
	unsigned int id, got = 99;

	ASSERT_EQ(0, vhost_dev_new_worker(&self->dev, &id));
	ASSERT_EQ(0, vhost_dev_new_worker(&self->dev, &id));
	ASSERT_EQ(0, vhost_dev_attach_vring_worker(&self->dev, 0, id));
	EXPECT_EQ(self->base_threads + 3, worker_threads());

	ASSERT_EQ(0, vhost_dev_reset_owner(&self->dev));
	EXPECT_EQ(self->base_threads, wait_worker_threads(self->base_threads));
	EXPECT_EQ(-EPERM, vhost_dev_get_vring_worker(&self->dev, 0, &got));

	/* A new owner starts again from one worker, id 0, for every vq. */
	ASSERT_EQ(0, vhost_dev_set_owner(&self->dev));
	ASSERT_EQ(0, vhost_dev_get_vring_worker(&self->dev, 0, &got));
	EXPECT_EQ(0, got);
	EXPECT_EQ(~0ULL, worker_stat(self->dev.fd, 1, "vqs"));
	ASSERT_EQ(0, vhost_dev_new_worker(&self->dev, &id));
	EXPECT_EQ(self->base_threads + 2, worker_threads());

	vhost_dev_close(&self->dev);
	EXPECT_EQ(self->base_threads, wait_worker_threads(self->base_threads));
}

static int non_owner_worker_ioctls(void *arg, int *res, int max)
{
	struct vhost_dev *d = arg;
	unsigned int id = 0;
	int n = 0;

	if (max < 4)
		return 0;
	res[n++] = vhost_dev_new_worker(d, &id);
	res[n++] = vhost_dev_free_worker(d, 0);
	res[n++] = vhost_dev_attach_vring_worker(d, 0, 0);
	res[n++] = vhost_dev_get_vring_worker(d, 0, &id);
	return n;
}

TEST_F(workers, non_owner_process)
{
	int res[4], n, i;

	n = vhl_in_child(non_owner_worker_ioctls, &self->dev, res, 4);
	ASSERT_EQ(4, n);
	for (i = 0; i < n; i++)
		EXPECT_EQ(-EPERM, res[i]) TH_LOG("worker ioctl %d", i);
	EXPECT_EQ(NVQS, worker_stat(self->dev.fd, 0, "vqs"));
}

TEST(before_owner)
{
	struct vhost_dev d = { .fd = -1 };
	unsigned int id = 0;
	int ret = vhl_open(&d);

	if (ret == -ENOENT)
		SKIP(return, "%s does not exist", vhost_net_dev_path());
	ASSERT_EQ(0, ret);
	if (!vhl_flavor_lite(d.fd)) {
		vhost_dev_close(&d);
		SKIP(return, "the in-tree vhost-net has no worker ioctls");
	}
	EXPECT_EQ(-EPERM, vhost_dev_new_worker(&d, &id));
	EXPECT_EQ(-EPERM, vhost_dev_free_worker(&d, 0));
	EXPECT_EQ(-EPERM, vhost_dev_attach_vring_worker(&d, 0, 0));
	EXPECT_EQ(-EPERM, vhost_dev_get_vring_worker(&d, 0, &id));
	vhost_dev_close(&d);
}

TEST_HARNESS_MAIN
