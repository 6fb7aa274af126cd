/* kms-nullhost: the physical limit for a KMS host on this machine.
 *
 *   kms-nullhost PORT THREADS
 *
 * Accepts connections and answers each client write with canned bytes —
 * the first with a recorded-shape bind_ack, every later one with a V6-sized
 * response PDU — without parsing or crypto. Same threading as kmsd (one
 * epoll loop per thread sharing the listener with EPOLLEXCLUSIVE), so
 * `make bench` can report kmsd's rate as a ratio of what the kernel and the
 * loopback allow. The answers do not verify: kmsc bench --no-verify. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rpc/rpc.h"

static int listener;
static uint8_t bind_ack[128], response[512];
static size_t bind_ack_len, response_len;

typedef struct conn {
	int fd;
	int answered;
} conn;

static void *loop(void *arg)
{
	(void)arg;
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
	struct epoll_event events[256];
	uint8_t buf[4096];
	for (;;) {
		int n = epoll_wait(ep, events, 256, -1);
		for (int i = 0; i < n; i++) {
			conn *c = events[i].data.ptr;
			if (!c) {
				int fd;
				while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					c = calloc(1, sizeof *c);
					c->fd = fd;
					struct epoll_event cev = { .events = EPOLLIN, .data.ptr = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
				}
				continue;
			}
			ssize_t r = read(c->fd, buf, sizeof buf);
			if (r <= 0) {
				close(c->fd);
				free(c);
				continue;
			}
			const uint8_t *out = c->answered++ ? response : bind_ack;
			size_t len = out == response ? response_len : bind_ack_len;
			if (write(c->fd, out, len) < 0) {
				close(c->fd);
				free(c);
			}
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: kms-nullhost PORT THREADS\n");
		return 2;
	}
	/* canned answers, built once with the codec: an NDR32 acceptance and
	 * a 260-byte KMS message inside a response PDU */
	rpc_bind_ack ack = { .hdr = { .ptype = RPC_BIND_ACK, .call_id = 1 }, .max_xmit_frag = 5840,
			     .max_recv_frag = 5840, .assoc_group_id = 1, .n_results = 1 };
	snprintf(ack.secondary_address, sizeof ack.secondary_address, "%s", argv[1]);
	ack.results[0].transfer = rpc_ndr32_syntax;
	rpc_bind_ack_encode(&ack, bind_ack, sizeof bind_ack, &bind_ack_len);
	uint8_t msg[260] = { 0, 0, 6, 0 };
	rpc_response_encode(2, 0, RPC_SYNTAX_NDR32, msg, sizeof msg, 0, response, sizeof response,
			    &response_len);

	listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int one = 1;
	setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* every accepted socket inherits it, as in kmsd: no call per visit */
	setsockopt(listener, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(listener, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(listener, SOMAXCONN) < 0) {
		perror("kms-nullhost");
		return 1;
	}
	int threads = atoi(argv[2]) > 0 ? atoi(argv[2]) : 1;
	for (int i = 1; i < threads; i++) {
		pthread_t t;
		pthread_create(&t, NULL, loop, NULL);
	}
	printf("ready\n");
	fflush(stdout);
	loop(NULL);
	return 0;
}
