/* Listening sockets (server/listen.c): what every accepted connection
 * takes from its listener, since no call sets it per connection. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "server/server.h"

TEST(listen_accepted_sockets_inherit_nodelay_and_send_buffer)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	char err[160];
	listener *l = listener_open((struct sockaddr *)&sa, sizeof sa, "127.0.0.1:0", false, err,
				    sizeof err);
	CHECK(l != NULL);
	int client = socket(AF_INET, SOCK_STREAM, 0);
	bool connected = client >= 0 &&
			 connect(client, (struct sockaddr *)&l->addr, l->addr_len) == 0;
	/* the listener is non-blocking; a loopback connect completes the
	 * handshake before it returns */
	int fd = connected ? accept(l->fd, NULL, NULL) : -1;
	int nodelay = 0, sndbuf = 0;
	socklen_t len = sizeof nodelay;
	if (fd >= 0) {
		getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len);
		len = sizeof sndbuf;
		getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len);
		close(fd);
	}
	if (client >= 0)
		close(client);
	listener_close(l);
	CHECK(fd >= 0);
	CHECK_EQ(nodelay, 1);
	/* Linux reports twice the size asked for (its bookkeeping share) */
	CHECK_EQ(sndbuf, 2 * LISTENER_CHILD_SNDBUF);
}
