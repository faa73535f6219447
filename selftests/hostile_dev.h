/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One vhost-lite device of any kind (net, vsock, blk) and the guest that
 * drives it, for the hostile-ring and fault selftests
 * (vhost_hostile_test.c, vhost_fault_test.c): set-up, queue stop/start and
 * re-initialisation, and traffic through both queues.
 */
#ifndef HOSTILE_DEV_H
#define HOSTILE_DEV_H

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <linux/vm_sockets.h>

#include "blk_req.h"
#include "fdinfo.h"
#include "tap.h"
#include "vhl_test.h"
#include "virtq_hostile.h"
#include "vsock_pkt.h"

enum kind { K_NET, K_VSOCK, K_BLK };

extern const char * const kind_mod[];

#define ETYPE		0x88b5
#define NET_HDR		12	/* VERSION_1 header, written by the tap */
#define FRAME		60
#define RING		256
#define BLK_BYTES	0x100000
#define SECT		512
#define VSOCK_HDR	sizeof(struct virtio_vsock_hdr)
#define CID_BASE	3000
#define UNBOUND_PORT	9
#define V1		BIT64(VIRTIO_F_VERSION_1)
#define INDIR		BIT64(VIRTIO_RING_F_INDIRECT_DESC)
#define W		VRING_DESC_F_WRITE
#define NX		VRING_DESC_F_NEXT

/* Why the last helper failed (helpers also run in children). */
extern char why[256];

#define FAIL(...) ({ snprintf(why, sizeof(why), __VA_ARGS__); -1; })

/*
 * One device and its guest.  The vsock_guest holds the device, the arena
 * and both virtqueues for every kind (only vsock uses the rest of it).
 */
struct hdev {
	enum kind kind;
	struct vsock_guest g;
	__u64 features;
	unsigned int num;
	struct tap tap;
	int pkt;
	unsigned int seq;
	__u8 frame[FRAME];
	__u32 port;
	char path[128];
	int bfd;
	bool up;
};

#define DEV(d)		(&(d)->g.dev)
#define MEM(d)		(&(d)->g.mem)
#define VQ(d, q)	(&(d)->g.vq[q])

unsigned int aq(const struct hdev *d);
unsigned int other_q(const struct hdev *d, unsigned int q);
const char *kind_path(enum kind k);
unsigned long long vq_stat(struct hdev *d, unsigned int q, const char *key);
int q_stop(struct hdev *d, unsigned int q);
int q_start(struct hdev *d, unsigned int q);
int q_reinit(struct hdev *d, unsigned int q);
int hdev_up(struct hdev *d, enum kind k, unsigned int idx);
void hdev_down(struct hdev *d);
void make_frame(struct hdev *d, __u8 *f);
int tap_got_frame(struct hdev *d, int ms);
int vsock_got(struct hdev *d, __u16 op, __u32 port, int ms);
void vsock_req_hdr(struct hdev *d, struct virtio_vsock_hdr *h, __u32 port);
int traffic_q(struct hdev *d, unsigned int q, bool rx_ok);
int traffic(struct hdev *d);

/* Wait (bounded) until @cond holds. */
#define WAIT_FOR(cond) ({					\
	int __i;						\
	bool __ok = false;					\
								\
	for (__i = 0; __i < WAIT_MS / 10 && !__ok; __i++) {	\
		__ok = (cond);					\
		if (!__ok)					\
			poll(NULL, 0, 10);			\
	}							\
	__ok;							\
})

#endif /* HOSTILE_DEV_H */
