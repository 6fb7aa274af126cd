/* The worker loops: one thread per core, each with its own epoll set. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "server/conn.h"
#include "base/log.h"
#include "base/log_throttle.h"
#include "server/server.h"

#define MAX_EVENTS 256
#define ACCEPTS_PER_EVENT 64
#define CACHED_BUFFERS 64
#define BUFFER_SIZE (CONN_IN_CAP + CONN_OUT_CAP)
#define DRAIN_SECONDS 2
/* how many of a worker's least recently active connections are looked at
 * for one to evict: enough to find a heavy address's, cheap under a flood */
#define EVICTION_SCAN 64
/* newcomers one worker may hand to another at once (see hand_over) */
#define HANDED_MAX 64
/* with no descriptor left, accepting pauses this long: long enough not to
 * spin, short enough to drain a backlog soon once descriptors are free */
#define ACCEPT_PAUSE_MS 100

typedef struct event_source {
	enum source_kind kind;
	int fd;
} event_source;

/* A newcomer accepted by one worker, to be admitted or refused by another
 * (hand_over); what it needs of its listener is copied, since a reload may
 * close that one meanwhile. */
typedef struct handed_conn {
	int fd;
	struct sockaddr_storage peer;
	char port[8], listener[80];
} handed_conn;

enum admission { ADMIT_REFUSED, ADMIT_OK, ADMIT_HANDED };

struct worker {
	server *srv;
	int id;
	pthread_t thread;
	int epfd;
	event_source wake, timer;
	/* the listeners sit in an epoll set of their own, itself in epfd, so
	 * accepting can pause without touching the shared listener list */
	event_source accepting;
	bool accept_paused;
	double accept_resume;         /* monotonic seconds */
	int spare_fd;                 /* given up to accept-and-close when out of descriptors */
	atomic_uint seen_generation;
	atomic_uint n_conns;          /* open on this worker */
	pthread_mutex_t handed_lock;
	handed_conn handed[HANDED_MAX];
	int n_handed;
	conn *oldest, *newest;        /* by last activity, for idle expiry */
	conn *closed;                 /* closed in this event batch, freed after it */
	uint8_t *free_buffers[CACHED_BUFFERS];
	int n_free;
	uint32_t next_assoc_group;
};

/* Repeated warnings, one throttle per kind (log_throttle.h). */
static log_throttle refused_access, refused_rate, refused_address, refused_prefix,
	refused_limit, refused_table, no_descriptor, slow_pdu, not_reading;

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void wake(worker *w)
{
	uint64_t one = 1;
	ssize_t r = write(w->wake.fd, &one, sizeof one);
	(void)r;
}

static int64_t monotonic_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* ---- buffers: taken when data arrives, returned when a connection is
 * idle, so idle connections cost only their struct ---- */

static uint8_t *buffer_take(worker *w)
{
	return w->n_free ? w->free_buffers[--w->n_free] : malloc(BUFFER_SIZE);
}

static void buffer_return(worker *w, uint8_t *b)
{
	if (w->n_free < CACHED_BUFFERS)
		w->free_buffers[w->n_free++] = b;
	else
		free(b);
}

/* ---- idle order ---- */

static void order_unlink(worker *w, conn *c)
{
	if (c->older)
		c->older->newer = c->newer;
	else if (w->oldest == c)
		w->oldest = c->newer;
	if (c->newer)
		c->newer->older = c->older;
	else if (w->newest == c)
		w->newest = c->older;
	c->older = c->newer = NULL;
}

static void order_touch(worker *w, conn *c)
{
	c->last_active = monotonic_seconds();
	if (w->newest == c)
		return;
	order_unlink(w, c);
	c->older = w->newest;
	if (w->newest)
		w->newest->newer = c;
	else
		w->oldest = c;
	w->newest = c;
}

static void release_peer(worker *w, conn *c, bool locked)
{
	if (c->from.address == PEER_NONE || !w->srv->peers)
		return;
	if (!locked)
		peers_lock(w->srv->peers);
	peers_detach(w->srv->peers, c->from);
	if (!locked)
		peers_unlock(w->srv->peers);
	c->from.address = c->from.prefix = PEER_NONE;
}

/* Closed now, freed once the event batch is done: a later event of the
 * same batch may still point at it (an eviction closes another
 * connection than the one being served). */
static void conn_close(worker *w, conn *c)
{
	order_unlink(w, c);
	release_peer(w, c, false);
	close(c->fd);
	c->fd = -1;
	if (c->buf)
		buffer_return(w, c->buf);
	c->buf = NULL;
	atomic_fetch_sub_explicit(&w->srv->n_connections, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&w->n_conns, 1, memory_order_relaxed);
	c->newer = w->closed;
	w->closed = c;
}

static void free_closed(worker *w)
{
	while (w->closed) {
		conn *c = w->closed;
		w->closed = c->newer;
		free(c);
	}
}

static void conn_set_events(worker *w, conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };
	epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Write what is queued. Returns false when the connection broke. */
static bool conn_flush(conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, conn_out(c) + c->out_off, c->out_len - c->out_off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return true;
}

static void format_peer(const struct sockaddr_storage *ss, char *out, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
		port = ntohs(a->sin_port);
		snprintf(out, len, "%s:%u", host, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
		port = ntohs(a->sin6_port);
		snprintf(out, len, "[%s]:%u", host, port);
	} else {
		snprintf(out, len, "unix");
	}
}

static void refuse(worker *w, int fd, const struct sockaddr_storage *peer,
		   enum metrics_conn_event event, log_throttle *t, const char *why)
{
	close(fd);
	metrics_conn_event(w->srv->metrics, event);
	char who[64];
	format_peer(peer, who, sizeof who);
	log_throttled(t, LOG_LEVEL_WARNING, "refused connection from %s: %s", who, why);
}

/* Fair share when a cap is reached: close the least recently active of
 * this worker's connections whose address holds the most connections
 * (within the newcomer's prefix when that is what is full), provided it
 * holds at least two more than the newcomer's address does. Equals never
 * evict each other, so a flood from many addresses cannot churn. */
static bool evict_heavier(worker *w, peer_ref newcomer, bool same_prefix)
{
	peers *t = w->srv->peers;
	unsigned floor = peers_connections(t, newcomer.address) + 2, heaviest = 0;
	conn *victim = NULL;
	int looked = 0;
	for (conn *c = w->oldest; c && looked < EVICTION_SCAN; c = c->newer, looked++) {
		if (c->from.address == PEER_NONE || c->from.address == newcomer.address ||
		    (same_prefix && c->from.prefix != newcomer.prefix))
			continue;
		unsigned n = peers_connections(t, c->from.address);
		if (n >= floor && n > heaviest) {
			heaviest = n;
			victim = c;
		}
	}
	if (!victim)
		return false;
	log_debug("closing %s (its address holds %u connections) to make room", victim->peer,
		  heaviest);
	release_peer(w, victim, true);
	conn_close(w, victim);
	metrics_conn_event(w->srv->metrics, CONN_EVICTED);
	return true;
}

/* A cap is reached and none of this worker's connections is heavier. The
 * kernel gives each connection to the first idle worker, so a flood's may
 * all sit on another one, and a legitimate client accepted here was
 * refused: hand the newcomer to the worker holding the most connections
 * (if it holds more), which decides by its own. Called with the peers lock
 * held; false if there is none or its queue is full. */
static bool hand_over(worker *w, int fd, const struct sockaddr_storage *peer, const char *port,
		      const char *listener_name)
{
	server *srv = w->srv;
	worker *busiest = NULL;
	unsigned most = atomic_load_explicit(&w->n_conns, memory_order_relaxed);
	for (int i = 0; i < srv->n_workers; i++) {
		worker *o = &srv->workers[i];
		unsigned n = atomic_load_explicit(&o->n_conns, memory_order_relaxed);
		if (n > most) {
			most = n;
			busiest = o;
		}
	}
	if (!busiest)
		return false;
	pthread_mutex_lock(&busiest->handed_lock);
	bool handed = busiest->n_handed < HANDED_MAX;
	if (handed) {
		handed_conn *h = &busiest->handed[busiest->n_handed++];
		h->fd = fd;
		h->peer = *peer;
		memcpy(h->port, port, sizeof h->port);
		snprintf(h->listener, sizeof h->listener, "%s", listener_name);
	}
	pthread_mutex_unlock(&busiest->handed_lock);
	if (handed)
		wake(busiest);
	return handed;
}

/* The checks made before a connection costs anything: the access lists,
 * the rate limit, the per-address and per-prefix caps and max-connections.
 * On success the connection is counted against its address and prefix. A
 * connection another worker handed over (handed) has passed the access
 * lists and the rate limit there; it is not handed on again. */
static enum admission admit(worker *w, int fd, const struct sockaddr_storage *peer,
			    const snapshot *s, peer_ref *from, const char *port,
			    const char *listener_name, bool handed)
{
	server *srv = w->srv;
	from->address = from->prefix = PEER_NONE;
	if (!handed && !access_permitted(s->allow, s->n_allow, s->deny, s->n_deny, peer)) {
		refuse(w, fd, peer, CONN_REFUSED_ACCESS, &refused_access, "address not allowed");
		return ADMIT_REFUSED;
	}
	if (!srv->peers) {
		atomic_fetch_add_explicit(&srv->n_connections, 1, memory_order_relaxed);
		return ADMIT_OK;
	}
	char why[96];
	const char *refused = NULL;
	bool full = false; /* a cap, with none of this worker's connections heavier */
	enum metrics_conn_event event = CONN_REFUSED_LIMIT;
	log_throttle *t = &refused_limit;
	peers_lock(srv->peers);
	/* found again after a hand-over: the entry is only held once attached */
	if (!peers_find(srv->peers, peer, now_seconds(), from)) {
		refused = "too many addresses connected";
		t = &refused_table;
	} else if (!handed && s->rate_limit &&
		   !peers_take_token(srv->peers, from->address, s->rate_limit, now_seconds())) {
		refused = "rate limit";
		event = CONN_REFUSED_RATE;
		t = &refused_rate;
	} else if (s->max_per_address && from->address != PEER_NONE &&
		   peers_connections(srv->peers, from->address) >= s->max_per_address) {
		snprintf(why, sizeof why, "max-connections-per-address (%u) reached",
			 s->max_per_address);
		refused = why;
		event = CONN_REFUSED_PER_ADDRESS;
		t = &refused_address;
	} else if (s->max_per_prefix && from->prefix != PEER_NONE &&
		   peers_connections(srv->peers, from->prefix) >= s->max_per_prefix &&
		   !evict_heavier(w, *from, true)) {
		snprintf(why, sizeof why, "max-connections-per-prefix (%u) reached",
			 s->max_per_prefix);
		refused = why;
		event = CONN_REFUSED_PER_PREFIX;
		t = &refused_prefix;
		full = true;
	} else if (atomic_load(&srv->n_connections) >= s->max_connections &&
		   !evict_heavier(w, *from, false)) {
		snprintf(why, sizeof why, "max-connections (%d) reached", s->max_connections);
		refused = why;
		full = true;
	}
	if (!refused) {
		/* admissions are all made under the lock, so the total is exact */
		peers_attach(srv->peers, *from);
		atomic_fetch_add_explicit(&srv->n_connections, 1, memory_order_relaxed);
	}
	bool passed_on = refused && full && !handed && hand_over(w, fd, peer, port, listener_name);
	peers_unlock(srv->peers);
	if (refused) {
		from->address = from->prefix = PEER_NONE;
		if (passed_on)
			return ADMIT_HANDED;
		refuse(w, fd, peer, event, t, refused);
		return ADMIT_REFUSED;
	}
	return ADMIT_OK;
}

static void pause_accepting(worker *w)
{
	if (w->accept_paused)
		return;
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->accepting.fd, NULL);
	w->accept_paused = true;
	w->accept_resume = now_seconds() + ACCEPT_PAUSE_MS / 1000.0;
}

static void resume_accepting(worker *w)
{
	if (!w->accept_paused || now_seconds() < w->accept_resume)
		return;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &w->accepting };
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->accepting.fd, &ev) == 0)
		w->accept_paused = false;
}

/* Out of descriptors: the listener stays readable, so accepting pauses
 * (the loop would spin otherwise). The spare descriptor is given up to
 * take one waiting client and close it, so it hears a close rather than
 * nothing, then taken back. */
static void out_of_descriptors(worker *w, listener *l, int err)
{
	metrics_conn_event(w->srv->metrics, CONN_NO_DESCRIPTOR);
	log_throttled(&no_descriptor, LOG_LEVEL_ERROR,
		      "cannot accept on %s: %s; not accepting for %d ms (%d connections open)",
		      l->name, strerror(err), ACCEPT_PAUSE_MS,
		      atomic_load(&w->srv->n_connections));
	if (w->spare_fd >= 0) {
		close(w->spare_fd);
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			close(fd);
		w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	pause_accepting(w);
}

/* An admitted connection joins this worker. */
static void open_conn(worker *w, int fd, const struct sockaddr_storage *peer, peer_ref from,
		      const char *port, const char *listener_name)
{
	conn *c = calloc(1, sizeof *c);
	if (!c) {
		if (w->srv->peers) {
			peers_lock(w->srv->peers);
			peers_detach(w->srv->peers, from);
			peers_unlock(w->srv->peers);
		}
		atomic_fetch_sub_explicit(&w->srv->n_connections, 1, memory_order_relaxed);
		close(fd);
		return;
	}
	/* TCP_NODELAY and the small send buffer come from the listener */
	c->kind = SOURCE_CONN;
	c->fd = fd;
	c->from = from;
	atomic_fetch_add_explicit(&w->n_conns, 1, memory_order_relaxed);
	format_peer(peer, c->peer, sizeof c->peer);
	memcpy(c->assoc.port, port, sizeof c->assoc.port);
	/* non-zero and distinct per connection, as bind_ack requires */
	c->assoc.assoc_group =
		0x10000u * (uint32_t)(w->id + 1) + (++w->next_assoc_group & 0xffff);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		conn_close(w, c);
		return;
	}
	order_touch(w, c);
	metrics_conn_event(w->srv->metrics, CONN_ACCEPTED);
	log_debug("connection from %s on %s", c->peer, listener_name);
}

static void on_accept(worker *w, listener *l, const snapshot *s)
{
	for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
		struct sockaddr_storage peer;
		peer.ss_family = AF_UNSPEC; /* accept4 fills it; analyzers cannot know */
		socklen_t peer_len = sizeof peer;
		int fd = accept4(l->fd, (struct sockaddr *)&peer, &peer_len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				out_of_descriptors(w, l, errno);
			else if (errno == ECONNABORTED || errno == EINTR)
				continue;
			return;
		}
		peer_ref from;
		if (admit(w, fd, &peer, s, &from, l->port, l->name, false) == ADMIT_OK)
			open_conn(w, fd, &peer, from, l->port, l->name);
	}
}

/* The newcomers other workers handed over (hand_over). */
static void on_handed(worker *w, const snapshot *s)
{
	handed_conn handed[HANDED_MAX];
	pthread_mutex_lock(&w->handed_lock);
	int n = w->n_handed;
	memcpy(handed, w->handed, (size_t)n * sizeof *handed);
	w->n_handed = 0;
	pthread_mutex_unlock(&w->handed_lock);
	for (int i = 0; i < n; i++) {
		const handed_conn *h = &handed[i];
		peer_ref from;
		if (admit(w, h->fd, &h->peer, s, &from, h->port, h->listener, true) == ADMIT_OK)
			open_conn(w, h->fd, &h->peer, from, h->port, h->listener);
	}
}

/* The listeners' own set is readable: take what it says is ready. */
static void on_listeners(worker *w, const snapshot *s)
{
	struct epoll_event ready[16];
	int n = epoll_wait(w->accepting.fd, ready, 16, 0);
	for (int i = 0; i < n && !w->accept_paused; i++)
		on_accept(w, ready[i].data.ptr, s);
}

/* Read, process, write; pause reading while output is stuck. */
static void on_conn(worker *w, conn *c, uint32_t events, const snapshot *s)
{
	server *srv = w->srv;
	bool peer_done = false;

	if (c->fd < 0)
		return; /* closed earlier in this batch */
	if (events & EPOLLERR) {
		conn_close(w, c);
		return;
	}
	if (c->writing && (events & EPOLLOUT)) {
		if (!conn_flush(c)) {
			conn_close(w, c);
			return;
		}
		if (c->out_len)
			return;
		c->writing = false;
		if (c->close_after_flush) {
			conn_close(w, c);
			return;
		}
		conn_set_events(w, c, EPOLLIN | EPOLLRDHUP);
	}
	if (!c->writing && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))) {
		if (!c->buf && !(c->buf = buffer_take(w))) {
			conn_close(w, c);
			return;
		}
		ssize_t n = read(c->fd, conn_in(c) + c->in_len, CONN_IN_CAP - c->in_len);
		if (n == 0) {
			peer_done = true;
		} else if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				conn_close(w, c);
				return;
			}
		} else {
			if (c->in_len == 0)
				c->partial_since = monotonic_seconds();
			c->in_len += (size_t)n;
			order_touch(w, c);
		}
	}
	/* answer what is complete; when the output fills, send it and go on
	 * with the input already read, until one of them runs out */
	for (;;) {
		size_t before = c->in_len;
		if (c->buf && !c->writing && c->in_len && !c->close_after_flush &&
		    conn_process(c, srv, s) == CONN_CLOSE)
			c->close_after_flush = true;
		if (c->in_len && c->in_len < before)
			c->partial_since = monotonic_seconds(); /* what is left is a new PDU */
		if (c->buf && !conn_flush(c)) {
			conn_close(w, c);
			return;
		}
		if (!c->buf || c->out_len || c->close_after_flush || !c->in_len || c->in_len == before)
			break;
	}
	/* a client dribbling a PDU byte by byte (slowloris) may take no longer
	 * to finish one than an idle client may stay silent */
	if (c->buf && c->in_len && !c->close_after_flush &&
	    monotonic_seconds() - c->partial_since > s->idle_timeout) {
		log_throttled(&slow_pdu, LOG_LEVEL_WARNING,
			      "closing %s: a PDU took more than %d s to arrive", c->peer,
			      s->idle_timeout);
		metrics_reject(w->srv->metrics, REJECT_SLOW_PDU);
		conn_close(w, c);
		return;
	}
	if (c->buf && c->out_len) {
		/* the client is not reading: stop reading from it too, so a
		 * connection never holds more than its two buffers */
		c->writing = true;
		conn_set_events(w, c, EPOLLOUT);
		log_throttled(&not_reading, LOG_LEVEL_WARNING,
			      "%s does not read its answers: not reading from it until it does",
			      c->peer);
		return;
	}
	if (c->close_after_flush || peer_done) {
		conn_close(w, c);
		return;
	}
	if (c->buf && c->in_len == 0) {
		buffer_return(w, c->buf);
		c->buf = NULL;
	}
}

static void expire_idle(worker *w, const snapshot *s)
{
	int64_t cutoff = monotonic_seconds() - s->idle_timeout;
	/* conn_close unlinks before it frees, so w->oldest is never stale */
	while (w->oldest && w->oldest->last_active <= cutoff) { // NOLINT(clang-analyzer-unix.Malloc)
		log_debug("closing idle connection from %s", w->oldest->peer);
		metrics_conn_event(w->srv->metrics, CONN_CLOSED_IDLE);
		conn_close(w, w->oldest);
	}
}

/* An eventfd or timerfd fired: read its counter so it stops being ready
 * (the count itself does not matter, and EAGAIN means another read won). */
static void consume_ticks(int fd)
{
	uint64_t ticks;
	ssize_t r = read(fd, &ticks, sizeof ticks);
	(void)r;
}

/* Stop: flush what was already answered (for a short while), then close. */
static void drain(worker *w)
{
	pause_accepting(w);
	int64_t deadline = monotonic_seconds() + DRAIN_SECONDS;
	while (w->oldest) {
		bool pending = false;
		for (conn *c = w->oldest, *next; c; c = next) {
			next = c->newer;
			if (c->buf && c->out_len && conn_flush(c) && c->out_len) {
				pending = true;
				continue;
			}
			conn_close(w, c);
		}
		if (!pending || monotonic_seconds() >= deadline)
			break;
		struct epoll_event ev[MAX_EVENTS];
		epoll_wait(w->epfd, ev, MAX_EVENTS, 100);
	}
	while (w->oldest)
		conn_close(w, w->oldest); // NOLINT(clang-analyzer-unix.Malloc): unlinked first
	free_closed(w);
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	server *srv = w->srv;
	struct epoll_event events[MAX_EVENTS];

	while (!atomic_load(&srv->stopping)) {
		unsigned generation = atomic_load(&srv->generation);
		const snapshot *s = atomic_load(&srv->settings);
		atomic_store(&w->seen_generation, generation);

		int n = epoll_wait(w->epfd, events, MAX_EVENTS, w->accept_paused ? ACCEPT_PAUSE_MS : -1);
		resume_accepting(w);
		for (int i = 0; i < n; i++) {
			enum source_kind *kind = events[i].data.ptr;
			switch (*kind) {
			case SOURCE_ACCEPT:
				on_listeners(w, s);
				break;
			case SOURCE_LISTENER: /* only in the accepting set */
				break;
			case SOURCE_CONN:
				on_conn(w, (conn *)kind, events[i].events, s);
				break;
			case SOURCE_WAKE:
				consume_ticks(w->wake.fd);
				on_handed(w, s);
				break;
			case SOURCE_TIMER:
				consume_ticks(w->timer.fd);
				expire_idle(w, s);
				break;
			}
		}
		free_closed(w);
	}
	drain(w);
	return NULL;
}

static bool add_source(worker *w, event_source *src, enum source_kind kind, int fd)
{
	src->kind = kind;
	src->fd = fd;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = src };
	return fd >= 0 && epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool workers_start(server *srv, int n, char *err, size_t err_len)
{
	srv->workers = calloc((size_t)n, sizeof *srv->workers);
	if (!srv->workers) {
		snprintf(err, err_len, "out of memory");
		return false;
	}
	srv->n_workers = n;
	for (int i = 0; i < n; i++) {
		worker *w = &srv->workers[i];
		w->srv = srv;
		w->id = i;
		pthread_mutex_init(&w->handed_lock, NULL);
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		struct itimerspec tick = { { 1, 0 }, { 1, 0 } };
		int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (w->epfd < 0 || !add_source(w, &w->wake, SOURCE_WAKE,
					       eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) ||
		    !add_source(w, &w->timer, SOURCE_TIMER, tfd) ||
		    !add_source(w, &w->accepting, SOURCE_ACCEPT, epoll_create1(EPOLL_CLOEXEC)) ||
		    timerfd_settime(tfd, 0, &tick, NULL) < 0) {
			snprintf(err, err_len, "cannot set up worker %d: %s", i, strerror(errno));
			return false;
		}
		for (listener *l = srv->listeners; l; l = l->next) {
			struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = l };
			epoll_ctl(w->accepting.fd, EPOLL_CTL_ADD, l->fd, &ev);
		}
	}
	for (int i = 0; i < n; i++) {
		int e = pthread_create(&srv->workers[i].thread, NULL, worker_main, &srv->workers[i]);
		if (e) {
			snprintf(err, err_len, "cannot start worker %d: %s", i, strerror(e));
			srv->n_workers = i;
			return false;
		}
	}
	return true;
}

void workers_add_listener(server *srv, listener *l)
{
	for (int i = 0; i < srv->n_workers; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = l };
		epoll_ctl(srv->workers[i].accepting.fd, EPOLL_CTL_ADD, l->fd, &ev);
	}
}

void workers_remove_listener(server *srv, listener *l)
{
	for (int i = 0; i < srv->n_workers; i++)
		epoll_ctl(srv->workers[i].accepting.fd, EPOLL_CTL_DEL, l->fd, NULL);
	/* a worker may hold an event for it from before the removal */
	workers_sync(srv);
}

void workers_sync(server *srv)
{
	unsigned target = atomic_fetch_add(&srv->generation, 1) + 1;
	for (int i = 0; i < srv->n_workers; i++) {
		worker *w = &srv->workers[i];
		while (atomic_load(&w->seen_generation) != target &&
		       !atomic_load(&srv->stopping)) {
			wake(w);
			struct timespec ms = { 0, 1000000 };
			nanosleep(&ms, NULL);
		}
	}
}

void workers_stop(server *srv)
{
	atomic_store(&srv->stopping, true);
	for (int i = 0; i < srv->n_workers; i++)
		wake(&srv->workers[i]);
	/* all of them first: a worker still running may hand a newcomer to
	 * one that has stopped */
	for (int i = 0; i < srv->n_workers; i++)
		pthread_join(srv->workers[i].thread, NULL);
	for (int i = 0; i < srv->n_workers; i++) {
		worker *w = &srv->workers[i];
		close(w->epfd);
		close(w->wake.fd);
		close(w->timer.fd);
		close(w->accepting.fd);
		if (w->spare_fd >= 0)
			close(w->spare_fd);
		while (w->n_free)
			free(w->free_buffers[--w->n_free]);
		/* handed over as the worker stopped: never admitted */
		while (w->n_handed)
			close(w->handed[--w->n_handed].fd);
		pthread_mutex_destroy(&w->handed_lock);
	}
	free(srv->workers);
	srv->workers = NULL;
	srv->n_workers = 0;
}
