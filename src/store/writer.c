/* The writer thread: records queued by the event loops are written in one
 * transaction per batch. Batches start on a fixed cycle of STORE_BATCH_MS / 2
 * (or at once when the ring is a quarter full), so a record waits at most
 * one cycle plus one commit, whatever the load. The loops only copy a
 * record into the ring under a short lock. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/sqlite_private.h"

#define BATCH_MAX 4096

static const char upsert_sql[] =
	"INSERT INTO clients (cmid, app_id, kms_id, sku_id, workstation, address, license_status,"
	" protocol, first_seen, last_seen, requests, last_result, last_count)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, 1, ?10, ?11)"
	" ON CONFLICT (cmid, app_id) DO UPDATE SET kms_id = excluded.kms_id,"
	" sku_id = excluded.sku_id, workstation = excluded.workstation, address = excluded.address,"
	" license_status = excluded.license_status, protocol = excluded.protocol,"
	" last_seen = max(last_seen, excluded.last_seen), requests = requests + 1,"
	" last_result = excluded.last_result, last_count = excluded.last_count";

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static bool write_batch(store *s, sqlite3_stmt *st, const store_record *batch, size_t n)
{
	if (sqlite3_exec(s->writer_db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return false;
	for (size_t i = 0; i < n; i++) {
		const store_record *r = &batch[i];
		char protocol[16];
		snprintf(protocol, sizeof protocol, "%u.%u", r->protocol_major, r->protocol_minor);
		sqlite3_reset(st);
		sqlite3_bind_blob(st, 1, r->cmid.b, 16, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, r->app_id.b, 16, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, r->kms_id.b, 16, SQLITE_STATIC);
		sqlite3_bind_blob(st, 4, r->sku_id.b, 16, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, r->workstation, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, r->address, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, r->license_status);
		sqlite3_bind_text(st, 8, protocol, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 9, r->time);
		sqlite3_bind_int64(st, 10, r->result);
		sqlite3_bind_int64(st, 11, r->count);
		if (sqlite3_step(st) != SQLITE_DONE) {
			sqlite3_exec(s->writer_db, "ROLLBACK", NULL, NULL, NULL);
			return false;
		}
	}
	return sqlite3_exec(s->writer_db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
}

static void *writer_main(void *arg)
{
	store *s = arg;
	store_record *batch = malloc(BATCH_MAX * sizeof *batch);
	sqlite3_stmt *st = NULL;
	if (!batch || sqlite3_prepare_v3(s->writer_db, upsert_sql, -1, SQLITE_PREPARE_PERSISTENT,
					 &st, NULL) != SQLITE_OK) {
		free(batch);
		return NULL;
	}
	struct timespec cycle;
	clock_gettime(CLOCK_REALTIME, &cycle);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->count && !s->stop)
			pthread_cond_wait(&s->wake, &s->lock);
		if (!s->count && s->stop)
			break;
		/* wait for the next cycle, unless stopping or the ring fills */
		cycle.tv_nsec += STORE_BATCH_MS / 2 * 1000000L;
		cycle.tv_sec += cycle.tv_nsec / 1000000000L;
		cycle.tv_nsec %= 1000000000L;
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec > cycle.tv_sec || (now.tv_sec == cycle.tv_sec && now.tv_nsec > cycle.tv_nsec))
			cycle = now; /* idle for a while, or a slow commit: start now */
		while (!s->stop && s->count < STORE_QUEUE_MAX / 4 &&
		       pthread_cond_timedwait(&s->wake, &s->lock, &cycle) != ETIMEDOUT)
			;
		size_t n = s->count < BATCH_MAX ? s->count : BATCH_MAX;
		for (size_t i = 0; i < n; i++)
			batch[i] = s->ring[(s->head + i) % STORE_QUEUE_MAX];
		s->head = (s->head + n) % STORE_QUEUE_MAX;
		s->count -= n;
		s->stats.queue_depth = s->count;
		pthread_mutex_unlock(&s->lock);

		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		bool ok = write_batch(s, st, batch, n);
		double ms = ms_since(&t0);

		pthread_mutex_lock(&s->lock);
		s->committed += n;
		s->stats.batches++;
		s->stats.last_batch_ms = ms;
		s->stats.total_batch_ms += ms;
		if (ok) {
			s->stats.written += n;
		} else {
			s->stats.errors++;
			snprintf(s->error, sizeof s->error, "writing %zu records: %s", n,
				 sqlite3_errmsg(s->writer_db));
		}
		pthread_cond_broadcast(&s->committed_cond);
	}
	pthread_mutex_unlock(&s->lock);
	sqlite3_finalize(st);
	free(batch);
	return NULL;
}

bool store_writer_start(store *s, char *err, size_t err_len)
{
	s->ring = malloc(STORE_QUEUE_MAX * sizeof *s->ring);
	s->writer_db = s->ring ? store_connect(s->path, false, err, err_len) : NULL;
	if (!s->writer_db) {
		if (!s->ring)
			snprintf(err, err_len, "out of memory");
		free(s->ring);
		return false;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	pthread_cond_init(&s->committed_cond, NULL);
	int e = pthread_create(&s->writer, NULL, writer_main, s);
	if (e) {
		snprintf(err, err_len, "cannot start the store writer: %s", strerror(e));
		sqlite3_close(s->writer_db);
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
	sqlite3_close(s->writer_db);
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
	while (s->committed < target)
		pthread_cond_wait(&s->committed_cond, &s->lock);
	bool ok = s->stats.errors == 0;
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
