// SPDX-License-Identifier: GPL-2.0
/*
 * fdexec - open the queues of a multi-queue tap and as many vhost device
 * fds, then exec a program (QEMU) with the fd numbers substituted.
 *
 * Usage: fdexec -t TAP -q N [-v VHOSTDEV] -- PROGRAM [ARG...]
 *
 * Opens N /dev/net/tun fds attached to TAP with
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE and N fds of
 * VHOSTDEV (default /dev/vhost-net-lite), all inherited across exec.
 * In every ARG the placeholders @TAPFDS@ and @VHOSTFDS@ are replaced by
 * the colon-separated fd lists (QEMU's fds= / vhostfds= syntax).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/if.h>
#include <linux/if_tun.h>

#define FDEXEC_MAX_QUEUES	16
#define FDEXEC_LIST_LEN		(FDEXEC_MAX_QUEUES * 12)

static void fdexec_usage(void)
{
	fprintf(stderr,
		"usage: fdexec -t TAP -q N [-v VHOSTDEV] -- PROGRAM [ARG...]\n");
	exit(2);
}

static int tap_open_queue(const char *name)
{
	struct ifreq ifr;
	int fd;

	fd = open("/dev/net/tun", O_RDWR);
	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void list_append(char *list, int fd)
{
	size_t len = strlen(list);

	snprintf(list + len, FDEXEC_LIST_LEN - len, "%s%d", len ? ":" : "", fd);
}

/* Return a copy of @arg with each @key replaced by @val. */
static char *substitute(const char *arg, const char *key, const char *val)
{
	size_t klen = strlen(key), vlen = strlen(val), n = 0;
	const char *p;
	char *out, *o;

	for (p = strstr(arg, key); p; p = strstr(p + klen, key))
		n++;
	out = malloc(strlen(arg) + n * vlen + 1);
	if (!out) {
		perror("fdexec: malloc");
		exit(1);
	}
	for (o = out; (p = strstr(arg, key)); arg = p + klen) {
		memcpy(o, arg, p - arg);
		o += p - arg;
		memcpy(o, val, vlen);
		o += vlen;
	}
	memcpy(o, arg, strlen(arg) + 1);
	return out;
}

int main(int argc, char **argv)
{
	const char *tap = NULL, *vhost = "/dev/vhost-net-lite";
	char tapfds[FDEXEC_LIST_LEN] = "", vhostfds[FDEXEC_LIST_LEN] = "";
	int queues = 0, opt, i, fd;

	while ((opt = getopt(argc, argv, "+t:q:v:")) != -1) {
		switch (opt) {
		case 't':
			tap = optarg;
			break;
		case 'q':
			queues = atoi(optarg);
			break;
		case 'v':
			vhost = optarg;
			break;
		default:
			fdexec_usage();
		}
	}
	if (!tap || strlen(tap) >= IFNAMSIZ || queues < 1 ||
	    queues > FDEXEC_MAX_QUEUES || optind >= argc)
		fdexec_usage();

	for (i = 0; i < queues; i++) {
		fd = tap_open_queue(tap);
		if (fd < 0) {
			fprintf(stderr, "fdexec: tap %s queue %d: %s\n",
				tap, i, strerror(errno));
			return 1;
		}
		list_append(tapfds, fd);
		fd = open(vhost, O_RDWR);
		if (fd < 0) {
			fprintf(stderr, "fdexec: %s: %s\n", vhost, strerror(errno));
			return 1;
		}
		list_append(vhostfds, fd);
	}

	argv += optind;
	for (i = 0; argv[i]; i++) {
		argv[i] = substitute(argv[i], "@TAPFDS@", tapfds);
		argv[i] = substitute(argv[i], "@VHOSTFDS@", vhostfds);
	}
	execvp(argv[0], argv);
	fprintf(stderr, "fdexec: exec %s: %s\n", argv[0], strerror(errno));
	return 127;
}
