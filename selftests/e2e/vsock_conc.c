// SPDX-License-Identifier: GPL-2.0
/*
 * vsock_conc - many simultaneous AF_VSOCK stream connections in one
 * process (the e2e vsock test runs it in the L2 guest, where starting 32
 * socat processes under nested emulation takes minutes).
 *
 * Usage: vsock_conc client CID PORT N BYTES TIMEOUT_S
 *        vsock_conc server PORT N TIMEOUT_S
 *
 * The client opens N connections to CID:PORT and waits until all N are
 * established at the same time; then it sends BYTES bytes of a pattern
 * unique to each connection, shuts its sending side, and checks that the
 * server echoes exactly those bytes and closes.  The server accepts N
 * connections and echoes each until its end of file.  Both poll all
 * sockets from one thread, give up after TIMEOUT_S seconds, print one
 * summary line and exit 0 only if every connection succeeded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define CONC_MAX	256

struct conn {
	int fd;
	size_t sent, got;
	bool connected, shut, done, bad;
	unsigned char buf[4096];
	size_t blen, boff;	/* server: echo data not yet written */
};

static struct conn conns[CONC_MAX];

static unsigned char pattern(unsigned int i, size_t off)
{
	return (unsigned char)(off * 31 + i * 7 + (off >> 8));
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int client(unsigned int cid, unsigned int port, int n, size_t bytes,
		  long deadline)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port,
	};
	struct pollfd pfd[CONC_MAX];
	int i, connected = 0, done = 0, ok = 0, peak = 0;
	unsigned char buf[4096];

	for (i = 0; i < n; i++) {
		conns[i].fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (conns[i].fd < 0) {
			perror("socket");
			return 1;
		}
		if (connect(conns[i].fd, (struct sockaddr *)&sa, sizeof(sa)) &&
		    errno != EINPROGRESS) {
			perror("connect");
			return 1;
		}
	}
	/* Phase 1: all established at once. */
	while (connected < n && now_ms() < deadline) {
		for (i = 0; i < n; i++) {
			pfd[i].fd = conns[i].connected ? -1 : conns[i].fd;
			pfd[i].events = POLLOUT;
		}
		if (poll(pfd, n, 100) < 0 && errno != EINTR)
			return 1;
		for (i = 0; i < n; i++) {
			int err = 0;
			socklen_t l = sizeof(err);

			if (conns[i].connected || !pfd[i].revents)
				continue;
			getsockopt(conns[i].fd, SOL_SOCKET, SO_ERROR, &err, &l);
			if (err) {
				fprintf(stderr, "connection %d: %s\n", i,
					strerror(err));
				return 1;
			}
			conns[i].connected = true;
			connected++;
		}
	}
	peak = connected;
	if (connected < n) {
		printf("FAIL %d/%d connected before the timeout\n", connected, n);
		return 1;
	}
	/* Phase 2: send, shut, read the echo back, until all are done. */
	while (done < n && now_ms() < deadline) {
		for (i = 0; i < n; i++) {
			pfd[i].fd = conns[i].done ? -1 : conns[i].fd;
			pfd[i].events = POLLIN | (conns[i].shut ? 0 : POLLOUT);
		}
		if (poll(pfd, n, 100) < 0 && errno != EINTR)
			return 1;
		for (i = 0; i < n; i++) {
			struct conn *c = &conns[i];
			ssize_t r;
			size_t k;

			if (c->done || !pfd[i].revents)
				continue;
			if (!c->shut && (pfd[i].revents & POLLOUT)) {
				size_t len = bytes - c->sent;

				if (len > sizeof(buf))
					len = sizeof(buf);
				for (k = 0; k < len; k++)
					buf[k] = pattern(i, c->sent + k);
				r = send(c->fd, buf, len, MSG_NOSIGNAL);
				if (r > 0)
					c->sent += r;
				if (c->sent == bytes) {
					shutdown(c->fd, SHUT_WR);
					c->shut = true;
				}
			}
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				r = recv(c->fd, buf, sizeof(buf), 0);
				if (r < 0 && errno == EAGAIN)
					continue;
				if (r <= 0) {
					c->done = true;
					done++;
					if (!r && c->got == bytes && !c->bad)
						ok++;
					continue;
				}
				for (k = 0; k < (size_t)r; k++)
					if (buf[k] != pattern(i, c->got + k))
						c->bad = true;
				c->got += r;
			}
		}
	}
	printf("%s %d/%d echoes intact, %d connections at once\n",
	       ok == n ? "PASS" : "FAIL", ok, n, peak);
	return ok == n ? 0 : 1;
}

static int server(unsigned int port, int n, long deadline)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
		.svm_port = port,
	};
	struct pollfd pfd[CONC_MAX + 1];
	int lfd, i, accepted = 0, polled, done = 0;

	lfd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, n)) {
		perror("listen");
		return 1;
	}
	while (done < n && now_ms() < deadline) {
		pfd[0].fd = accepted < n ? lfd : -1;
		pfd[0].events = POLLIN;
		for (i = 0; i < accepted; i++) {
			struct conn *c = &conns[i];

			pfd[i + 1].fd = c->done ? -1 : c->fd;
			pfd[i + 1].events = c->blen ? POLLOUT : POLLIN;
		}
		polled = accepted;
		if (poll(pfd, polled + 1, 100) < 0 && errno != EINTR)
			return 1;
		if (pfd[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

			if (fd >= 0)
				conns[accepted++].fd = fd;
		}
		for (i = 0; i < polled; i++) {
			struct conn *c = &conns[i];
			ssize_t r;

			if (c->done || !pfd[i + 1].revents)
				continue;
			if (c->blen) {
				r = send(c->fd, c->buf + c->boff,
					 c->blen - c->boff, MSG_NOSIGNAL);
				if (r < 0 && errno != EAGAIN) {
					c->done = true;
					done++;
					close(c->fd);
					continue;
				}
				if (r > 0)
					c->boff += r;
				if (c->boff == c->blen) {
					c->blen = 0;
					c->boff = 0;
				}
				continue;
			}
			r = recv(c->fd, c->buf, sizeof(c->buf), 0);
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r <= 0) {
				c->done = true;
				done++;
				close(c->fd);
				continue;
			}
			c->blen = r;
			c->boff = 0;
		}
	}
	printf("%s %d/%d connections echoed\n", done == n ? "PASS" : "FAIL",
	       done, n);
	return done == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	long deadline;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 7 && !strcmp(argv[1], "client") &&
	    atoi(argv[4]) > 0 && atoi(argv[4]) <= CONC_MAX) {
		deadline = now_ms() + atol(argv[6]) * 1000L;
		return client(strtoul(argv[2], NULL, 0),
			      strtoul(argv[3], NULL, 0), atoi(argv[4]),
			      strtoul(argv[5], NULL, 0), deadline);
	}
	if (argc == 5 && !strcmp(argv[1], "server") &&
	    atoi(argv[3]) > 0 && atoi(argv[3]) <= CONC_MAX) {
		deadline = now_ms() + atol(argv[4]) * 1000L;
		return server(strtoul(argv[2], NULL, 0), atoi(argv[3]),
			      deadline);
	}
	fprintf(stderr,
		"usage: vsock_conc client CID PORT N BYTES TIMEOUT_S\n"
		"       vsock_conc server PORT N TIMEOUT_S\n");
	return 2;
}
