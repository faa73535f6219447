/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vhost-user protocol (QEMU's docs/interop/vhost-user.rst) as a
 * vhost-kernel bridge needs it: message framing with bounded sizes and file
 * descriptor counts, and the guest memory regions the front end shares,
 * mapped into this process; and the front end's side of the same framing
 * (vu_call()), for `vhostctl bench blk` against a vhost-user-blk server.
 *
 * No system header defines the protocol, so its numbers are here.
 */
#ifndef VHOSTCTL_VHOST_USER_H
#define VHOSTCTL_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* Requests (front end to back end). */
enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_RESET_DEVICE = 34,
	VU_GET_MAX_MEM_SLOTS = 36,
	VU_REQUEST_MAX = 64,
};

/* Virtio feature bit: the back end speaks protocol features. */
#define VU_F_PROTOCOL_FEATURES		30

/* Protocol feature bits. */
#define VU_PROTOCOL_F_MQ		0
#define VU_PROTOCOL_F_LOG_SHMFD		1
#define VU_PROTOCOL_F_REPLY_ACK		3
#define VU_PROTOCOL_F_CONFIG		9

/* Header flags. */
#define VU_VERSION			0x1U
#define VU_VERSION_MASK			0x3U
#define VU_FLAG_REPLY			0x4U
#define VU_FLAG_NEED_REPLY		0x8U

/* u64 payload of SET_VRING_KICK/CALL/ERR. */
#define VU_VRING_IDX_MASK		0xffULL
#define VU_VRING_NOFD			0x100ULL

/* Memory regions per SET_MEM_TABLE (QEMU's VHOST_MEMORY_BASELINE_NREGIONS). */
#define VU_MAX_REGIONS			8
/* File descriptors per message: SET_MEM_TABLE sends one per region. */
#define VU_MAX_FDS			VU_MAX_REGIONS
/* Config space carried by GET_CONFIG / SET_CONFIG. */
#define VU_CONFIG_SPACE			256

/**
 * struct vu_hdr - message header
 * @request: enum vu_request
 * @flags: VU_VERSION and VU_FLAG_*
 * @size: payload bytes that follow
 */
struct vu_hdr {
	__u32 request;
	__u32 flags;
	__u32 size;
};

/** struct vu_vring_state - SET_VRING_NUM/BASE, GET_VRING_BASE, ENABLE */
struct vu_vring_state {
	__u32 index;
	__u32 num;
};

/**
 * struct vu_vring_addr - SET_VRING_ADDR: addresses in the front end's
 * address space
 */
struct vu_vring_addr {
	__u32 index;
	__u32 flags;
	__u64 desc;
	__u64 used;
	__u64 avail;
	__u64 log;
};

/**
 * struct vu_region - one region of SET_MEM_TABLE
 * @gpa: guest-physical address
 * @size: bytes
 * @uaddr: the front end's address of the region
 * @mmap_offset: offset of the region in the file descriptor sent with it
 */
struct vu_region {
	__u64 gpa;
	__u64 size;
	__u64 uaddr;
	__u64 mmap_offset;
};

/** struct vu_memory - SET_MEM_TABLE payload */
struct vu_memory {
	__u32 nregions;
	__u32 padding;
	struct vu_region regions[VU_MAX_REGIONS];
};

/**
 * struct vu_log - SET_LOG_BASE payload (with VU_PROTOCOL_F_LOG_SHMFD): the
 * dirty log is @mmap_size bytes at @mmap_offset of the descriptor sent
 * with the message
 * @mmap_size: bytes of the log bitmap
 * @mmap_offset: its offset in the descriptor
 */
struct vu_log {
	__u64 mmap_size;
	__u64 mmap_offset;
};

/** struct vu_config - GET_CONFIG / SET_CONFIG payload */
struct vu_config {
	__u32 offset;
	__u32 size;
	__u32 flags;
	__u8 region[VU_CONFIG_SPACE];
};

#define VU_CONFIG_HDR_SIZE		offsetof(struct vu_config, region)

/**
 * struct vu_msg - one received message and the descriptors sent with it
 * @hdr: header
 * @u64: payload of the u64 requests
 * @state: payload of the vring state requests
 * @addr: payload of SET_VRING_ADDR
 * @mem: payload of SET_MEM_TABLE
 * @config: payload of GET_CONFIG / SET_CONFIG
 * @log: payload of SET_LOG_BASE
 * @raw: the payload as bytes
 * @fds: descriptors received with the message (owned by the message)
 * @nfds: number of @fds
 */
struct vu_msg {
	struct vu_hdr hdr;
	union {
		__u64 u64;
		struct vu_vring_state state;
		struct vu_vring_addr addr;
		struct vu_memory mem;
		struct vu_config config;
		struct vu_log log;
		__u8 raw[sizeof(struct vu_config)];
	};
	int fds[VU_MAX_FDS];
	unsigned int nfds;
};

#define VU_MAX_PAYLOAD			sizeof(((struct vu_msg *)0)->raw)

const char *vu_request_name(__u32 request);
int vu_msg_recv(int sock, struct vu_msg *msg);
int vu_msg_check(const struct vu_msg *msg);
void vu_msg_close_fds(struct vu_msg *msg);
int vu_msg_take_fd(struct vu_msg *msg, unsigned int i);
int vu_reply(int sock, const struct vu_msg *req, const void *payload,
	     __u32 size);
int vu_reply_u64(int sock, const struct vu_msg *req, __u64 val);

/* The front end's side. */
int vu_send(int sock, __u32 request, __u32 flags, const void *payload,
	    __u32 size, const int *fds, unsigned int nfds);
int vu_reply_recv(int sock, struct vu_msg *msg);
int vu_call(int sock, __u32 request, const void *payload, __u32 size,
	    const int *fds, unsigned int nfds, struct vu_msg *reply);

/**
 * struct vu_map - one region of the front end's memory, mapped here
 * @r: the region as the front end described it
 * @base: where it is mapped in this process (the region's first byte)
 * @dev: st_dev of the descriptor it was mapped from
 * @ino: st_ino of the descriptor it was mapped from
 */
struct vu_map {
	struct vu_region r;
	void *base;
	__u64 dev;
	__u64 ino;
};

/**
 * struct vu_mem - the front end's memory table, mapped here
 * @maps: regions
 * @n: number of @maps
 */
struct vu_mem {
	struct vu_map maps[VU_MAX_REGIONS];
	unsigned int n;
};

int vu_mem_map(struct vu_mem *next, const struct vu_mem *cur,
	       struct vu_msg *msg);
void vu_mem_unmap_stale(struct vu_mem *old, const struct vu_mem *keep);
void vu_mem_unmap(struct vu_mem *mem);
__u64 vu_mem_translate(const struct vu_mem *mem, __u64 uaddr, __u64 len);

/**
 * struct vu_logmap - the front end's dirty log, mapped here
 * @map: the mapping (from offset 0 of the descriptor), NULL when none
 * @map_len: its length
 * @bits: the log's first byte (@map plus the message's offset)
 * @size: bytes of the log
 */
struct vu_logmap {
	void *map;
	size_t map_len;
	__u8 *bits;
	__u64 size;
};

int vu_log_map(struct vu_logmap *log, struct vu_msg *msg);
void vu_log_unmap(struct vu_logmap *log);

#endif /* VHOSTCTL_VHOST_USER_H */
