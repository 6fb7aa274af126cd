/* The writer thread: records queued by the event loops are written in one
 * transaction per batch. Batches start on a fixed cycle of STORE_BATCH_MS / 4
 * (or at once when the ring is a quarter full), so a record waits at most
 * one cycle plus one commit, whatever the load. The loops only copy a
 * record into the ring under a short lock.
 *
 * A batch leaves the ring only once written. Whatever stops it (a lock held
 * by another process, a full disk, a read-only file, a lost connection, a
 * file that is no longer a database) it stays queued and is retried with
 * backoff; nothing is lost unless the ring fills up, and what is lost then
 * is counted in the stats and logged with the number and the cause. */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/activity_private.h"
#include "store/store_private.h"

#define BATCH_MAX 4096
#define STOP_BATCH_MAX 256           /* ~25 ms at 1M clients on this machine */
#define DROP_LOG_S 10                /* at most one line about drops per period */
/* A lock met this many cycles in a row (each after waiting a batch
 * interval for it) is no longer a short transaction: logged, backoff. */
#define BUSY_QUIET_TRIES 4

/* What the writer remembers between batches. */
typedef struct writer_state {
	long backoff_ms;             /* the wait before the next retry */
	bool failing;                /* a failure was logged: log the recovery too */
	struct timespec failing_since;
	size_t one_by_one;           /* records left to write singly after a refusal */
	int busy_tries;              /* batches in a row that met another's lock */
	int64_t drops_logged_at;     /* monotonic seconds */
	bool save_failed;            /* saving the rest at stop failed: write it */
	double ms_per_record;        /* of the recent batches, for the stop */
	char why[300];
} writer_state;

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

static void say(store *s, bool error, const char *line)
{
	if (s->opt.log)
		s->opt.log(s->opt.log_ctx, error, line);
}

/* A fresh writer connection; a shared database may have been recreated
 * while it was away, so its schema is checked again, and identity values
 * set meanwhile are written. A broken file found here (replaced by garbage
 * while kmsd ran) is set aside first when the options say so. */
static bool reconnect(store *s, char *why, size_t len)
{
	if (s->writer_db)
		s->be->disconnect(s->writer_db);
	s->writer_db = s->be->connect(s->target, false, why, len);
	if (!s->writer_db && s->be->broken && s->opt.broken == STORE_BROKEN_MOVE_ASIDE &&
	    s->be->broken(s->target)) {
		char msg[1400];
		bool moved = s->be->set_aside(NULL, s->target, msg, sizeof msg);
		say(s, true, msg);
		if (moved) {
			atomic_fetch_add(&s->file_generation, 1);
			s->writer_db = s->be->connect(s->target, false, why, len);
		}
	}
	if (s->writer_db && (s->be->shared || s->be->broken) && !s->be->migrate(s->writer_db, why, len)) {
		s->be->disconnect(s->writer_db);
		s->writer_db = NULL;
	}
	if (s->writer_db && s->be->configure)
		s->be->configure(s->writer_db, &s->opt, s->writer_helper);
	if (s->writer_db && s->be->abort_on)
		s->be->abort_on(s->writer_db, &s->abort_batch);
	if (s->writer_db)
		store_identity_flush(s, s->writer_db);
	return s->writer_db != NULL;
}

/* The file under the writer's connection is no longer a database: rescue
 * what the connection still reads into a new file in its place (the broken
 * one is set aside), or, when the options keep broken files, just retry. */
static void recover(store *s)
{
	if (s->opt.broken != STORE_BROKEN_MOVE_ASIDE || !s->be->set_aside)
		return;
	char msg[1400];
	if (s->be->set_aside(s->writer_db, s->target, msg, sizeof msg))
		atomic_fetch_add(&s->file_generation, 1);
	say(s, true, msg);
	s->be->disconnect(s->writer_db);
	s->writer_db = NULL;
}

/* One line per DROP_LOG_S at most, with the number dropped since the last
 * and why (called with the lock held). */
static void log_drops(store *s, writer_state *w, bool now)
{
	if (!s->unlogged_full && !s->unlogged_refused)
		return;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	if (!now && w->drops_logged_at && t.tv_sec - w->drops_logged_at < DROP_LOG_S)
		return;
	char line[700];
	int at = 0;
	if (s->unlogged_full)
		at = snprintf(line, sizeof line, "client store: %" PRIu64 " records dropped, the queue "
			      "(%d) was full %s%.300s%s", s->unlogged_full, STORE_QUEUE_MAX,
			      s->writer_down ? "while writes fail (" : "(writes slower than clients arrive",
			      s->writer_down ? w->why : "", ")");
	if (s->unlogged_refused)
		snprintf(line + at, sizeof line - (size_t)at, "%sclient store: %" PRIu64 " records "
			 "dropped, refused by the database (%.300s)", at ? "; " : "",
			 s->unlogged_refused, w->why);
	s->unlogged_full = s->unlogged_refused = 0;
	w->drops_logged_at = t.tv_sec ? t.tv_sec : 1;
	say(s, true, line);
}

/* Take n written or dropped records off the ring (lock held). */
static void consume(store *s, size_t n)
{
	s->head = (s->head + n) % STORE_QUEUE_MAX;
	s->count -= n;
	s->stats.queue_depth = s->count;
	/* records a stop saved, put back at the head, were never submitted */
	size_t saved = n < s->prepended ? n : s->prepended;
	s->prepended -= saved;
	s->committed += n - saved;
}

/* Stopping while the database cannot be written: what is queued is lost. */
static void drop_queue(store *s, const char *why)
{
	char line[400];
	snprintf(line, sizeof line, "client store: %zu queued records lost at stop (%.300s)",
		 s->count, why);
	say(s, true, line);
	s->stats.dropped += s->count;
	consume(s, s->count);
}

/* A batch was kept for a retry: log the first failure (unless the outage
 * of a connection was logged already), then wait (lock held; a stop ends
 * the wait). */
static void keep_and_wait(store *s, writer_state *w, size_t n, bool outage)
{
	s->stats.errors++;
	s->stats.retries++;
	snprintf(s->error, sizeof s->error, "writing %zu records: %.250s", n, w->why);
	if (!w->failing && !outage) {
		w->failing = true;
		clock_gettime(CLOCK_MONOTONIC, &w->failing_since);
		char line[500];
		snprintf(line, sizeof line, "client store: cannot write %zu records (%.300s); they "
			 "stay queued (up to %d) and kmsd retries", n, w->why, STORE_QUEUE_MAX);
		pthread_mutex_unlock(&s->lock);
		say(s, true, line);
		pthread_mutex_lock(&s->lock);
	}
	s->writer_down = true;
	pthread_cond_broadcast(&s->committed_cond);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	add_ms(&until, w->backoff_ms);
	while (!s->stop && pthread_cond_timedwait(&s->wake, &s->lock, &until) != ETIMEDOUT)
		;
	w->backoff_ms = w->backoff_ms * 2 > STORE_RETRY_MAX_MS ? STORE_RETRY_MAX_MS : w->backoff_ms * 2;
}

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* oldest: the batch's first record, queued before the others */
static void written(store *s, writer_state *w, size_t n, double ms, const store_record *oldest)
{
	consume(s, n);
	s->stats.written += n;
	s->stats.batches++;
	s->stats.last_batch_ms = ms;
	s->stats.total_batch_ms += ms;
	double per = n ? ms / (double)n : 0;
	w->ms_per_record = w->ms_per_record ? (3 * w->ms_per_record + per) / 4 : per;
	if (ms > s->stats.max_batch_ms)
		s->stats.max_batch_ms = ms;
	double waited = (double)(now_ns() - oldest->queued_ns) / 1e6;
	if (waited > s->stats.max_wait_ms)
		s->stats.max_wait_ms = waited;
	s->writer_down = false;
	w->backoff_ms = STORE_RETRY_MAX_MS / 16;
	if (w->one_by_one)
		w->one_by_one--;
	if (w->failing) {
		w->failing = false;
		char line[200];
		snprintf(line, sizeof line, "client store: writing again after %.1f s; %zu records "
			 "still queued", ms_since(&w->failing_since) / 1e3, s->count);
		pthread_mutex_unlock(&s->lock);
		say(s, false, line);
		pthread_mutex_lock(&s->lock);
	}
}

/* Stopping, once the rest cannot be written within STORE_STOP_WRITE_MS of
 * the stop (at the recent rate) or that time is over: save what is still
 * queued in one quick transaction for the next start (lock held; false if
 * the backend cannot, or saving failed: the writer goes on writing). */
static bool save_rest(store *s, writer_state *w)
{
	if (!s->be->save_queued || !s->writer_db || !s->count || w->save_failed)
		return false;
	double left_ms = STORE_STOP_WRITE_MS - ms_since(&s->stop_at);
	if (left_ms > 0 && (double)s->count * w->ms_per_record < left_ms)
		return false; /* it drains in time */
	const store_record **rest = malloc(s->count * sizeof(const store_record *));
	if (!rest)
		return false;
	size_t n = s->count;
	for (size_t i = 0; i < n; i++)
		rest[i] = &s->ring[(s->head + i) % STORE_QUEUE_MAX];
	bool ok = s->be->save_queued(s->writer_db, rest, n, s->queued_upto, w->why, sizeof w->why);
	free(rest);
	char line[500];
	if (ok) {
		consume(s, n);
		s->stats.saved += n;
		s->queued_upto = 0;
		snprintf(line, sizeof line, "client store: %zu queued records saved in the store "
			 "%.0f ms after the stop began (%" PRIu64 " written); the next start writes "
			 "them first", n, ms_since(&s->stop_at), s->stats.written);
	} else {
		w->save_failed = true; /* once */
		snprintf(line, sizeof line, "client store: cannot save %zu queued records at stop "
			 "(%.300s); writing them instead", n, w->why);
	}
	say(s, !ok, line);
	return ok;
}

/* What the last stop saved goes back into the ring, at its head, so it is
 * written before the records queued since (they are newer), half a ring
 * at a time so new records still find room; deleted from the store once
 * written (written_queued). The first load waits SAVED_DELAY_MS after the
 * start, leaving the host's own start-up reads alone. They were submitted
 * by the previous run: flush does not wait for them (s->prepended). Called
 * with the lock held; reads the store without it. */
#define SAVED_LOAD_MAX (STORE_QUEUE_MAX / 2)
#define SAVED_DELAY_MS 1000
static void load_saved(store *s)
{
	s->saved_due = false;
	if (!s->be->load_queued || !s->writer_db || s->count > STORE_QUEUE_MAX - SAVED_LOAD_MAX)
		return;
	store_record *got = malloc(SAVED_LOAD_MAX * sizeof *got);
	if (!got)
		return;
	char why[300], line[400];
	int64_t upto = 0;
	pthread_mutex_unlock(&s->lock);
	long n = s->be->load_queued(s->writer_db, got, SAVED_LOAD_MAX, &upto, why, sizeof why);
	if (n < 0) {
		snprintf(line, sizeof line, "client store: cannot read the records the last stop "
			 "saved (%.300s); they stay saved", why);
		say(s, true, line);
	}
	pthread_mutex_lock(&s->lock);
	/* no room any more (a burst meanwhile): they stay saved, for later */
	bool room = n > 0 && s->count + (size_t)n <= STORE_QUEUE_MAX;
	size_t head = room ? (s->head + STORE_QUEUE_MAX - (size_t)n) % STORE_QUEUE_MAX : s->head;
	for (long i = 0; room && i < n; i++)
		s->ring[(head + (size_t)i) % STORE_QUEUE_MAX] = got[i];
	free(got);
	s->queued_more = n == SAVED_LOAD_MAX || (n > 0 && !room);
	if (!room)
		return;
	s->head = head;
	s->count += (size_t)n;
	s->prepended += (size_t)n;
	s->stats.queue_depth = s->count;
	s->queued_upto = upto;
	pthread_mutex_unlock(&s->lock);
	snprintf(line, sizeof line, "client store: writing %ld records the last stop saved", n);
	say(s, false, line);
	pthread_mutex_lock(&s->lock);
}

/* After a written batch (lock held): once every loaded record is written,
 * they leave the store's queue table, and the next ones come in. */
static void written_queued(store *s)
{
	if (s->queued_upto && !s->prepended) {
		char why[300];
		pthread_mutex_unlock(&s->lock);
		bool ok = s->be->forget_queued(s->writer_db, s->queued_upto, why, sizeof why);
		pthread_mutex_lock(&s->lock);
		if (!ok)
			return;
		s->queued_upto = 0;
	}
	if (!s->queued_upto && s->queued_more)
		load_saved(s);
}

/* Saved records due now: loaded. */
static void load_saved_if_due(store *s, const struct timespec *due)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	if (s->saved_due && !s->stop && (now.tv_sec > due->tv_sec ||
	    (now.tv_sec == due->tv_sec && now.tv_nsec >= due->tv_nsec)))
		load_saved(s);
}

/* The empty ring's wait; with saved records still to load, only until
 * they are due. */
static void wait_for_records(store *s, const struct timespec *due)
{
	while (!s->count && !s->stop) {
		if (s->be->fold_hours && s->writer_db && !s->writer_down) {
			/* idle, the hourly counts are still folded: changes made by
			 * kmsc prune or forget, or another host, would otherwise wait
			 * for the next client, and each statistics query sum them */
			struct timespec fold;
			clock_gettime(CLOCK_REALTIME, &fold);
			fold.tv_sec += STORE_FOLD_S;
			if (s->saved_due && (due->tv_sec < fold.tv_sec ||
			    (due->tv_sec == fold.tv_sec && due->tv_nsec < fold.tv_nsec)))
				fold = *due;
			if (pthread_cond_timedwait(&s->wake, &s->lock, &fold) != ETIMEDOUT)
				continue;
			pthread_mutex_unlock(&s->lock);
			store_fold_hours(s, s->writer_db, (int64_t)time(NULL));
			pthread_mutex_lock(&s->lock);
			load_saved_if_due(s, due);
			continue;
		}
		if (!s->saved_due) {
			pthread_cond_wait(&s->wake, &s->lock);
			continue;
		}
		if (pthread_cond_timedwait(&s->wake, &s->lock, due) == ETIMEDOUT)
			load_saved(s);
	}
}

static void *writer_main(void *arg)
{
	store *s = arg;
	store_record *batch = malloc(BATCH_MAX * sizeof *batch);
	if (!batch)
		return NULL;
	writer_state w = { .backoff_ms = STORE_RETRY_MAX_MS / 16 };
	bool last_try = false;       /* stopping: one more attempt, then drop */
	struct timespec cycle;
	clock_gettime(CLOCK_REALTIME, &cycle);
	struct timespec saved_at = cycle;
	add_ms(&saved_at, SAVED_DELAY_MS);
	/* what changed while no host wrote (a bulk load, an upgrade, a prune)
	 * is folded before statistics read it */
	if (s->writer_db)
		store_fold_hours(s, s->writer_db, (int64_t)time(NULL));
	pthread_mutex_lock(&s->lock);
	s->saved_due = s->be->load_queued && s->takes_saved;
	for (;;) {
		load_saved_if_due(s, &saved_at);
		wait_for_records(s, &saved_at);
		log_drops(s, &w, s->stop);
		if (!s->count && s->stop)
			break;
		if (last_try) {
			drop_queue(s, w.why);
			break;
		}
		/* the batch the stop ended is over (or none ran): what follows runs */
		if (s->stop)
			atomic_store(&s->abort_batch, false);
		if (s->stop && save_rest(s, &w))
			break;
		last_try = s->stop && (w.failing || !s->writer_db);
		/* wait for the next cycle, unless stopping or the ring fills */
		add_ms(&cycle, STORE_BATCH_MS / 4);
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec > cycle.tv_sec || (now.tv_sec == cycle.tv_sec && now.tv_nsec > cycle.tv_nsec))
			cycle = now; /* idle for a while, or a slow commit: start now */
		while (!s->stop && s->count < STORE_QUEUE_MAX / 4 &&
		       pthread_cond_timedwait(&s->wake, &s->lock, &cycle) != ETIMEDOUT)
			;
		if (!s->writer_db) {
			pthread_mutex_unlock(&s->lock);
			bool ok = reconnect(s, w.why, sizeof w.why);
			store_health(s, ok, w.why);
			pthread_mutex_lock(&s->lock);
			if (!ok) {
				keep_and_wait(s, &w, s->count, true);
				continue;
			}
		}
		/* copied, not taken: the records stay queued until written */
		size_t n = s->count < BATCH_MAX ? s->count : BATCH_MAX;
		if (s->stop && n > STOP_BATCH_MAX)
			n = STOP_BATCH_MAX; /* short batches: the stop's deadline is kept */
		if (w.one_by_one)
			n = 1;
		for (size_t i = 0; i < n; i++)
			batch[i] = s->ring[(s->head + i) % STORE_QUEUE_MAX];
		pthread_mutex_unlock(&s->lock);

		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		enum store_write res = s->be->write_batch(s->writer_db, batch, n, w.why, sizeof w.why);
		double ms = ms_since(&t0);
		if (res == STORE_WRITTEN) {
			store_activity_trim(s, s->writer_db, (int64_t)time(NULL));
			store_fold_hours(s, s->writer_db, (int64_t)time(NULL));
		}
		if (res == STORE_LOST) {
			s->be->disconnect(s->writer_db);
			s->writer_db = NULL;
			store_health(s, false, w.why);
		} else if (res == STORE_BROKEN) {
			recover(s);
		}

		pthread_mutex_lock(&s->lock);
		if (res == STORE_WRITTEN) {
			written(s, &w, n, ms, &batch[0]);
			written_queued(s);
			w.busy_tries = 0;
			last_try = false;
		} else if (res == STORE_REFUSED && n > 1) {
			w.one_by_one = n; /* find the refused ones */
			s->stats.errors++;
		} else if (res == STORE_REFUSED) {
			s->stats.errors++;
			s->stats.dropped++;
			s->unlogged_refused++;
			consume(s, 1);
			if (w.one_by_one)
				w.one_by_one--;
			snprintf(s->error, sizeof s->error, "a record refused: %.250s", w.why);
			log_drops(s, &w, false);
		} else if (res == STORE_BUSY && w.busy_tries++ < BUSY_QUIET_TRIES) {
			/* someone else's short transaction: the next cycle, quietly */
			s->stats.errors++;
			s->stats.retries++;
		} else {
			keep_and_wait(s, &w, n, res == STORE_LOST);
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
	s->writer_helper = s->be->writer_helper_start ? s->be->writer_helper_start(s->target, &s->opt)
						      : NULL;
	if (s->writer_db && s->be->configure)
		s->be->configure(s->writer_db, &s->opt, s->writer_helper);
	if (s->writer_db && s->be->abort_on)
		s->be->abort_on(s->writer_db, &s->abort_batch);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	pthread_cond_init(&s->committed_cond, NULL);
	int e = pthread_create(&s->writer, NULL, writer_main, s);
	if (e) {
		snprintf(err, err_len, "cannot start the store writer: %s", strerror(e));
		if (s->writer_db)
			s->be->disconnect(s->writer_db);
		if (s->writer_helper)
			s->be->writer_helper_stop(s->writer_helper);
		free(s->ring);
		return false;
	}
	/* top -H and perf show which thread is the store's */
	pthread_setname_np(s->writer, "kmsd-store");
	s->writer_running = true;
	return true;
}

void store_writer_stop(store *s)
{
	pthread_mutex_lock(&s->lock);
	clock_gettime(CLOCK_MONOTONIC, &s->stop_at);
	s->stop = true;
	/* far behind: the long batch in flight ends now, and is saved with the
	 * rest if short batches cannot write it in time */
	if (s->count > STOP_BATCH_MAX && s->be->save_queued)
		atomic_store(&s->abort_batch, true);
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->writer, NULL);
	s->writer_running = false;
	if (s->writer_db)
		s->be->disconnect(s->writer_db);
	/* after the connection whose commits call it is closed */
	if (s->writer_helper)
		s->be->writer_helper_stop(s->writer_helper);
	s->writer_helper = NULL;
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
		store_record *q = &s->ring[(s->head + s->count) % STORE_QUEUE_MAX];
		*q = *r;
		q->queued_ns = now_ns();
		s->count++;
		s->submitted++;
		s->stats.queue_depth = s->count;
		/* the writer sleeps while the ring is empty: wake it for the first */
		if (s->count == 1 || s->count == STORE_QUEUE_MAX / 4)
			pthread_cond_signal(&s->wake);
	} else {
		s->stats.dropped++;
		s->unlogged_full++; /* the writer logs the number */
		if (s->unlogged_full == 1)
			pthread_cond_signal(&s->wake);
	}
	pthread_mutex_unlock(&s->lock);
	return queued;
}

void store_queued_seen(store *s, int64_t since, store_seen_fn fn, void *ctx)
{
	if (!s->writer_running)
		return;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->count; i++) {
		const store_record *r = &s->ring[(s->head + i) % STORE_QUEUE_MAX];
		if (r->result == 0 && r->time >= since)
			fn(ctx, &r->app_id, &r->cmid, r->time);
	}
	pthread_mutex_unlock(&s->lock);
}

bool store_flush(store *s)
{
	if (!s->writer_running)
		return true;
	pthread_mutex_lock(&s->lock);
	uint64_t target = s->submitted, dropped = s->stats.dropped;
	pthread_cond_signal(&s->wake);
	/* an outage may last: report it rather than wait through it */
	while (s->committed < target && !s->writer_down)
		pthread_cond_wait(&s->committed_cond, &s->lock);
	/* false if any record went unwritten: dropped while waiting, or an
	 * outage or failure not over yet */
	bool ok = s->committed >= target && s->stats.dropped == dropped && !s->writer_down;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

void store_writer_stats_get(store *s, store_writer_stats *out)
{
	if (!s->writer_running) {
		*out = s->stats; /* the final figures, or zeros if it never ran */
		return;
	}
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}
