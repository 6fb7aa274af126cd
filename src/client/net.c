/* Blocking-with-timeout TCP for the one-shot commands. */
#include "client/client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/bytes.h"
#include "rpc/rpc.h"

bool split_host_port(const char *text, char *host, size_t host_len, char *port, size_t port_len)
{
	const char *colon;
	size_t n;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (!close)
			return false;
		n = (size_t)(close - text - 1);
		if (n >= host_len)
			return false;
		memcpy(host, text + 1, n);
		host[n] = 0;
		colon = close[1] == ':' ? close + 1 : NULL;
		if (close[1] && !colon)
			return false;
	} else {
		colon = strrchr(text, ':');
		if (colon && strchr(text, ':') != colon)
			colon = NULL; /* a bare IPv6 address */
		n = colon ? (size_t)(colon - text) : strlen(text);
		if (n >= host_len || n == 0)
			return false;
		memcpy(host, text, n);
		host[n] = 0;
	}
	const char *p = colon ? colon + 1 : KMS_PORT;
	if (!*p || strlen(p) >= port_len || strspn(p, "0123456789") != strlen(p))
		return false;
	memcpy(port, p, strlen(p) + 1);
	return true;
}

static bool wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;
	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	return n > 0;
}

int net_connect(const char *host, const char *port, int timeout_ms, char *err, size_t err_len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		snprintf(err, err_len, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	int fd = -1;
	snprintf(err, err_len, "cannot connect to %s port %s", host, port);
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		int e = 0;
		socklen_t len = sizeof e;
		if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 &&
		    (errno != EINPROGRESS || !wait_fd(fd, POLLOUT, timeout_ms) ||
		     getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0 || e)) {
			snprintf(err, err_len, "cannot connect to %s port %s: %s", host, port,
				 e ? strerror(e) : errno == EINPROGRESS ? "timed out" : strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd;
}

bool net_send(int fd, const uint8_t *buf, size_t len, int timeout_ms)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN && wait_fd(fd, POLLOUT, timeout_ms))
				continue;
			if (errno == EINTR)
				continue;
			return false;
		}
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

long net_read_pdu(int fd, uint8_t *buf, size_t cap, int timeout_ms, char *err, size_t err_len)
{
	size_t have = 0, pdu_len = 0;
	for (;;) {
		rpc_err e = rpc_frame(buf, have, &pdu_len);
		if (e == RPC_OK)
			return (long)pdu_len;
		if (e != RPC_ERR_SHORT) {
			snprintf(err, err_len, "malformed answer: %s", rpc_strerror(e));
			return NET_MALFORMED;
		}
		/* read only up to the end of this PDU: the next one stays queued */
		size_t want = have < RPC_HEADER_LEN ? RPC_HEADER_LEN - have
						    : (size_t)le16_get(buf + 8) - have;
		if (have + want > cap) {
			snprintf(err, err_len, "answer larger than %zu bytes", cap);
			return NET_MALFORMED;
		}
		if (!wait_fd(fd, POLLIN, timeout_ms)) {
			snprintf(err, err_len, "no answer within %d ms", timeout_ms);
			return NET_FAILED;
		}
		ssize_t n = recv(fd, buf + have, want, 0);
		if (n == 0) {
			if (!have)
				return 0;
			snprintf(err, err_len, "connection closed in the middle of a PDU");
			return NET_FAILED;
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			snprintf(err, err_len, "read: %s", strerror(errno));
			return NET_FAILED;
		}
		have += (size_t)n;
	}
}
