// SPDX-License-Identifier: GPL-2.0
/*
 * Faults and misuse against every vhost-lite back end (net, vsock, blk),
 * driven by the guest-driver library (device helpers: hostile_dev.c).
 *
 * proc.*: kill -9 of the process driving a device in the middle of
 * traffic, 10,000 open/SET_OWNER/RESET_OWNER/close cycles and 1,000
 * ring-reset cycles with leak accounting (see struct snap), and access
 * control: another process gets -EPERM for every ioctl once the device
 * has an owner, a second SET_OWNER -EBUSY, device nodes are root-only,
 * fdinfo shows no raw address, rmmod is refused while a device is open;
 * backend files closed, replaced or deleted under traffic.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/if_tun.h>

#include "kselftest_harness.h"
#include "hostile_dev.h"

/* ---- leak accounting ---------------------------------------------------- */

/*
 * sysfs files the snapshots read are opened once per test and kept open:
 * each open of a kernfs file allocates an open node that 6.1 frees with
 * kfree_rcu(), seconds later, in kmalloc-96, one of the caches measured.
 * Reopened for every sample they kept hundreds of those in flight
 * (slub_debug=U alloc_traces: kernfs_fop_open swung by up to 900) and a
 * clean run could look like a leak.  A re-read at offset 0 calls the
 * attribute's show() again.
 */
static struct {
	char path[96];
	int fd;
} sysf[64];

static int sysf_fd(const char *path, int flags)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sysf) && sysf[i].path[0]; i++)
		if (!strcmp(sysf[i].path, path))
			return sysf[i].fd;
	if (i == ARRAY_SIZE(sysf) || strlen(path) >= sizeof(sysf[i].path))
		return -1;
	sysf[i].fd = open(path, flags | O_CLOEXEC);
	if (sysf[i].fd < 0)
		return -1;
	memcpy(sysf[i].path, path, strlen(path) + 1);
	return sysf[i].fd;
}

/* /proc and sysfs numbers; sysfs ones through a kept fd. */
static long read_long(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd;

	if (strncmp(path, "/sys/", 5)) {
		long v = -1;
		FILE *f = fopen(path, "re");

		if (!f)
			return -1;
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
		return v;
	}
	fd = sysf_fd(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

static long mod_refcnt(const char *mod)
{
	char p[128];

	snprintf(p, sizeof(p), "/sys/module/%s/refcnt", mod);
	return read_long(p);
}

static long count_dir(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;
	long n = 0;

	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n - 1;	/* the directory's own fd */
}

static long status_threads(void)
{
	char line[128];
	long n = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

/*
 * Tasks in the system whose name starts with @prefix (the workers are
 * "vhl-PID": threads of the owner on 6.12, kthreads on 6.1).
 */
static long count_tasks(const char *prefix)
{
	DIR *procs = opendir("/proc"), *tasks;
	struct dirent *p, *t;
	char path[600], comm[32];
	long n = 0;

	if (!procs)
		return -1;
	while ((p = readdir(procs))) {
		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", p->d_name);
		tasks = opendir(path);
		if (!tasks)
			continue;
		while ((t = readdir(tasks))) {
			FILE *f;

			if (t->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/task/%s/comm",
				 p->d_name, t->d_name);
			f = fopen(path, "re");
			if (!f)
				continue;
			if (fgets(comm, sizeof(comm), f) &&
			    !strncmp(comm, prefix, strlen(prefix)))
				n++;
			fclose(f);
		}
		closedir(tasks);
	}
	closedir(procs);
	return n;
}

/* vmalloc areas allocated by the vhost-lite modules. */
static long count_vmallocs(void)
{
	char line[512];
	long n = 0;
	FILE *f = fopen("/proc/vmallocinfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[vhost_lite]") || strstr(line, "_lite]"))
			n++;
	fclose(f);
	return n;
}

/*
 * Slab caches our objects live in: devices, workers, memory tables,
 * requests (GFP_KERNEL_ACCOUNT: kmalloc-cg-*), eventfd contexts and
 * vhost_task structs (kmalloc-*), worker
 * threads (task_struct, pid), blk workqueues (pool_workqueue).  Files
 * are counted by file-nr instead of the filp cache: 6.1 frees struct
 * file after an RCU grace period, so filp lags by up to ~100 objects.
 */
static const char * const slabs[] = {
	"task_struct", "pid", "pool_workqueue",
	"kmalloc-cg-32", "kmalloc-cg-64", "kmalloc-cg-96", "kmalloc-cg-128",
	"kmalloc-cg-192", "kmalloc-cg-256", "kmalloc-cg-512", "kmalloc-cg-1k",
	"kmalloc-cg-2k", "kmalloc-cg-4k", "kmalloc-cg-8k",
	"kmalloc-32", "kmalloc-64", "kmalloc-96", "kmalloc-128",
	"kmalloc-192", "kmalloc-256", "kmalloc-512", "kmalloc-1k",
};

#define NSLABS ARRAY_SIZE(slabs)

/*
 * Objects in use in a cache.  SLUB counts the free objects of per-CPU
 * slabs as in use; /sys/kernel/slab/NAME/shrink flushes them first, so
 * the count right after it is exact (until the next allocation there).
 */
static long slab_objects(const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", name);
	fd = sysf_fd(path, O_WRONLY);
	if (fd < 0 || pwrite(fd, "1", 1, 0) != 1)
		return -1;
	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/objects", name);
	return read_long(path);
}

/*
 * What a leak would grow.  Exact: threads and fds of this process, worker
 * tasks, vmalloc areas of our modules, module reference counts.  The
 * allocated-files count (file-nr) is a per-CPU counter read without
 * summing: exact to its batch (32) per CPU.  Slab counts are exact right
 * after a shrink; another allocation in that cache between shrink and
 * read (an idle VM: rare) can add up to a slab's worth, which is why the
 * check allows a small tolerance and samples again before failing.
 */
struct snap {
	long threads, fds, workers, files, vmallocs, ref_core, ref_be;
	long slab[NSLABS];
};

static long file_nr(void)
{
	return read_long("/proc/sys/fs/file-nr");
}

static void snap_take(struct snap *s, enum kind k)
{
	unsigned int i;

	s->threads = status_threads();
	s->fds = count_dir("/proc/self/fd");
	s->workers = count_tasks("vhl-");
	s->files = file_nr();
	s->vmallocs = count_vmallocs();
	s->ref_core = mod_refcnt("vhost_lite");
	s->ref_be = mod_refcnt(kind_mod[k]);
	for (i = 0; i < NSLABS; i++)
		s->slab[i] = slab_objects(slabs[i]);
}

/* The lowest of a few samples: a sample can only be inflated. */
static void snap_base(struct snap *s, enum kind k)
{
	struct snap t;
	unsigned int i, n;

	/*
	 * The least of a few samples 100 ms apart: the worker of a device
	 * closed just before (a thread of ours where workers are vhost_tasks)
	 * may still be exiting, RCU-freed objects still queued.  The first
	 * sample only opens the kept sysfs files (see sysf) so that their
	 * fds and kernfs nodes are there in every later one.
	 */
	snap_take(s, k);
	snap_take(s, k);
	for (n = 0; n < 3; n++) {
		poll(NULL, 0, 100);
		snap_take(&t, k);
		for (i = 0; i < NSLABS; i++)
			if (t.slab[i] < s->slab[i])
				s->slab[i] = t.slab[i];
		s->files = t.files < s->files ? t.files : s->files;
		s->threads = t.threads < s->threads ? t.threads : s->threads;
		s->workers = t.workers < s->workers ? t.workers : s->workers;
		s->fds = t.fds < s->fds ? t.fds : s->fds;
	}
}

/*
 * Compare with @base; 0 if nothing grew beyond the tolerances, else -1
 * and the first difference in why.  @slab_tol: objects per cache.
 */
static int snap_cmp(const struct snap *base, const struct snap *now,
		    long slab_tol)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	long files_tol = 32 * (ncpu > 0 ? ncpu : 1);
	const long exact[][2] = {
		{ base->threads, now->threads }, { base->fds, now->fds },
		{ base->workers, now->workers },
		{ base->vmallocs, now->vmallocs },
		{ base->ref_core, now->ref_core }, { base->ref_be, now->ref_be },
	};
	static const char * const names[] = {
		"threads", "fds", "vhl- tasks", "vmalloc areas",
		"vhost_lite refcnt", "back end refcnt",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(exact); i++)
		if (exact[i][0] != exact[i][1])
			return FAIL("%s %ld -> %ld", names[i], exact[i][0],
				    exact[i][1]);
	if (now->files > base->files + files_tol)
		return FAIL("allocated files %ld -> %ld", base->files,
			    now->files);
	for (i = 0; i < NSLABS; i++)
		if (base->slab[i] >= 0 && now->slab[i] > base->slab[i] + slab_tol)
			return FAIL("slab %s: %ld -> %ld objects", slabs[i],
				    base->slab[i], now->slab[i]);
	return 0;
}

/*
 * Bounded settle: RCU-freed objects (task structs, files) and deferred
 * fputs take a moment.  A leak never settles.
 */
static int snap_settled(const struct snap *base, enum kind k, long slab_tol,
			struct snap *now)
{
	int i;

	for (i = 0; i < 50; i++) {
		snap_take(now, k);
		if (!snap_cmp(base, now, slab_tol))
			return 0;
		poll(NULL, 0, 100);
	}
	return -1;
}

static void snap_log(const char *what, const struct snap *a,
		     const struct snap *b)
{
	unsigned int i;

	fprintf(stderr, "# %s: threads %ld->%ld fds %ld->%ld workers %ld->%ld",
		what, a->threads, b->threads, a->fds, b->fds, a->workers,
		b->workers);
	fprintf(stderr, " files %ld->%ld vmalloc %ld->%ld refcnt %ld->%ld/%ld->%ld",
		a->files, b->files, a->vmallocs, b->vmallocs,
		a->ref_core, b->ref_core, a->ref_be, b->ref_be);
	for (i = 0; i < NSLABS; i++)
		if (a->slab[i] >= 0)
			fprintf(stderr, " %s %+ld", slabs[i],
				b->slab[i] - a->slab[i]);
	fprintf(stderr, "\n");
}

/* ---- proc: faults, leaks, access ---------------------------------------- */

FIXTURE(proc) {
	struct hdev d;
};

FIXTURE_VARIANT(proc) {
	enum kind kind;
};

FIXTURE_VARIANT_ADD(proc, net) {
	.kind = K_NET,
};

FIXTURE_VARIANT_ADD(proc, vsock) {
	.kind = K_VSOCK,
};

FIXTURE_VARIANT_ADD(proc, blk) {
	.kind = K_BLK,
};

FIXTURE_SETUP(proc)
{
	self->d.up = false;
	if (access(kind_path(variant->kind), F_OK))
		SKIP(return, "%s does not exist", kind_path(variant->kind));
	if (mod_refcnt(kind_mod[variant->kind]) < 0)
		SKIP(return, "%s is not loaded", kind_mod[variant->kind]);
	if (variant->kind == K_NET && unshare(CLONE_NEWNET))
		TH_LOG("no private netns: %s", strerror(errno));
}

FIXTURE_TEARDOWN(proc)
{
	hdev_down(&self->d);
}

static long child_fdinfo_stat(pid_t pid, int fd, unsigned int q,
			      const char *key)
{
	return (long)fdinfo_stat(pid, fd, "vhl-vq", q, key);
}

/* The child of kill9_mid_traffic: traffic until killed. */
static void traffic_child(enum kind k, int wfd)
{
	struct hdev d;
	int fd;

	/* Never outlive the test, whatever happens to it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL))
		_exit(1);
	if (hdev_up(&d, k, 7) || traffic(&d)) {
		fprintf(stderr, "# child: %s\n", why);
		_exit(1);
	}
	fd = DEV(&d)->fd;
	if (write(wfd, &fd, sizeof(fd)) != sizeof(fd))
		_exit(1);
	/* blk: a batch in flight on the other queue, never reaped. */
	if (k == K_BLK) {
		int i;

		for (i = 0; i < 64; i++) {
			struct blk_req *r = calloc(1, sizeof(*r));
			void *data = gmem_alloc(MEM(&d), 4096, 4096);

			if (!r || !data || blk_req_alloc(r, MEM(&d)))
				_exit(1);
			blk_req_prep(r, i % 2 ? VIRTIO_BLK_T_OUT :
				     VIRTIO_BLK_T_IN, i * 8, data, 4096);
			if (blk_req_queue(VQ(&d, 1), r))
				_exit(1);
		}
		virtq_kick(VQ(&d, 1));
	}
	for (;;) {
		if (traffic_q(&d, aq(&d), true)) {
			/* Out of arena or ring: start the rings over. */
			gmem_reset(MEM(&d), MEM(&d)->size / 2);
			q_reinit(&d, 0);
			q_reinit(&d, 1);
		}
	}
}

TEST_F_TIMEOUT(proc, kill9_mid_traffic, 120)
{
	long core = mod_refcnt("vhost_lite"), be = mod_refcnt(kind_mod[variant->kind]);
	unsigned int q = variant->kind == K_BLK ? 0 : 1;
	struct pollfd pfd = { .events = POLLIN };
	char name[32];
	int p[2], fd = -1, status;
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(p[0]);
		traffic_child(variant->kind, p[1]);
		_exit(1);
	}
	close(p[1]);
	pfd.fd = p[0];
	ASSERT_EQ(1, poll(&pfd, 1, 4 * WAIT_MS)) TH_LOG("child not up");
	ASSERT_EQ(sizeof(fd), read(p[0], &fd, sizeof(fd))) TH_LOG("child failed");
	close(p[0]);
	/* In the middle of traffic: the counters keep moving. */
	ASSERT_TRUE(WAIT_FOR(child_fdinfo_stat(pid, fd, q, "descs") > 20))
		TH_LOG("no traffic in the child");
	EXPECT_LE(be + 1, mod_refcnt(kind_mod[variant->kind]));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("child status 0x%x", status);

	/* Everything the device held is released (comm ends with \n). */
	snprintf(name, sizeof(name), "vhl-%d\n", pid);
	EXPECT_TRUE(WAIT_FOR(mod_refcnt(kind_mod[variant->kind]) == be))
		TH_LOG("%s refcnt %ld, was %ld", kind_mod[variant->kind],
		       mod_refcnt(kind_mod[variant->kind]), be);
	EXPECT_EQ(core, mod_refcnt("vhost_lite"));
	EXPECT_TRUE(WAIT_FOR(count_tasks(name) == 0)) TH_LOG("worker of %d lingers", pid);

	/* And the module still serves a new device. */
	ASSERT_EQ(0, hdev_up(&self->d, variant->kind, 0)) TH_LOG("%s", why);
	ASSERT_EQ(0, traffic(&self->d)) TH_LOG("%s", why);
}

/* Cycles of the owner and the ring-reset tests. */
#define OWNER_CYCLES	10000
#define RING_CYCLES	1000

TEST_F_TIMEOUT(proc, owner_cycles, 240)
{
	int cycles = OWNER_CYCLES;
	struct snap base, now;
	struct vhost_dev d;
	int i, ret = 0;

	/* Warm up caches and lazily allocated state first. */
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, vhost_dev_open(&d, kind_path(variant->kind)));
		ASSERT_EQ(0, vhost_dev_set_owner(&d));
		vhost_dev_close(&d);
	}
	snap_base(&base, variant->kind);
	for (i = 0; i < cycles && !ret; i++) {
		ret = vhost_dev_open(&d, kind_path(variant->kind));
		if (ret)
			break;
		ret = vhost_dev_set_owner(&d);
		/* vsock has no RESET_OWNER (as in-tree): ENOTTY. */
		if (!ret)
			ret = vhost_dev_reset_owner(&d);
		if (variant->kind == K_VSOCK && ret == -ENOTTY)
			ret = 0;
		vhost_dev_close(&d);
	}
	ASSERT_EQ(0, ret) TH_LOG("cycle %d: %s", i, strerror(-ret));
	ASSERT_EQ(cycles, i);
	ret = snap_settled(&base, variant->kind, cycles / 100, &now);
	snap_log("owner cycles", &base, &now);
	EXPECT_EQ(0, ret) TH_LOG("after %d cycles: %s", cycles, why);
}

/* One boot's worth of ring set-up and stop on both queues. */
static int ring_cycle(struct hdev *d)
{
	unsigned int q, base;
	int ret = 0;

	for (q = 0; q < 2 && !ret; q++) {
		struct virtq *vq = VQ(d, q);
		int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC);

		ret = q_stop(d, q);
		/*
		 * Empty rings, as a resetting driver leaves them: with base 0
		 * and the old avail->idx, vsock would replay the earlier
		 * packets and queue replies for as long as the cycles run.
		 */
		virtq_raw_set_avail_idx(vq, 0);
		__atomic_store_n(&vq->used->idx, 0, __ATOMIC_RELEASE);
		if (!ret)
			ret = vhost_dev_set_vring_num(DEV(d), q, vq->num);
		if (!ret)
			ret = vhost_dev_set_vring_base(DEV(d), q, 0);
		if (!ret)
			ret = vhost_dev_set_vring_addr(DEV(d), q,
						       gmem_uaddr(vq->desc),
						       gmem_uaddr(vq->avail),
						       gmem_uaddr(vq->used), 0,
						       0);
		if (!ret)
			ret = vhost_dev_set_vring_kick(DEV(d), q, kick);
		if (!ret)
			ret = vhost_dev_set_vring_call(DEV(d), q, call);
		if (!ret)
			ret = q_start(d, q);
		if (!ret)
			ret = vhost_dev_get_vring_base(DEV(d), q, &base);
		/* The device holds its own references to the eventfds. */
		close(kick);
		close(call);
	}
	return ret;
}

TEST_F_TIMEOUT(proc, ring_reset_cycles, 240)
{
	struct snap base, now;
	int i, ret = 0;

	ASSERT_EQ(0, hdev_up(&self->d, variant->kind, 0)) TH_LOG("%s", why);
	ASSERT_EQ(0, traffic(&self->d)) TH_LOG("%s", why);
	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, ring_cycle(&self->d));
	snap_base(&base, variant->kind);
	for (i = 0; i < RING_CYCLES && !ret; i++)
		ret = ring_cycle(&self->d);
	ASSERT_EQ(0, ret) TH_LOG("cycle %d: %s", i, strerror(-ret));
	ret = snap_settled(&base, variant->kind, RING_CYCLES / 100, &now);
	snap_log("ring cycles", &base, &now);
	EXPECT_EQ(0, ret) TH_LOG("after %d cycles: %s", RING_CYCLES, why);
	/* The device still works, set up anew. */
	ASSERT_EQ(0, q_reinit(&self->d, 0)) TH_LOG("%s", why);
	ASSERT_EQ(0, q_reinit(&self->d, 1)) TH_LOG("%s", why);
	ASSERT_EQ(0, traffic(&self->d)) TH_LOG("%s", why);
}

struct foreign {
	struct hdev *d;
	int efd;
};

/* Every ioctl of the device, from a process that is not the owner. */
static int foreign_ioctls(void *arg, int *res, int max)
{
	struct foreign *f = arg;
	struct vhost_dev *d = DEV(f->d);
	struct vhost_memory mem = { .nregions = 0 };
	struct vhost_vring_state s = { .index = 0, .num = 64 };
	struct vhost_vring_addr a = { .index = 0 };
	struct vhost_vring_file vf = { .index = 0, .fd = f->efd };
	struct vhost_blk_lite_backend bb = { .fd = -1 };
	struct vhost_blk_lite_serial ser = { };
	__u8 cfg[256];
	__u64 u = 0;
	int one = 1, n = 0;

	if (max < 24)
		return 0;
	res[n++] = vhost_dev_ioctl(d, VHOST_GET_FEATURES, &u);
	res[n++] = vhost_dev_ioctl(d, VHOST_SET_FEATURES, &u);
	res[n++] = vhost_dev_ioctl(d, VHOST_GET_BACKEND_FEATURES, &u);
	res[n++] = vhost_dev_ioctl(d, VHOST_SET_BACKEND_FEATURES, &u);
	res[n++] = vhost_dev_ioctl(d, VHOST_SET_MEM_TABLE, &mem);
	res[n++] = vhost_dev_ioctl(d, VHOST_SET_LOG_BASE, &u);
	res[n++] = vhost_dev_ioctl(d, VHOST_SET_LOG_FD, &one);
	res[n++] = vhost_dev_ioctl(d, VHOST_SET_VRING_NUM, &s);
	res[n++] = vhost_dev_ioctl(d, VHOST_SET_VRING_BASE, &s);
	res[n++] = vhost_dev_ioctl(d, VHOST_GET_VRING_BASE, &s);
	res[n++] = vhost_dev_ioctl(d, VHOST_SET_VRING_ADDR, &a);
	res[n++] = vhost_dev_ioctl(d, VHOST_SET_VRING_KICK, &vf);
	res[n++] = vhost_dev_ioctl(d, VHOST_SET_VRING_CALL, &vf);
	res[n++] = vhost_dev_ioctl(d, VHOST_SET_VRING_ERR, &vf);
	res[n++] = vhost_dev_ioctl(d, VHOST_RESET_OWNER, NULL);
	res[n++] = vhost_dev_ioctl(d, _IO(VHOST_VIRTIO, 0x7f), NULL);
	switch (f->d->kind) {
	case K_NET:
		res[n++] = vhost_net_set_backend(d, 0, -1);
		break;
	case K_VSOCK:
		u = CID_BASE + 99;
		res[n++] = vhost_dev_ioctl(d, VHOST_VSOCK_SET_GUEST_CID, &u);
		res[n++] = vhost_dev_ioctl(d, VHOST_VSOCK_SET_RUNNING, &one);
		break;
	case K_BLK:
		res[n++] = vhost_dev_ioctl(d, VHOST_BLK_LITE_SET_BACKEND, &bb);
		res[n++] = vhost_dev_ioctl(d, VHOST_BLK_LITE_SET_SERIAL, &ser);
		res[n++] = vhost_dev_ioctl(d, VHOST_BLK_LITE_GET_CONFIG, cfg);
		break;
	}
	/* Last: SET_OWNER, which says "taken". */
	res[n++] = vhost_dev_set_owner(d);
	return n;
}

TEST_F(proc, non_owner_eperm)
{
	struct foreign f = { .d = &self->d };
	int res[24], n, i;
	__u64 feat = 0;

	ASSERT_EQ(0, hdev_up(&self->d, variant->kind, 0)) TH_LOG("%s", why);
	f.efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, f.efd);
	n = vhl_in_child(foreign_ioctls, &f, res, ARRAY_SIZE(res));
	ASSERT_LT(16, n);
	for (i = 0; i < n - 1; i++)
		EXPECT_EQ(-EPERM, res[i]) TH_LOG("ioctl %d of the list", i);
	EXPECT_EQ(-EBUSY, res[n - 1]) TH_LOG("SET_OWNER from another process");
	/* The owner still does everything, and nothing changed. */
	EXPECT_EQ(-EBUSY, vhost_dev_set_owner(DEV(&self->d)));
	EXPECT_EQ(0, vhost_dev_get_features(DEV(&self->d), &feat));
	ASSERT_EQ(0, traffic(&self->d)) TH_LOG("%s", why);
	close(f.efd);
}

TEST_F(proc, node_root_only)
{
	struct stat st;

	if (!access("/run/udev/control", F_OK))
		SKIP(return, "udevd runs: its rules set the mode");
	ASSERT_EQ(0, stat(kind_path(variant->kind), &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);
}

/* Is the hex word at @p (16 digits) a hashed pointer, not @raw? */
static bool hashed(const char *p, __u64 raw)
{
	char *end;
	__u64 v = strtoull(p, &end, 16);

	if (!strncmp(p, "(____ptrval____)", 16))
		return true;
	/* %p on 64-bit: 16 digits, the top 32 bits zero (32-bit hash). */
	return end - p == 16 && v <= 0xffffffffULL && v != raw;
}

TEST_F(proc, fdinfo_hashed)
{
	static const char * const keys[] = { "desc_ring=", "avail_ring=",
					     "used_ring=" };
	struct hdev *d = &self->d;
	char *text, *w, raw[32];
	unsigned int q, k;
	size_t len;

	ASSERT_EQ(0, hdev_up(d, variant->kind, 0)) TH_LOG("%s", why);
	text = fdinfo_read(0, DEV(d)->fd);
	ASSERT_NE(NULL, text);
	for (q = 0; q < 2; q++) {
		__u64 addr[3] = { gmem_uaddr(VQ(d, q)->desc),
				  gmem_uaddr(VQ(d, q)->avail),
				  gmem_uaddr(VQ(d, q)->used) };
		char name[16];
		const char *line, *v;

		snprintf(name, sizeof(name), "vhl-vq%u", q);
		line = fdinfo_find(text, name, &len);
		ASSERT_NE(NULL, line);
		for (k = 0; k < 3; k++) {
			v = strstr(line, keys[k]);
			ASSERT_NE(NULL, v);
			ASSERT_LT(v, line + len);
			EXPECT_TRUE(hashed(v + strlen(keys[k]), addr[k]))
				TH_LOG("vq %u %s%.20s", q, keys[k],
				       v + strlen(keys[k]));
			snprintf(raw, sizeof(raw), "%llx",
				 (unsigned long long)addr[k]);
			EXPECT_EQ(NULL, strstr(text, raw));
		}
	}
	/* No kernel address anywhere (0xffff8... and up). */
	for (w = text; (w = strstr(w, "ffff")); w++) {
		char *end;
		__u64 v;

		if (w > text && isxdigit((unsigned char)w[-1]))
			continue;
		v = strtoull(w, &end, 16);
		EXPECT_FALSE(end - w == 16 && v >= 0xffff800000000000ULL)
			TH_LOG("kernel address in fdinfo: %.16s", w);
	}
	free(text);
}

static long try_rmmod(const char *mod)
{
	return syscall(SYS_delete_module, mod, O_NONBLOCK) ? -errno : 0;
}

TEST_F(proc, rmmod_refused_while_open)
{
	const char *mod = kind_mod[variant->kind];
	long be = mod_refcnt(mod), core = mod_refcnt("vhost_lite");
	struct vhost_dev a, b;
	long r;

	ASSERT_EQ(0, vhost_dev_open(&a, kind_path(variant->kind)));
	EXPECT_EQ(be + 1, mod_refcnt(mod));
	ASSERT_EQ(0, vhost_dev_open(&b, kind_path(variant->kind)));
	EXPECT_EQ(be + 2, mod_refcnt(mod));
	ASSERT_EQ(0, vhost_dev_set_owner(&b));
	/* The core is held by its back ends, not by devices. */
	EXPECT_EQ(core, mod_refcnt("vhost_lite"));
	r = try_rmmod(mod);
	EXPECT_TRUE(r == -EWOULDBLOCK || r == -EBUSY) TH_LOG("rmmod %s: %ld", mod, r);
	r = try_rmmod("vhost_lite");
	EXPECT_TRUE(r == -EWOULDBLOCK || r == -EBUSY) TH_LOG("rmmod vhost_lite: %ld", r);
	vhost_dev_close(&a);
	vhost_dev_close(&b);
	EXPECT_TRUE(WAIT_FOR(mod_refcnt(mod) == be))
		TH_LOG("%s refcnt %ld, was %ld", mod, mod_refcnt(mod), be);
}

/* ---- faults: backends closed, replaced, deleted ------------------------ */

/* TX a batch of @n frames without waiting; return 0 or -1. */
static int tx_batch(struct hdev *d, unsigned int n)
{
	struct virtq *vq = VQ(d, NET_VQ_TX);
	unsigned int i;

	for (i = 0; i < n; i++) {
		__u8 *p = gmem_alloc(MEM(d), NET_HDR + FRAME, 64);

		if (!p)
			return FAIL("arena full");
		make_frame(d, p + NET_HDR);
		if (virtq_add_outbuf(vq, p, NET_HDR + FRAME, p))
			return FAIL("ring full");
	}
	return virtq_kick(vq) < 0 ? FAIL("kick") : 0;
}

/* Wait for @n used TX buffers. */
static int tx_reap(struct hdev *d, unsigned int n)
{
	struct virtq *vq = VQ(d, NET_VQ_TX);
	unsigned int got = 0;
	__u32 len;

	while (got < n) {
		if (virtq_get_buf(vq, &len)) {
			got++;
			continue;
		}
		if (virtq_wait_used(vq, WAIT_MS) != 1)
			return FAIL("%u of %u TX buffers back", got, n);
	}
	return 0;
}

/*
 * net: the VMM closes its tap fd (the device keeps the tap), then
 * replaces the tap while a batch is in flight: every buffer comes back,
 * and traffic goes to the new tap.
 */
TEST_F(proc, net_tap_closed_and_replaced)
{
	struct hdev *d = &self->d;
	struct tap t2;
	int pkt2, q;

	if (variant->kind != K_NET)
		SKIP(return, "net only");
	ASSERT_EQ(0, hdev_up(d, K_NET, 0)) TH_LOG("%s", why);
	ASSERT_EQ(0, tx_batch(d, 32));
	close(d->tap.fd);
	d->tap.fd = -1;
	ASSERT_EQ(0, tx_reap(d, 32)) TH_LOG("%s", why);
	ASSERT_EQ(0, traffic(d)) TH_LOG("tap fd closed: %s", why);

	ASSERT_EQ(0, tap_open(&t2, NULL, IFF_VNET_HDR, NET_HDR));
	pkt2 = tap_packet_socket(&t2, ETYPE);
	ASSERT_LE(0, pkt2);
	ASSERT_EQ(0, tx_batch(d, 64));
	for (q = 0; q < 2; q++)
		ASSERT_EQ(0, vhost_net_set_backend(DEV(d), q, t2.fd));
	ASSERT_EQ(0, tx_reap(d, 64)) TH_LOG("%s", why);
	EXPECT_EQ(0, vq_stat(d, NET_VQ_TX, "broken"));
	close(d->pkt);
	tap_close(&d->tap);
	d->tap = t2;
	d->pkt = pkt2;
	ASSERT_EQ(0, traffic(d)) TH_LOG("new tap: %s", why);
}

/* net: the tap deleted (ip link del) under load: no hang, no breakage. */
TEST_F(proc, net_tap_deleted_under_load)
{
	struct hdev *d = &self->d;
	char cmd[64];
	struct tap t2;
	int pkt2, q;

	if (variant->kind != K_NET)
		SKIP(return, "net only");
	if (system("command -v ip >/dev/null"))
		SKIP(return, "no ip(8)");
	ASSERT_EQ(0, hdev_up(d, K_NET, 0)) TH_LOG("%s", why);
	ASSERT_EQ(0, tx_batch(d, 128));
	snprintf(cmd, sizeof(cmd), "ip link del %s", d->tap.name);
	ASSERT_EQ(0, system(cmd));
	/* The rest is dropped as by a NIC whose link went away. */
	ASSERT_EQ(0, tx_reap(d, 128)) TH_LOG("%s", why);
	ASSERT_EQ(0, tx_batch(d, 16));
	ASSERT_EQ(0, tx_reap(d, 16)) TH_LOG("after the delete: %s", why);
	EXPECT_EQ(0, vq_stat(d, NET_VQ_TX, "broken"));
	EXPECT_EQ(0, vq_stat(d, NET_VQ_RX, "broken"));
	/* A new tap takes over. */
	ASSERT_EQ(0, tap_open(&t2, NULL, IFF_VNET_HDR, NET_HDR));
	pkt2 = tap_packet_socket(&t2, ETYPE);
	ASSERT_LE(0, pkt2);
	for (q = 0; q < 2; q++)
		ASSERT_EQ(0, vhost_net_set_backend(DEV(d), q, t2.fd));
	close(d->pkt);
	tap_close(&d->tap);
	d->tap = t2;
	d->pkt = pkt2;
	ASSERT_EQ(0, traffic(d)) TH_LOG("new tap: %s", why);
}

/* blk: the VMM closes the backing fd with requests in flight. */
TEST_F(proc, blk_backing_closed_inflight)
{
	struct hdev *d = &self->d;
	struct virtq *vq;
	int i, fd;

	if (variant->kind != K_BLK)
		SKIP(return, "blk only");
	ASSERT_EQ(0, hdev_up(d, K_BLK, 0)) TH_LOG("%s", why);
	vq = VQ(d, 0);
	for (i = 0; i < 64; i++) {
		struct blk_req *r = calloc(1, sizeof(*r));
		void *data = gmem_alloc(MEM(d), 4096, 4096);

		ASSERT_TRUE(r && data);
		ASSERT_EQ(0, blk_req_alloc(r, MEM(d)));
		blk_req_prep(r, i % 2 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
			     i * 8, data, 4096);
		ASSERT_EQ(0, blk_req_queue(vq, r));
	}
	ASSERT_LE(0, virtq_kick(vq));
	/* Keep a path to check the file; drop the fd the device got. */
	fd = open(d->path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	close(d->bfd);
	d->bfd = fd;
	for (i = 0; i < 64; i++) {
		struct blk_req *r;

		for (;;) {
			r = blk_req_complete(vq);
			if (r)
				break;
			ASSERT_EQ(1, virtq_wait_used(vq, WAIT_MS));
		}
		EXPECT_EQ(VIRTIO_BLK_S_OK, *r->status);
		free(r);
	}
	ASSERT_EQ(0, traffic(d)) TH_LOG("%s", why);
}

TEST_HARNESS_MAIN
