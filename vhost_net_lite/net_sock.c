// SPDX-License-Identifier: GPL-2.0
/*
 * vhost_net_lite backends: find the socket behind a file descriptor (tun/tap,
 * macvtap/ipvtap or an AF_PACKET SOCK_RAW socket) and swap it in and out of
 * a virtqueue, also while the guest is moving traffic.
 */
#include <linux/file.h>
#include <linux/if_tap.h>
#include <linux/if_tun.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <net/sock.h>

#include "net.h"

/* An AF_PACKET SOCK_RAW socket, or NULL. */
static struct socket *vhl_net_get_packet_socket(int fd)
{
	struct socket *sock;
	int err;

	sock = sockfd_lookup(fd, &err);
	if (!sock)
		return NULL;
	if (sock->sk && sock->sk->sk_family == AF_PACKET &&
	    sock->sk->sk_type == SOCK_RAW)
		return sock;
	sockfd_put(sock);
	return NULL;
}

#if IS_ENABLED(CONFIG_TAP)
/*
 * macvtap/ipvtap sockets, through symbol_get() so that loading this module
 * does not pull in tap.ko.  A tap file holds a reference on tap.ko, so if
 * @file is one, the symbol is there.
 */
static struct socket *vhl_net_get_tap_socket(struct file *file)
{
	struct socket *(*get_socket)(struct file *file);
	struct socket *sock;

	get_socket = symbol_get(tap_get_socket);
	if (!get_socket)
		return ERR_PTR(-ENOTSOCK);
	sock = get_socket(file);
	symbol_put(tap_get_socket);
	return sock;
}
#else
static struct socket *vhl_net_get_tap_socket(struct file *file)
{
	return ERR_PTR(-ENOTSOCK);
}
#endif

/*
 * The socket behind @fd with a reference on its file (drop it with
 * sockfd_put()), NULL for fd -1, or ERR_PTR(-ENOTSOCK).
 */
static struct socket *vhl_net_get_socket(int fd,
					 enum vhl_net_backend_kind *kind,
					 bool *tun)
{
	struct socket *sock;
	struct file *file;

	*kind = VHL_NET_BACKEND_NONE;
	*tun = false;
	if (fd == -1)
		return NULL;

	sock = vhl_net_get_packet_socket(fd);
	if (sock) {
		*kind = VHL_NET_BACKEND_PACKET;
		return sock;
	}

	file = fget(fd);
	if (!file)
		return ERR_PTR(-ENOTSOCK);
	/* The socket of a tap file is embedded in it: sock->file == file. */
	sock = tun_get_socket(file);
	*tun = !IS_ERR(sock);
	if (IS_ERR(sock))
		sock = vhl_net_get_tap_socket(file);
	if (IS_ERR(sock)) {
		fput(file);
		return ERR_PTR(-ENOTSOCK);
	}
	*kind = VHL_NET_BACKEND_TAP;
	return sock;
}

/**
 * vhl_net_set_backend() - attach a socket to a virtqueue or detach it
 * @n: the device
 * @index: VHL_NET_VQ_RX or VHL_NET_VQ_TX
 * @fd: a tun/tap file, an AF_PACKET SOCK_RAW socket, or -1 to detach
 *
 * The old socket stops waking the worker before the new one is installed,
 * both under vq->mutex, so a handler sees either.  The old socket is
 * released only after the worker has been flushed.
 *
 * Context: process context; takes dev->mutex and vq->mutex.
 * Return: 0, -EPERM if the caller is not the owner, -ENOBUFS for a bad
 * @index, -EFAULT if the ring is not set up (for an attach), -ENOTSOCK if @fd is not a
 * supported socket, or the error of polling the new socket.
 */
long vhl_net_set_backend(struct vhl_net *n, unsigned int index, int fd)
{
	enum vhl_net_backend_kind kind;
	struct socket *sock, *oldsock;
	struct vhl_virtqueue *vq;
	struct vhl_net_vq *nvq;
	bool tun;
	long r;

	mutex_lock(&n->dev.mutex);
	r = vhl_dev_check_owner(&n->dev);
	if (r)
		goto err_unlock_dev;
	if (index >= VHL_NET_VQ_MAX) {
		r = -ENOBUFS;
		goto err_unlock_dev;
	}
	nvq = &n->vqs[array_index_nospec(index, VHL_NET_VQ_MAX)];
	vq = &nvq->vq;

	mutex_lock(&vq->mutex);
	/* Attaching needs the ring; detaching is always fine. */
	if (fd != -1 && !vq->desc) {
		r = -EFAULT;
		goto err_unlock_vq;
	}
	sock = vhl_net_get_socket(fd, &kind, &tun);
	if (IS_ERR(sock)) {
		r = PTR_ERR(sock);
		goto err_unlock_vq;
	}

	oldsock = vhl_vq_get_backend(vq);
	if (sock != oldsock) {
		vhl_poll_stop(&nvq->sock_poll);
		vhl_vq_set_backend(vq, sock);
		if (sock) {
			r = vhl_poll_start(&nvq->sock_poll, sock->file);
			if (r)
				goto err_restore_backend;
		}
		WRITE_ONCE(nvq->kind, kind);
		nvq->tun = tun;
		vhl_net_update_hlens(nvq);
		/* Let the handler look at what queued up meanwhile. */
		if (sock)
			vhl_poll_queue(&vq->poll);
	}
	mutex_unlock(&vq->mutex);

	/* sock == oldsock: drop the reference vhl_net_get_socket() took. */
	if (oldsock) {
		vhl_dev_flush(&n->dev);
		sockfd_put(oldsock);
	}
	mutex_unlock(&n->dev.mutex);
	return 0;

err_restore_backend:
	vhl_vq_set_backend(vq, oldsock);
	if (oldsock)
		vhl_poll_start(&nvq->sock_poll, oldsock->file);
	sockfd_put(sock);
err_unlock_vq:
	mutex_unlock(&vq->mutex);
err_unlock_dev:
	mutex_unlock(&n->dev.mutex);
	return r;
}

/**
 * vhl_net_detach() - take the socket away from a virtqueue
 * @nvq: the virtqueue
 *
 * Context: process context; takes vq->mutex.  The caller flushes the
 * worker before it drops the returned socket with sockfd_put().
 * Return: the socket that was attached, or NULL.
 */
struct socket *vhl_net_detach(struct vhl_net_vq *nvq)
{
	struct vhl_virtqueue *vq = &nvq->vq;
	struct socket *sock;

	mutex_lock(&vq->mutex);
	sock = vhl_vq_get_backend(vq);
	vhl_poll_stop(&nvq->sock_poll);
	vhl_vq_set_backend(vq, NULL);
	WRITE_ONCE(nvq->kind, VHL_NET_BACKEND_NONE);
	nvq->tun = false;
	mutex_unlock(&vq->mutex);
	return sock;
}
