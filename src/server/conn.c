/* Feeding a connection's input to the answerer (answer.h) and accounting
 * for each answer (account.h): this file owns the buffers, the clocks and
 * the random bytes, never a protocol rule. */
#include "server/conn.h"

#include <string.h>
#include <time.h>

#include "base/log.h"
#include "crypto/crypto.h"
#include "server/account.h"

static int64_t wall_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Random bytes for responses, fetched from the kernel in batches: one
 * getrandom(2) per 64 responses instead of one each. Per thread; bytes a
 * response used are wiped. */
static _Thread_local uint8_t random_pool[64 * KMS_RANDOM_LEN];
static _Thread_local size_t random_taken = sizeof random_pool;

static const uint8_t *random_next(void)
{
	if (random_taken == sizeof random_pool) {
		if (!random_bytes(random_pool, sizeof random_pool))
			return NULL;
		random_taken = 0;
	}
	return random_pool + random_taken;
}

static void random_used(void)
{
	memset(random_pool + random_taken, 0, KMS_RANDOM_LEN);
	random_taken += KMS_RANDOM_LEN;
}

enum conn_verdict conn_process(conn *c, server *srv, const snapshot *s)
{
	size_t off = c->held;
	enum conn_verdict v = CONN_KEEP;
	answer_host host = { .settings = &s->host, .counter = srv->counter,
			     .stub_store = conn_in(c) };

	while (v == CONN_KEEP && off < c->in_len && CONN_OUT_CAP - c->out_len >= CONN_ANSWER_ROOM) {
		const uint8_t *in = conn_in(c) + off;
		size_t avail = c->in_len - off;
		/* clocks and random bytes only for what needs them: a request's
		 * latency runs from the answerer taking it to its answer built */
		uint64_t started_ns = 0;
		if (answer_needs_time(in, avail)) {
			if (!host.now)
				host.now = wall_clock();
			host.random = random_next();
			started_ns = monotonic_ns();
		}
		answer_outcome o;
		answer_pdu(&c->assoc, &host, in, avail, conn_out(c) + c->out_len,
			   CONN_OUT_CAP - c->out_len, &o);
		if (o.kind == ANSWER_INCOMPLETE)
			break;
		if (o.kind == ANSWER_REQUEST && o.act.random_used)
			random_used();
		c->out_len += o.written;
		off += o.used;
		c->held = answer_held(&c->assoc);
		account_outcome(srv, c->peer, &o, started_ns ? monotonic_ns() - started_ns : 0);
		if (o.close) {
			v = CONN_CLOSE;
		} else if (o.kind == ANSWER_REQUEST) {
			c->requests++;
			if (s->max_requests && c->requests >= s->max_requests) {
				log_debug("closing %s after %u requests", c->peer, c->requests);
				v = CONN_CLOSE;
			}
		}
	}
	if (off > c->held) {
		memmove(conn_in(c) + c->held, conn_in(c) + off, c->in_len - off);
		c->in_len -= off - c->held;
	}
	return v;
}
