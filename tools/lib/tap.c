// SPDX-License-Identifier: GPL-2.0
/*
 * tap interfaces and packet sockets for vhost-net tests (see tap.h).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"

/* Keep the host stack quiet on the interface (no IPv6 autoconf traffic). */
static void tap_disable_ipv6(const char *name)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 name);
	/* Without IPv6 in the kernel there is nothing to silence. */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = write(fd, "1", 1);
	(void)n;
	close(fd);
}

static int tap_up(struct tap *t)
{
	struct ifreq ifr;
	int s, ret = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, t->name, IFNAMSIZ);
	if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
		ret = -errno;
		goto out;
	}
	t->ifindex = ifr.ifr_ifindex;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		ret = -errno;
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		ret = -errno;
out:
	close(s);
	return ret;
}

/**
 * tap_open() - create a tap interface and bring it up
 * @t: tap
 * @name: interface name or pattern ("vhl%d"); NULL for "vhltap%d"
 * @flags: extra TUNSETIFF flags, e.g. IFF_VNET_HDR (IFF_TAP | IFF_NO_PI
 *	are always set)
 * @vnet_hdr_sz: with IFF_VNET_HDR, the header size to set (10 or 12);
 *	0 keeps the default
 *
 * IPv6 is disabled on the interface before it goes up, so the host sends
 * nothing on it by itself.
 *
 * Return: 0 or a negative errno.
 */
int tap_open(struct tap *t, const char *name, int flags, int vnet_hdr_sz)
{
	struct ifreq ifr;
	int ret;

	memset(t, 0, sizeof(*t));
	t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (t->fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | flags);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name ? name : "vhltap%d");
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0)
		goto err;
	memcpy(t->name, ifr.ifr_name, IFNAMSIZ);
	t->name[IFNAMSIZ - 1] = '\0';
	if (vnet_hdr_sz && ioctl(t->fd, TUNSETVNETHDRSZ, &vnet_hdr_sz) < 0)
		goto err;
	tap_disable_ipv6(t->name);
	ret = tap_up(t);
	if (ret) {
		errno = -ret;
		goto err;
	}
	return 0;

err:
	ret = -errno;
	close(t->fd);
	t->fd = -1;
	return ret;
}

/**
 * tap_close() - close the tap (a non-persistent interface disappears)
 * @t: tap
 */
void tap_close(struct tap *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/**
 * tap_packet_socket() - a non-blocking packet socket bound to the tap
 * @t: tap
 * @ethertype: frames of this EtherType are received (host order)
 *
 * Return: socket or a negative errno.
 */
int tap_packet_socket(const struct tap *t, __u16 ethertype)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ethertype),
		.sll_ifindex = t->ifindex,
	};
	int s, err;

	s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		   htons(ethertype));
	if (s < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		err = -errno;
		close(s);
		return err;
	}
	return s;
}

/**
 * tap_packet_send() - transmit a whole Ethernet frame through the tap
 * @sock: packet socket from tap_packet_socket()
 * @t: tap
 * @frame: frame including the Ethernet header
 * @len: its length
 *
 * The frame leaves the host through the interface, i.e. it is what vhost
 * delivers to the guest's RX queue.
 *
 * Return: bytes sent or a negative errno.
 */
ssize_t tap_packet_send(int sock, const struct tap *t, const void *frame,
			size_t len)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = t->ifindex,
		.sll_halen = ETH_ALEN,
	};
	ssize_t n;

	memcpy(sll.sll_addr, frame, ETH_ALEN);
	n = sendto(sock, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll));
	return n < 0 ? -errno : n;
}

/**
 * tap_packet_recv() - receive a frame that entered the host through the tap
 * @sock: packet socket from tap_packet_socket()
 * @buf: buffer
 * @len: its size
 * @timeout_ms: bound on the wait
 *
 * Frames the host itself sent (PACKET_OUTGOING) are skipped.
 *
 * Return: frame length, 0 on timeout, or a negative errno.
 */
ssize_t tap_packet_recv(int sock, void *buf, size_t len, int timeout_ms)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };

	for (;;) {
		struct sockaddr_ll from;
		socklen_t flen = sizeof(from);
		ssize_t n;
		int ret;

		n = recvfrom(sock, buf, len, MSG_TRUNC,
			     (struct sockaddr *)&from, &flen);
		if (n >= 0 && from.sll_pkttype == PACKET_OUTGOING)
			continue;
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		ret = poll(&pfd, 1, timeout_ms);
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (!ret)
			return 0;
	}
}
