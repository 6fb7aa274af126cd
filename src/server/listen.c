/* Listening sockets: our own, or those systemd passes (LISTEN_FDS). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/server.h"

#define SD_LISTEN_FDS_START 3

/* Set on the listening socket, so that Linux copies them into every
 * socket it accepts, two system calls fewer per connection: answers go
 * out at once (a client waits for each), and the kernel send buffer is a
 * fixed 16 KiB (answers are under 1 KiB), so a client that never reads
 * holds about a hundred answers, not the megabytes of an autotuned one. */
static void set_inherited_options(int fd)
{
	int one = 1, sndbuf = LISTENER_CHILD_SNDBUF;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
}

static void port_of(const struct sockaddr_storage *ss, char *out, size_t len)
{
	unsigned port = 0;
	if (ss->ss_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	else if (ss->ss_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	snprintf(out, len, "%u", port);
}

listener *listener_open(const struct sockaddr *addr, socklen_t len, const char *name,
			bool freebind, char *err, size_t err_len)
{
	listener *l = calloc(1, sizeof *l);
	if (!l) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	l->kind = SOURCE_LISTENER;
	snprintf(l->name, sizeof l->name, "%s", name);

	int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* [::] serves IPv6 only; 0.0.0.0 is listed separately, as configured */
	if (addr->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	/* listen-freebind: an address that is not up yet (at boot) binds now
	 * and takes connections once it is */
	if (freebind && setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one) < 0)
		goto fail;
	set_inherited_options(fd);
	if (bind(fd, addr, len) < 0 || listen(fd, SOMAXCONN) < 0)
		goto fail;

	l->fd = fd;
	l->addr_len = sizeof l->addr;
	getsockname(fd, (struct sockaddr *)&l->addr, &l->addr_len);
	port_of(&l->addr, l->port, sizeof l->port);
	return l;

fail:
	snprintf(err, err_len, "cannot listen on %s: %s%s", name, strerror(errno),
		 errno == EADDRNOTAVAIL ? " (no interface has this address yet; listen-freebind = "
					  "yes binds it anyway)"
		 : errno == EADDRINUSE ? " (another process listens there)"
		 : errno == EAFNOSUPPORT ? " (IPv6 is off on this machine)"
					 : "");
	if (fd >= 0)
		close(fd);
	free(l);
	return NULL;
}

void listener_close(listener *l)
{
	if (!l)
		return;
	if (!l->from_systemd)
		close(l->fd);
	free(l);
}

int listeners_from_systemd(listener **list, char *err, size_t err_len)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char *end;
	if (!pid || !fds)
		return 0;
	long owner = strtol(pid, &end, 10);
	if (*end || owner != (long)getpid())
		return 0;
	long count = strtol(fds, &end, 10);
	if (*end || count < 0 || count > 1024) {
		snprintf(err, err_len, "LISTEN_FDS=\"%.20s\" is not a number of sockets", fds);
		return -1;
	}
	int n = (int)count;
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		listener *l = calloc(1, sizeof *l);
		if (!l) {
			snprintf(err, err_len, "out of memory");
			return -1;
		}
		l->kind = SOURCE_LISTENER;
		l->fd = fd;
		l->from_systemd = true;
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		/* a connection systemd queued before this line keeps the
		 * defaults: Nagle, which a client waiting for each answer
		 * never meets, and an autotuned send buffer */
		set_inherited_options(fd);
		l->addr_len = sizeof l->addr;
		getsockname(fd, (struct sockaddr *)&l->addr, &l->addr_len);
		port_of(&l->addr, l->port, sizeof l->port);
		snprintf(l->name, sizeof l->name, "systemd socket %d (port %s)", fd, l->port);
		l->next = *list;
		*list = l;
	}
	/* do not pass them on to children */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return n;
}
