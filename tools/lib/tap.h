/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tap device as a vhost-net backend, and a packet socket on it.
 *
 * vhost-net and the tap's own file descriptor sit on the same side of the
 * tap: frames vhost sends (guest TX) enter the host stack as if received
 * on the interface, and vhost receives (guest RX) what the host stack
 * transmits through the interface.  Tests therefore watch and feed the
 * interface through an AF_PACKET socket bound to it.
 */
#ifndef VHL_TAP_H
#define VHL_TAP_H

#include <net/if.h>
#include <linux/types.h>
#include <sys/types.h>

/**
 * struct tap - one tap interface
 * @fd: /dev/net/tun file attached to the interface (the vhost backend)
 * @ifindex: interface index
 * @name: interface name
 */
struct tap {
	int fd;
	int ifindex;
	char name[IFNAMSIZ];
};

int tap_open(struct tap *t, const char *name, int flags, int vnet_hdr_sz);
void tap_close(struct tap *t);

int tap_packet_socket(const struct tap *t, __u16 ethertype);
ssize_t tap_packet_send(int sock, const struct tap *t, const void *frame,
			size_t len);
ssize_t tap_packet_recv(int sock, void *buf, size_t len, int timeout_ms);

#endif /* VHL_TAP_H */
