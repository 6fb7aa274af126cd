/* The running server: what the main thread and the worker loops share.
 *
 * Workers are threads, one per core, each with its own epoll set holding
 * every listener (EPOLLEXCLUSIVE, so one worker wakes per connection) and
 * the connections it accepted. A connection lives on one worker for its
 * whole life: no locks on the request path. Settings are an immutable
 * snapshot swapped atomically on reload; the old one is freed once every
 * worker has moved past it. */
#ifndef KMSD_SERVER_SERVER_H
#define KMSD_SERVER_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "server/access.h"
#include "server/client_count.h"
#include "server/host.h"
#include "server/metrics.h"
#include "server/peers.h"
#include "store/store.h"

/* What an epoll event's data pointer refers to. */
enum source_kind { SOURCE_LISTENER, SOURCE_CONN, SOURCE_WAKE, SOURCE_TIMER, SOURCE_ACCEPT };

/* the kernel send buffer of every accepted connection (listen.c) */
#define LISTENER_CHILD_SNDBUF 16384

typedef struct listener {
	enum source_kind kind;        /* SOURCE_LISTENER; first member */
	int fd;
	char name[80];                /* address as configured, for logs */
	char port[8];                 /* the bind_ack secondary address */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	bool from_systemd;
	struct listener *next;
} listener;

typedef struct snapshot {
	host_settings host;
	cidr allow[64], deny[64];
	size_t n_allow, n_deny;
	unsigned rate_limit;          /* new connections per second per address */
	int max_connections;
	unsigned max_per_address;     /* connections per address, 0 = no cap */
	unsigned max_per_prefix;      /* per /24 (IPv4) or /64 (IPv6), 0 = no cap */
	int idle_timeout;             /* seconds */
	unsigned max_requests;        /* per connection, 0 = unlimited */
} snapshot;

typedef struct worker worker;

typedef struct server {
	_Atomic(snapshot *) settings;
	atomic_uint generation;       /* bumped on every settings swap */
	client_count *counter;
	store *store;                  /* NULL with store = none */
	peers *peers;                 /* connections and rate per address */
	metrics *metrics;             /* never NULL once workers run */
	atomic_int n_connections;
	atomic_bool stopping;
	int n_workers;
	worker *workers;
	listener *listeners;
} server;

/* Worker threads (worker.c). */
bool workers_start(server *srv, int n, char *err, size_t err_len);
void workers_add_listener(server *srv, listener *l);
void workers_remove_listener(server *srv, listener *l);
/* Wake every worker and wait until each has seen the current generation. */
void workers_sync(server *srv);
/* Ask workers to stop accepting, finish in-flight work and exit; join. */
void workers_stop(server *srv);

/* Listeners (listen.c). */
listener *listener_open(const struct sockaddr *addr, socklen_t len, const char *name,
			bool freebind, char *err, size_t err_len);
/* Sockets passed by systemd (LISTEN_FDS); returns how many were adopted. */
int listeners_from_systemd(listener **list, char *err, size_t err_len);
void listener_close(listener *l);

#endif
