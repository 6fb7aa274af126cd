/* The writer thread: records queued by the event loops are written in one
 * transaction per batch. Batches start on a fixed cycle of STORE_BATCH_MS / 2
 * (or at once when the ring is a quarter full), so a record waits at most
 * one cycle plus one commit, whatever the load. The loops only copy a
 * record into the ring under a short lock.
 *
 * A batch leaves the ring only once written: if the connection to a shared
 * database is lost, the records stay queued while the writer reconnects
 * with backoff, and nothing is lost unless the ring fills up. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/activity_private.h"
#include "store/store_private.h"

#define BATCH_MAX 4096

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void add_ms(struct timespec *t, long ms)
{
	t->tv_nsec += ms % 1000 * 1000000L;
	t->tv_sec += ms / 1000 + t->tv_nsec / 1000000000L;
	t->tv_nsec %= 1000000000L;
}

/* A fresh writer connection; a shared database may have been recreated
 * while it was away, so its schema is checked again, and identity values
 * set meanwhile are written. */
static bool reconnect(store *s, char *why, size_t len)
{
	if (s->writer_db)
		s->be->disconnect(s->writer_db);
	s->writer_db = s->be->connect(s->target, false, why, len);
	if (s->writer_db && s->be->shared && !s->be->migrate(s->writer_db, why, len)) {
		s->be->disconnect(s->writer_db);
		s->writer_db = NULL;
	}
	if (s->writer_db)
		store_identity_flush(s, s->writer_db);
	return s->writer_db != NULL;
}

/* Stopping while the database is away: what is queued cannot be written. */
static void drop_queue(store *s, const char *why)
{
	char line[400];
	snprintf(line, sizeof line, "client store: %zu queued records lost at stop (%s)", s->count,
		 why);
	if (s->opt.log)
		s->opt.log(s->opt.log_ctx, true, line);
	s->stats.dropped += s->count;
	s->committed += s->count;
	s->head = (s->head + s->count) % STORE_QUEUE_MAX;
	s->count = 0;
	s->stats.queue_depth = 0;
}

static void *writer_main(void *arg)
{
	store *s = arg;
	store_record *batch = malloc(BATCH_MAX * sizeof *batch);
	if (!batch)
		return NULL;
	long retry_ms = STORE_RETRY_MAX_MS / 16;
	char why[300] = "";
	struct timespec cycle;
	clock_gettime(CLOCK_REALTIME, &cycle);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->count && !s->stop)
			pthread_cond_wait(&s->wake, &s->lock);
		if (!s->count && s->stop)
			break;
		/* wait for the next cycle, unless stopping or the ring fills */
		add_ms(&cycle, STORE_BATCH_MS / 2);
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec > cycle.tv_sec || (now.tv_sec == cycle.tv_sec && now.tv_nsec > cycle.tv_nsec))
			cycle = now; /* idle for a while, or a slow commit: start now */
		while (!s->stop && s->count < STORE_QUEUE_MAX / 4 &&
		       pthread_cond_timedwait(&s->wake, &s->lock, &cycle) != ETIMEDOUT)
			;
		if (!s->writer_db) {
			pthread_mutex_unlock(&s->lock);
			bool ok = reconnect(s, why, sizeof why);
			store_health(s, ok, why);
			pthread_mutex_lock(&s->lock);
			if (!ok) {
				if (s->stop) {
					drop_queue(s, why);
					break;
				}
				s->writer_down = true;
				pthread_cond_broadcast(&s->committed_cond);
				struct timespec until;
				clock_gettime(CLOCK_REALTIME, &until);
				add_ms(&until, retry_ms);
				while (!s->stop && pthread_cond_timedwait(&s->wake, &s->lock, &until) !=
							   ETIMEDOUT)
					;
				retry_ms = retry_ms * 2 > STORE_RETRY_MAX_MS ? STORE_RETRY_MAX_MS
									     : retry_ms * 2;
				continue;
			}
			s->writer_down = false;
			retry_ms = STORE_RETRY_MAX_MS / 16;
		}
		/* copied, not taken: the records stay queued until written */
		size_t n = s->count < BATCH_MAX ? s->count : BATCH_MAX;
		for (size_t i = 0; i < n; i++)
			batch[i] = s->ring[(s->head + i) % STORE_QUEUE_MAX];
		pthread_mutex_unlock(&s->lock);

		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		enum store_write res = s->be->write_batch(s->writer_db, batch, n, why, sizeof why);
		double ms = ms_since(&t0);
		if (res == STORE_WRITTEN)
			store_activity_trim(s, s->writer_db, (int64_t)time(NULL));
		if (res == STORE_LOST) {
			s->be->disconnect(s->writer_db);
			s->writer_db = NULL;
		}
		store_health(s, res != STORE_LOST, why);

		pthread_mutex_lock(&s->lock);
		if (res == STORE_LOST) {
			snprintf(s->error, sizeof s->error, "writing %zu records: %.250s", n, why);
			continue;
		}
		s->head = (s->head + n) % STORE_QUEUE_MAX;
		s->count -= n;
		s->stats.queue_depth = s->count;
		s->committed += n;
		s->stats.batches++;
		s->stats.last_batch_ms = ms;
		s->stats.total_batch_ms += ms;
		if (res == STORE_WRITTEN) {
			s->stats.written += n;
		} else {
			s->stats.errors++;
			snprintf(s->error, sizeof s->error, "writing %zu records: %.250s", n, why);
		}
		pthread_cond_broadcast(&s->committed_cond);
	}
	s->writer_down = false;
	pthread_cond_broadcast(&s->committed_cond);
	pthread_mutex_unlock(&s->lock);
	free(batch);
	return NULL;
}

bool store_writer_start(store *s, char *err, size_t err_len)
{
	s->ring = malloc(STORE_QUEUE_MAX * sizeof *s->ring);
	if (!s->ring) {
		snprintf(err, err_len, "out of memory");
		return false;
	}
	/* a shared database that is away now is reached by the thread later */
	s->writer_db = s->be->connect(s->target, false, err, err_len);
	if (!s->writer_db && !s->be->shared) {
		free(s->ring);
		return false;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	pthread_cond_init(&s->committed_cond, NULL);
	int e = pthread_create(&s->writer, NULL, writer_main, s);
	if (e) {
		snprintf(err, err_len, "cannot start the store writer: %s", strerror(e));
		if (s->writer_db)
			s->be->disconnect(s->writer_db);
		free(s->ring);
		return false;
	}
	s->writer_running = true;
	return true;
}

void store_writer_stop(store *s)
{
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->writer, NULL);
	s->writer_running = false;
	if (s->writer_db)
		s->be->disconnect(s->writer_db);
	free(s->ring);
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->committed_cond);
	pthread_mutex_destroy(&s->lock);
}

bool store_submit(store *s, const store_record *r)
{
	if (!s->writer_running)
		return false;
	pthread_mutex_lock(&s->lock);
	bool queued = s->count < STORE_QUEUE_MAX;
	if (queued) {
		s->ring[(s->head + s->count) % STORE_QUEUE_MAX] = *r;
		s->count++;
		s->submitted++;
		s->stats.queue_depth = s->count;
		/* the writer sleeps while the ring is empty: wake it for the first */
		if (s->count == 1 || s->count == STORE_QUEUE_MAX / 4)
			pthread_cond_signal(&s->wake);
	} else {
		s->stats.dropped++;
	}
	pthread_mutex_unlock(&s->lock);
	return queued;
}

bool store_flush(store *s)
{
	if (!s->writer_running)
		return true;
	pthread_mutex_lock(&s->lock);
	uint64_t target = s->submitted;
	pthread_cond_signal(&s->wake);
	/* an outage may last: report it rather than wait through it */
	while (s->committed < target && !s->writer_down)
		pthread_cond_wait(&s->committed_cond, &s->lock);
	bool ok = s->stats.errors == 0 && s->committed >= target;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

void store_writer_stats_get(store *s, store_writer_stats *out)
{
	if (!s->writer_running) {
		memset(out, 0, sizeof *out);
		return;
	}
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}
